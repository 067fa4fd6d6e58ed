package integration_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/semver"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd, args string
}

// stage is a FROM and the instructions under it.
type stage struct {
	from  string // the image
	name  string // AS name
	instr []instruction
}

// TestDockerfile checks what can be checked without a container engine: the
// builder runs `make build`, every image stage is distroless and non-root with
// no shell and copies only from the builder, and the final (default) stage's
// ENTRYPOINT is the function binary `make build` produces.
func TestDockerfile(t *testing.T) {
	stages := parseDockerfile(t, string(readFile(t, filepath.Join(root, "Dockerfile"))))
	if len(stages) < 2 {
		t.Fatalf("%d stages, want a builder and a final stage", len(stages))
	}
	build, final := stages[0], stages[len(stages)-1]
	mk := parseMakefile(t)

	t.Run("image stages copy only from the builder", func(t *testing.T) {
		for _, s := range stages[1:] {
			if !strings.HasPrefix(s.from, "gcr.io/distroless/static") {
				t.Errorf("stage %q is built on %q, want distroless", s.name, s.from)
			}
			for _, in := range s.instr {
				if in.cmd == "RUN" || in.cmd == "SHELL" || (in.cmd == "COPY" && !strings.HasPrefix(in.args, "--from="+build.name+" ")) {
					t.Errorf("stage %q: %s %s; image stages only copy from %s", s.name, in.cmd, in.args, build.name)
				}
			}
		}
	})

	t.Run("builder runs make build", func(t *testing.T) {
		if !hasInstruction(build.instr, "RUN", func(a string) bool { return regexp.MustCompile(`(^|\s)make build$`).MatchString(a) }) {
			t.Errorf("no RUN ... make build in stage %s: one build command for machines, CI and the image", build.name)
		}
		if len(mk.buildPrereqs) > 0 {
			t.Errorf("make build depends on %v; the builder copies only Makefile, go.mod, go.sum and the Go sources", mk.buildPrereqs)
		}
		copied := map[string]bool{}
		for _, in := range build.instr {
			if in.cmd == "COPY" {
				for _, f := range strings.Fields(in.args) {
					copied[strings.TrimSuffix(f, "/")] = true
				}
			}
		}
		list := exec.Command("go", "list", "-deps", "-f", "{{if .Module}}{{if .Module.Main}}{{.ImportPath}}{{end}}{{end}}", "./fn", "./cmd/...")
		list.Dir = root
		out, err := list.Output()
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range strings.Fields(string(out)) {
			top, _, _ := strings.Cut(strings.TrimPrefix(p, "github.com/vllm-hpa/vllm-hpa/"), "/")
			if !copied[top] {
				t.Errorf("make build compiles %s, but the builder does not copy %s/", p, top)
			}
		}
	})

	t.Run("builder Go matches go.mod", func(t *testing.T) {
		if !strings.HasPrefix(build.from, "golang:") {
			t.Fatalf("builder image %q, want golang", build.from)
		}
		goVersion := argDefault(t, stages, "GO_VERSION")
		mod, err := modfile.Parse("go.mod", readFile(t, filepath.Join(root, "go.mod")), nil)
		if err != nil {
			t.Fatal(err)
		}
		have, need := "v"+goVersion, "v"+mod.Go.Version
		if semver.MajorMinor(have) != semver.MajorMinor(need) || semver.Compare(have, need) < 0 {
			t.Errorf("the builder's Go %s does not match go.mod's go %s", goVersion, mod.Go.Version)
		}
	})

	t.Run("final stage is distroless, non-root, without shell", func(t *testing.T) {
		if !regexp.MustCompile(`^gcr\.io/distroless/static(-debian\d+)?:nonroot(@sha256:[0-9a-f]{64})?$`).MatchString(final.from) {
			t.Errorf("final image %q, want gcr.io/distroless/static...:nonroot", final.from)
		}
		user := last(final.instr, "USER")
		if u, _, _ := strings.Cut(user, ":"); u == "" || u == "root" || u == "0" {
			t.Errorf("USER %q, want a non-root user", user)
		}
		for _, in := range final.instr {
			if in.cmd == "RUN" || in.cmd == "SHELL" {
				t.Errorf("%s %s in the final stage: distroless has no shell", in.cmd, in.args)
			}
		}
	})

	t.Run("entrypoint is the make build binary", func(t *testing.T) {
		var entry []string
		if err := json.Unmarshal([]byte(last(final.instr, "ENTRYPOINT")), &entry); err != nil || len(entry) != 1 {
			t.Fatalf("ENTRYPOINT %q, want the exec form with the binary alone (%v)", last(final.instr, "ENTRYPOINT"), err)
		}
		workdir := last(build.instr, "WORKDIR")
		want := "--from=" + build.name + " " + workdir + "/" + mk.fn + " " + entry[0]
		if !hasInstruction(final.instr, "COPY", func(a string) bool { return a == want }) {
			t.Errorf("no COPY %s: the ENTRYPOINT must be the binary make build writes (%s)", want, mk.fn)
		}
	})
}

func parseDockerfile(t *testing.T, text string) []stage {
	t.Helper()
	var stages []stage
	var pending string
	globals := map[string]string{}
	seenFrom := false
	for _, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if pending == "" && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if strings.HasSuffix(trimmed, "\\") {
			pending += strings.TrimSuffix(trimmed, "\\") + " "
			continue
		}
		full := strings.Join(strings.Fields(pending+trimmed), " ")
		pending = ""
		cmd, args, _ := strings.Cut(full, " ")
		in := instruction{strings.ToUpper(cmd), args}
		if in.cmd == "ARG" && !seenFrom {
			// A global ARG: FROM lines see its default, which may name earlier ones.
			k, v, _ := strings.Cut(args, "=")
			globals[k] = os.Expand(v, func(name string) string { return globals[name] })
		}
		if in.cmd == "FROM" {
			seenFrom = true
			var s stage
			for _, f := range strings.Fields(args) {
				switch {
				case strings.HasPrefix(f, "--"):
				case s.from == "":
					// The image as built with the ARGs' defaults.
					s.from = os.Expand(f, func(name string) string { return globals[name] })
				case strings.EqualFold(f, "AS"):
				default:
					s.name = f
				}
			}
			stages = append(stages, s)
			continue
		}
		if len(stages) == 0 {
			stages = append(stages, stage{}) // ARGs before the first FROM
		}
		stages[len(stages)-1].instr = append(stages[len(stages)-1].instr, in)
	}
	// Global ARGs before the first FROM belong to no stage: keep them apart.
	if len(stages) > 0 && stages[0].from == "" {
		globals := stages[0]
		stages = stages[1:]
		if len(stages) > 0 {
			stages[0].instr = append(globals.instr, stages[0].instr...)
		}
	}
	return stages
}

func argDefault(t *testing.T, stages []stage, name string) string {
	t.Helper()
	for _, s := range stages {
		for _, in := range s.instr {
			if k, v, ok := strings.Cut(in.args, "="); in.cmd == "ARG" && ok && k == name {
				return v
			}
		}
	}
	t.Fatalf("no ARG %s=... in the Dockerfile", name)
	return ""
}

func last(instr []instruction, cmd string) string {
	v := ""
	for _, in := range instr {
		if in.cmd == cmd {
			v = in.args
		}
	}
	return v
}

func hasInstruction(instr []instruction, cmd string, match func(args string) bool) bool {
	for _, in := range instr {
		if in.cmd == cmd && match(in.args) {
			return true
		}
	}
	return false
}

type makefile struct {
	// fn is the file make build writes, relative to the repository.
	fn           string
	buildPrereqs []string
}

// parseMakefile reads the build target's output path and prerequisites.
func parseMakefile(t *testing.T) makefile {
	t.Helper()
	vars := map[string]string{}
	var mk makefile
	var recipe []string
	inBuild := false
	assign := regexp.MustCompile(`^([A-Za-z_]+)\s*(:=|\?=|=)\s*(.*)$`)
	for _, line := range strings.Split(string(readFile(t, filepath.Join(root, "Makefile"))), "\n") {
		if m := assign.FindStringSubmatch(line); m != nil {
			vars[m[1]] = m[3]
			continue
		}
		if rest, ok := strings.CutPrefix(line, "build:"); ok {
			inBuild, mk.buildPrereqs = true, strings.Fields(rest)
			continue
		}
		if inBuild && strings.HasPrefix(line, "\t") {
			recipe = append(recipe, line)
		} else {
			inBuild = inBuild && line == ""
		}
	}
	expand := func(s string) string {
		ref := regexp.MustCompile(`\$\(([A-Za-z_]+)\)`)
		for range 5 {
			s = ref.ReplaceAllStringFunc(s, func(r string) string { return vars[r[2:len(r)-1]] })
		}
		return s
	}
	m := regexp.MustCompile(`-o\s+(\S+)`).FindStringSubmatch(strings.Join(recipe, " "))
	if m == nil {
		t.Fatalf("the Makefile's build recipe has no -o OUTPUT: %q", recipe)
	}
	mk.fn = expand(m[1])
	return mk
}
