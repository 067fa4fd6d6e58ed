package integration_test

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// TestDocLinks: every relative link in the repository's Markdown (README.md,
// docs/, the harness and example READMEs) names a file or directory of the
// repository, and an anchor into a Markdown file names one of its headings.
func TestDocLinks(t *testing.T) {
	var files []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "bin") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(d.Name(), ".md") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"README.md", "docs/api.md"} {
		if _, err := os.Stat(filepath.Join(root, want)); err != nil {
			t.Fatalf("%s: %v", want, err)
		}
	}
	checked := 0
	for _, f := range files {
		n, problems := checkLinks(root, f)
		checked += n
		for _, p := range problems {
			t.Error(p)
		}
	}
	if checked < 20 {
		t.Errorf("checked %d relative links in %d Markdown files; the README and docs/ hold more", checked, len(files))
	}
}

// TestDocLinksFindBrokenLinks runs the checker on a small tree with one good and
// one broken link of each kind.
func TestDocLinksFindBrokenLinks(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("docs/guide.md", "# Guide\n\n## Clean up: `kubectl delete`\n\ntext\n")
	write("README.md", "# Title\n\n"+
		"[ok](docs/guide.md) [ok](docs/guide.md#clean-up-kubectl-delete) [ok](#title) [ok](docs)\n"+
		"[`ok`](https://example.com/missing.md) [ok][ref]\n\n"+
		"```sh\n[not a link](nowhere.md)\n```\n\n"+
		"`[not a link](nowhere.md)`\n\n"+
		"[gone](docs/missing.md) [gone](docs/guide.md#no-such-heading) [gone](#nothing) [gone][bad] [gone](../outside.md)\n\n"+
		"[ref]: docs/guide.md\n[bad]: docs/other.md\n")
	n, problems := checkLinks(dir, filepath.Join(dir, "README.md"))
	if n != 10 {
		t.Errorf("checked %d relative links, want 10", n)
	}
	want := []string{"docs/missing.md", "#no-such-heading", "#nothing", "../outside.md", "docs/other.md"}
	if len(problems) != len(want) {
		t.Fatalf("got %d problems, want %d: %q", len(problems), len(want), problems)
	}
	for i, w := range want {
		if !strings.Contains(problems[i], w) {
			t.Errorf("problem %d is %q, want one about %s", i, problems[i], w)
		}
	}
}

var (
	fence = regexp.MustCompile("^ {0,3}(```|~~~)")
	// codeSpan is inline code, whose brackets are not links.
	codeSpan = regexp.MustCompile("`+[^`]*`+")
	// inlineLink is the target of [text](target) or [text](target "title").
	inlineLink = regexp.MustCompile(`\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)`)
	// refDefinition is a reference-style link definition: [label]: target.
	refDefinition = regexp.MustCompile(`^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s.*)?$`)
	heading       = regexp.MustCompile(`^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$`)
	htmlAnchor    = regexp.MustCompile(`<a\s+(?:name|id)="([^"]+)"`)
)

// checkLinks checks the relative links of one Markdown file in the repository
// at repo and returns how many it checked and what is wrong, one line each.
func checkLinks(repo, file string) (int, []string) {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0, []string{err.Error()}
	}
	rel, _ := filepath.Rel(repo, file)
	var problems []string
	checked := 0
	for i, line := range markdownLines(string(b)) {
		if line == "" {
			continue
		}
		var targets []string
		for _, m := range inlineLink.FindAllStringSubmatch(codeSpan.ReplaceAllString(line, ""), -1) {
			targets = append(targets, m[1])
		}
		if m := refDefinition.FindStringSubmatch(line); m != nil {
			targets = append(targets, m[1])
		}
		for _, target := range targets {
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			checked++
			if p := checkTarget(repo, file, target); p != "" {
				problems = append(problems, fmt.Sprintf("%s:%d: link %s: %s", rel, i+1, target, p))
			}
		}
	}
	return checked, problems
}

// markdownLines returns the lines of a Markdown text with fenced code blocks
// blanked, so that line numbers stay right.
func markdownLines(text string) []string {
	lines := strings.Split(text, "\n")
	var open string
	for i, l := range lines {
		if m := fence.FindStringSubmatch(l); m != nil {
			switch open {
			case "":
				open = m[1]
			case m[1]:
				open = ""
			}
			lines[i] = ""
		} else if open != "" {
			lines[i] = ""
		}
	}
	return lines
}

// checkTarget says what is wrong with a relative link target, or "".
func checkTarget(repo, from, target string) string {
	path, anchor, _ := strings.Cut(target, "#")
	dest := from
	if path != "" {
		dest = filepath.Join(filepath.Dir(from), filepath.FromSlash(path))
		if r, err := filepath.Rel(repo, dest); err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
			return "points outside the repository"
		}
		if _, err := os.Stat(dest); err != nil {
			return "no such file or directory"
		}
	}
	if anchor == "" || !strings.HasSuffix(dest, ".md") {
		return ""
	}
	b, err := os.ReadFile(dest)
	if err != nil {
		return err.Error()
	}
	if !anchors(string(b))[anchor] {
		return fmt.Sprintf("no heading #%s in %s", anchor, filepath.Base(dest))
	}
	return ""
}

// anchors returns the anchors GitHub gives a Markdown file: one per heading
// (lower case, punctuation dropped, spaces as hyphens, -1, -2 for repeats) and
// the explicit <a name> and <a id> ones.
func anchors(text string) map[string]bool {
	out := map[string]bool{}
	for _, l := range markdownLines(text) {
		for _, m := range htmlAnchor.FindAllStringSubmatch(l, -1) {
			out[m[1]] = true
		}
		m := heading.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		title := inlineLink.ReplaceAllString(m[1], "]")
		var slug strings.Builder
		for _, r := range strings.ToLower(title) {
			switch {
			case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_':
				slug.WriteRune(r)
			case r == ' ':
				slug.WriteRune('-')
			}
		}
		s := slug.String()
		for i := 1; out[s]; i++ {
			s = fmt.Sprintf("%s-%d", slug.String(), i)
		}
		out[s] = true
	}
	return out
}
