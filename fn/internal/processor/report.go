package processor

import (
	"fmt"
	"io"
	"strings"

	"github.com/kptdev/krm-functions-sdk/go/fn"
)

// The kinds of finding that a run may make once per config, so that stderr
// says each once however many configs it concerns.
const (
	kindTargetUnreadable = "target-unreadable"
	kindTargetRenamed    = "target-renamed"
	kindDerive           = "derive"
	kindCheck            = "check"
)

// Bounds on what a run prints on stderr; the results hold everything.
const (
	// maxShownPerKind is how many findings of one kind are printed in full.
	maxShownPerKind = 3
	// maxShown is how many findings are printed in full in all.
	maxShown = 50
	// maxNamed is how many more objects a summary line names.
	maxNamed = 5
	// maxLine bounds one printed line: a message quotes values as written.
	maxLine = 4 << 10
)

// report is what a run found and what it changed in place.
type report struct {
	results fn.Results
	// kinds holds the kind of each result registered with one.
	kinds map[*fn.Result]string
	// edits are the changes made to items in place.
	edits []edit
}

// edit is a field removed from an item in place, and the result that says so.
type edit struct {
	object *fn.KubeObject
	field  []string
	result *fn.Result
}

// add appends results of one kind ("": results whose kind is their field,
// or their message when they name none).
func (r *report) add(kind string, results ...*fn.Result) {
	for _, res := range results {
		if res == nil {
			continue
		}
		r.results = append(r.results, res)
		if kind != "" {
			if r.kinds == nil {
				r.kinds = map[*fn.Result]string{}
			}
			r.kinds[res] = kind
		}
	}
}

func (r *report) hasError() bool { return hasError(r.results) }

// kindOf groups a result with the others of its severity and kind.
func (r *report) kindOf(res *fn.Result) string {
	kind := r.kinds[res]
	switch {
	case kind != "":
	case res.Field != nil && res.Field.Path != "":
		kind = "field " + res.Field.Path
	default:
		kind = "message " + res.Message
	}
	return string(res.Severity) + " " + kind
}

// printStderr writes the errors and warnings for people: kustomize drops a
// function's results, so stderr is all its users see. Output is bounded
// whatever the input: a kind of finding made for many configs is printed a
// few times, then once as a summary that names a few more objects and counts
// the rest.
func (r *report) printStderr(w io.Writer) {
	var order []string
	groups := map[string][]*fn.Result{}
	for _, res := range r.results {
		if res.Severity != fn.Error && res.Severity != fn.Warning {
			continue
		}
		k := r.kindOf(res)
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], res)
	}
	shown, hidden := 0, map[fn.Severity]int{}
	for _, k := range order {
		g := groups[k]
		n := min(len(g), maxShownPerKind, maxShown-shown)
		for _, res := range g[:n] {
			fmt.Fprintln(w, clip(res.String()))
		}
		shown += n
		if n == len(g) {
			continue
		}
		if n == 0 {
			hidden[g[0].Severity] += len(g)
			continue
		}
		var named []string
		for _, res := range g[n:min(len(g), n+maxNamed)] {
			named = append(named, describe(res))
		}
		more := ""
		if rest := len(g) - n - len(named); rest > 0 {
			more = fmt.Sprintf(" and %d more", rest)
		}
		fmt.Fprintln(w, clip(fmt.Sprintf("[%s] the same for %s%s (%d in all; the function's results list each)",
			g[0].Severity, strings.Join(named, ", "), more, len(g))))
	}
	for _, sev := range []fn.Severity{fn.Error, fn.Warning} {
		if hidden[sev] > 0 {
			fmt.Fprintf(w, "[%s] %d more %ss are not printed; the function's results list each\n", sev, hidden[sev], sev)
		}
	}
}

// describe names what a result is about, for a summary line.
func describe(res *fn.Result) string {
	ref := res.ResourceRef
	if ref == nil {
		if res.Field != nil {
			return res.Field.Path
		}
		return "the input"
	}
	if ref.Namespace != "" {
		return fmt.Sprintf("%s %s/%s", ref.Kind, ref.Namespace, ref.Name)
	}
	return ref.Kind + " " + ref.Name
}

// clip shortens a line beyond maxLine.
func clip(line string) string {
	if len(line) <= maxLine {
		return line
	}
	cut := maxLine
	for cut > 0 && cut < len(line) && line[cut]&0xC0 == 0x80 {
		cut-- // not inside a UTF-8 sequence
	}
	return fmt.Sprintf("%s... (%d bytes more; the function's results hold it whole)", line[:cut], len(line)-cut)
}
