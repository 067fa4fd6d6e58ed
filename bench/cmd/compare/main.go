// Command compare times the vllm-hpa function against a KRM function that does
// nothing, built on the same SDK, as whole processes on the same inputs; in
// generator mode also against that no-op linked with the Kubernetes API
// packages the function uses; and kustomize's exec generator against the same
// kustomization with the generated objects inlined. Run it from the repository
// root: make bench.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/vllm-hpa/vllm-hpa/bench/gen"
)

func main() {
	fnPath := flag.String("fn", "bin/vllm-hpa-fn", "the function binary, as make build writes it")
	rounds := flag.Int("rounds", 7, "measured rounds per row, after one discarded warm-up round")
	sizes := flag.String("sizes", "1,100,1000,10000", "numbers of user objects of the pass-through rows, comma-separated")
	kustomize := flag.Bool("kustomize", true, "also time kustomize's exec generator against the same kustomization with its output inlined")
	base := flag.String("base", "", "time this function binary as the base instead of the no-op, e.g. an earlier build of vllm-hpa-fn")
	shapeRounds := flag.Int("shape-rounds", 3, "measured rounds per input-shape row (many configs, a large package, empty items); 0 leaves the shapes out")
	emptyMiB := flag.Int("empty-mib", 8, "MiB of empty items in the empty-items shape (the no-op holds about 2 GiB per million)")
	flag.Parse()
	if err := compare(*fnPath, *base, *rounds, *sizes, *kustomize, *shapeRounds, *emptyMiB, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
}

// The generator and 1-item rows are mostly process start-up: a run takes tens
// of milliseconds and varies with the machine's load by as much, so they are
// measured smallRowFactor times as often, for steadier medians at little cost.
const smallRowFactor = 5

func compare(fnPath, basePath string, rounds int, sizeList string, withKustomize bool, shapeRounds, emptyMiB int, w io.Writer) error {
	if rounds < 1 {
		return fmt.Errorf("-rounds is %d; measure at least one round", rounds)
	}
	if basePath != "" && withKustomize {
		return fmt.Errorf("-base applies to the function rows only; add -kustomize=false")
	}
	sizes, err := parseSizes(sizeList)
	if err != nil {
		return err
	}
	ours, err := filepath.Abs(fnPath)
	if err != nil {
		return err
	}
	if _, err := os.Stat(ours); err != nil {
		return fmt.Errorf("the function binary %s is missing; run make build first", fnPath)
	}
	work, err := os.MkdirTemp("", "vllm-hpa-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	rusagePath = filepath.Join(work, "rusage")
	if err := goBuild(rusagePath, "./bench/cmd/rusage", "-trimpath", "-ldflags=-s -w"); err != nil {
		return err
	}
	base, label := filepath.Join(work, "noop"), "noop"
	if basePath != "" {
		if base, err = filepath.Abs(basePath); err != nil {
			return err
		}
		label = "base"
	} else if err := goBuild(base, "./bench/noop", "-trimpath", "-ldflags=-s -w"); err != nil {
		// The same flags as make build, so the binaries differ only in what they do.
		return err
	}
	typed := ""
	if basePath == "" {
		typed = filepath.Join(work, "noop-typed")
		if err := goBuild(typed, "./bench/noop-typed", "-trimpath", "-ldflags=-s -w"); err != nil {
			return err
		}
	}

	fmt.Fprintf(w, "%d CPUs, %s; %d measured rounds per row (%d for the generator and 1-item rows) after one warm-up, alternating order; load average %s\n\n",
		runtime.NumCPU(), runtime.Version(), rounds, rounds*smallRowFactor, loadAverage())

	type row struct {
		size int
		mode string
		pkg  gen.Package
	}
	rows := []row{{0, "generator", gen.Generator()}}
	for _, n := range sizes {
		rows = append(rows, row{n, "pass-through", gen.PassThrough(n)})
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, strings.ReplaceAll("items\tmode\twall BASE\twall ours\tratio\tcpu BASE\tcpu ours\tratio\tpeak RSS BASE\tpeak RSS ours\tratio\t", "BASE", label))
	var generatorWall, noopWall float64
	var floor []string
	for _, r := range rows {
		in := filepath.Join(work, fmt.Sprintf("in-%s-%d.yaml", r.mode, r.size))
		if err := os.WriteFile(in, r.pkg.ResourceList(), 0o644); err != nil {
			return err
		}
		cmds := []command{
			{argv: []string{base}, stdin: in, check: contains("kind: ResourceList")},
			{argv: []string{ours}, stdin: in, check: contains("kind: HorizontalPodAutoscaler")},
		}
		if r.mode == "generator" && typed != "" {
			cmds = append(cmds, command{argv: []string{typed}, stdin: in, check: contains("kind: ResourceList")})
		}
		n := rounds
		if r.size <= 1 {
			n *= smallRowFactor
		}
		s, err := measureAll(cmds, n)
		if err != nil {
			return err
		}
		b, o := s[0], s[1]
		if r.mode == "generator" {
			generatorWall, noopWall = summarize(walls(o)).median, summarize(walls(b)).median
			if len(s) > 2 {
				floor = floorLines(b, s[2], o)
			}
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\n", r.size, r.mode, columns(b, o))
		tw.Flush()
	}
	if len(floor) > 0 {
		fmt.Fprintln(w, "\nStart-up floor of the generator row: bench/noop-typed, the no-op linked with the Kubernetes API packages vllm-hpa-fn builds its objects from")
		for _, l := range floor {
			fmt.Fprintln(w, "  "+l)
		}
	}
	if shapeRounds > 0 {
		if err := compareShapes(work, base, label, ours, shapeRounds, emptyMiB, w); err != nil {
			return err
		}
	}
	if !withKustomize {
		return nil
	}
	fmt.Fprintln(w)
	return compareKustomize(work, ours, base, rounds, generatorWall, noopWall, w)
}

// columns formats wall time, CPU time and peak RSS of both sides: medians with
// their range, and the ratio of the medians, ours over the base.
func columns(base, ours []sample) string {
	var cols []string
	for _, m := range []struct {
		values func([]sample) []float64
		format func(float64) string
	}{{walls, seconds}, {cpus, seconds}, {rss, mebibytes}} {
		b, o := summarize(m.values(base)), summarize(m.values(ours))
		cols = append(cols,
			fmt.Sprintf("%s (%s-%s)", m.format(b.median), m.format(b.min), m.format(b.max)),
			fmt.Sprintf("%s (%s-%s)", m.format(o.median), m.format(o.min), m.format(o.max)),
			fmt.Sprintf("%.2fx", o.median/b.median))
	}
	return strings.Join(cols, "\t") + "\t"
}

// floorLines compares the typed no-op with the no-op, and vllm-hpa-fn with the
// typed no-op: what linking the API packages costs, and what is left.
func floorLines(noop, typed, ours []sample) []string {
	var lines []string
	for _, m := range []struct {
		name   string
		values func([]sample) []float64
		format func(float64) string
	}{{"cpu", cpus, seconds}, {"peak RSS", rss, mebibytes}} {
		n, t, o := summarize(m.values(noop)).median, summarize(m.values(typed)).median, summarize(m.values(ours)).median
		lines = append(lines, fmt.Sprintf("%-8s  noop-typed %s, %.2fx the no-op; vllm-hpa-fn %s, %.2fx noop-typed",
			m.name, m.format(t), t/n, m.format(o), o/t))
	}
	return lines
}

func seconds(s float64) string {
	if s < 1 {
		return fmt.Sprintf("%.1fms", s*1000)
	}
	return fmt.Sprintf("%.2fs", s)
}

func mebibytes(b float64) string {
	return fmt.Sprintf("%.1fMiB", b/(1<<20))
}

func contains(want string) func([]byte) error {
	return func(out []byte) error {
		if !bytes.Contains(out, []byte(want)) {
			return fmt.Errorf("the output has no %q:\n%.500s", want, out)
		}
		return nil
	}
}

func parseSizes(list string) ([]int, error) {
	var sizes []int
	for _, f := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-sizes %q: %q is not a positive whole number; write e.g. 1,100,1000", list, f)
		}
		sizes = append(sizes, n)
	}
	return sizes, nil
}

// goBuild builds pkg of this module to out with CGO off, as make build does.
func goBuild(out, pkg string, flags ...string) error {
	args := append([]string{"build", "-o", out}, flags...)
	cmd := exec.Command("go", append(args, pkg)...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	return nil
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

var errOutputsDiffer = errors.New("the two kustomize builds print different objects")
