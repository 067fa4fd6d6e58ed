package integration_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/yaml"
	sigsyaml "sigs.k8s.io/yaml"
)

// The kpt CLI (testenv.KptVersion) on copies of examples/kpt. Most tests run
// the function's binary in the Kptfile's place (exec form, `kpt fn render
// --allow-exec`); TestKptExpected runs the image, as the Kptfile says.

var kptExample = filepath.Join("examples", "kpt")

// TestKptPipeline checks the Kptfile runs the released image with the config, and
// that the package's workload is the shared one in examples/workload.
func TestKptPipeline(t *testing.T) {
	m := kptMutator(t, filepath.Join(root, kptExample))
	if got := field(t, m, "image"); got != image {
		t.Errorf("the Kptfile runs %q, want %s", got, image)
	}
	cfg := readConfig(t, filepath.Join(root, kptExample, field(t, m, "configPath")))
	if cfg.GetKind() != "VLLMHPAConfig" || cfg.GetAnnotations()["config.kubernetes.io/local-config"] != "true" {
		t.Errorf("configPath names a %s without local-config; kpt would send it to the cluster", cfg.GetKind())
	}

	var pkgWorkload []*yaml.RNode
	for _, f := range []string{"deployment.yaml", "service.yaml"} {
		pkgWorkload = append(pkgWorkload, packageFile(t, filepath.Join(root, kptExample), f)...)
	}
	// kpt has no kustomization to set the namespace, so the package's copy names it.
	shared := parse(t, mustBuild(t, filepath.Join(work, "examples", "workload")))
	for _, n := range shared {
		if err := n.SetNamespace("default"); err != nil {
			t.Fatal(err)
		}
	}
	sameObjects(t, "examples/kpt workload vs examples/workload", pkgWorkload, shared)
}

// TestKptRender renders a copy of examples/kpt as kpt's package test runner does
// (commit, render, git diff against the first commit) and compares the diff and
// kpt's results file with .expected/diff.patch and .expected/results.yaml. kpt
// rewrites the Kptfile only by adding its status: the example is written as kpt
// writes it. A second render changes no file.
func TestKptRender(t *testing.T) {
	kptCLI(t)
	pkg := copyPackage(t)
	first := gitInit(t, pkg)
	kptfile := readFile(t, filepath.Join(pkg, "Kptfile"))

	run := renderAsImage(t, pkg)
	if run.err != nil {
		t.Fatalf("kpt fn render: %v\n%s", run.err, run.stderr)
	}
	commitAll(t, pkg, "second")
	diff := strings.TrimSpace(git(t, pkg, "diff", first, "HEAD"))
	compareExpected(t, filepath.Join(kptExample, ".expected", "diff.patch"), []byte(diff+"\n"))
	compareExpected(t, filepath.Join(kptExample, ".expected", "results.yaml"), []byte(strings.TrimSpace(run.results)+"\n"))

	rendered := readConfig(t, filepath.Join(pkg, "Kptfile"))
	if got := field(t, rendered, "status", "conditions", "[type=Rendered]", "status"); got != "True" {
		t.Errorf("the Kptfile's Rendered condition is %q, want True:\n%s", got, rendered.MustString())
	}
	if got := withoutStatus(string(readFile(t, filepath.Join(pkg, "Kptfile")))); got != string(kptfile) {
		t.Errorf("kpt rewrote the Kptfile beyond adding its status; write it as kpt does:\n%s", lineDiff(string(kptfile), got))
	}

	if run := renderAsImage(t, pkg); run.err != nil {
		t.Fatalf("second kpt fn render: %v\n%s", run.err, run.stderr)
	}
	if status := git(t, pkg, "status", "--porcelain"); status != "" {
		t.Errorf("a second render changed files:\n%s\n%s", status, git(t, pkg, "diff"))
	}
}

// TestKptExpected is kpt's own package test on examples/kpt, with the image the
// Kptfile names (built from the Dockerfile): .expected/config.yaml says what to
// run and the exit code, and each of kpt's two runs on a fresh copy must give
// .expected/diff.patch and .expected/results.yaml.
func TestKptExpected(t *testing.T) {
	kpt := kptCLI(t)
	engine := podman(t)
	fnImage(t)
	var cfg struct {
		TestType string `json:"testType"`
		ExitCode int    `json:"exitCode"`
	}
	if err := sigsyaml.UnmarshalStrict(readFile(t, filepath.Join(root, kptExample, ".expected", "config.yaml")), &cfg); err != nil {
		t.Fatalf(".expected/config.yaml: %v", err)
	}
	if cfg.TestType != "render" {
		t.Fatalf(".expected/config.yaml: testType %q, want render", cfg.TestType)
	}
	wantDiff := strings.TrimSpace(string(readFile(t, filepath.Join(root, kptExample, ".expected", "diff.patch"))))
	wantResults := strings.TrimSpace(string(readFile(t, filepath.Join(root, kptExample, ".expected", "results.yaml"))))
	for i := range 2 {
		pkg := copyPackage(t)
		first := gitInit(t, pkg)
		resultsDir := t.TempDir()
		_, stderr, err := runTool(pkg, engine.Env, kpt, "fn", "render", pkg, "--results-dir", resultsDir)
		if code := exitCode(err); code != cfg.ExitCode {
			t.Fatalf("run %d: kpt fn render exited %d, want %d (%v)\n%s", i+1, code, cfg.ExitCode, err, stderr)
		}
		if got := strings.TrimSpace(string(readFile(t, filepath.Join(resultsDir, "results.yaml")))); got != wantResults {
			t.Errorf("run %d: results differ from .expected/results.yaml:\n%s", i+1, lineDiff(wantResults, got))
		}
		commitAll(t, pkg, "second")
		if got := strings.TrimSpace(git(t, pkg, "diff", first, "HEAD")); got != wantDiff {
			t.Errorf("run %d: the diff differs from .expected/diff.patch:\n%s", i+1, lineDiff(wantDiff, got))
		}
	}
}

// TestKptFnDoc: `kpt fn doc --image` runs the image with --help and shows what
// it prints.
func TestKptFnDoc(t *testing.T) {
	kpt := kptCLI(t)
	engine := podman(t)
	img := fnImage(t)
	help := mustRunTool(t, root, nil, fnBin, "--help")
	doc := mustRunTool(t, root, engine.Env, kpt, "fn", "doc", "--image", img)
	if strings.TrimSpace(doc) != strings.TrimSpace(help) {
		t.Errorf("kpt fn doc shows:\n%s\nwant vllm-hpa-fn --help:\n%s", doc, help)
	}
}

// TestKptStrategySwitch edits the config from vllm to gpu and back: each render
// removes the objects the old strategy needed and writes the new ones to the
// files docs/api.md names; the adapter stack's file is untouched; and back at
// vllm, every file is byte for byte what a fresh render writes.
func TestKptStrategySwitch(t *testing.T) {
	kptCLI(t)
	fresh := copyPackage(t)
	mustRender(t, fresh)

	pkg := copyPackage(t)
	config := readFile(t, filepath.Join(pkg, "vllmhpa.yaml"))
	mustRender(t, pkg)
	adapter := readFile(t, filepath.Join(pkg, "custom-metrics-stackdriver-adapter.yaml"))
	find(t, packageFile(t, pkg, "vllmhpa-vllm-gemma.yaml"), "PodMonitoring", "default", "vllm-gemma")

	setStrategy(t, pkg, "gpu")
	mustRender(t, pkg)
	model := packageFile(t, pkg, "vllmhpa-vllm-gemma.yaml")
	if got := kindsIn(model); got != "HorizontalPodAutoscaler" {
		t.Errorf("vllmhpa-vllm-gemma.yaml holds %s after the switch to gpu, want only the HorizontalPodAutoscaler", got)
	}
	hpa := find(t, model, "HorizontalPodAutoscaler", "default", "vllm-gemma")
	if got := field(t, hpa, "spec", "metrics", "[type=Pods]", "pods", "metric", "name"); got != "prometheus.googleapis.com|dcgm_fi_dev_gpu_util|gauge" {
		t.Errorf("the HPA scales on %q after the switch to gpu", got)
	}
	if got := kindsIn(packageFile(t, pkg, "vllmhpa-dcgm.yaml")); got != "ClusterPodMonitoring,ClusterRules" {
		t.Errorf("vllmhpa-dcgm.yaml holds %s, want ClusterPodMonitoring,ClusterRules", got)
	}
	for file, objs := range packageFiles(t, pkg) {
		if len(ofKind(objs, "PodMonitoring")) > 0 {
			t.Errorf("%s still holds the vllm strategy's PodMonitoring", file)
		}
	}
	if now := readFile(t, filepath.Join(pkg, "custom-metrics-stackdriver-adapter.yaml")); !bytes.Equal(now, adapter) {
		t.Errorf("the switch rewrote the adapter stack:\n%s", lineDiff(string(adapter), string(now)))
	}

	if err := os.WriteFile(filepath.Join(pkg, "vllmhpa.yaml"), config, 0o644); err != nil {
		t.Fatal(err)
	}
	mustRender(t, pkg)
	// The Kptfile's status holds the last render's results, which report what
	// the switch back removed.
	for _, p := range []string{pkg, fresh} {
		kptfile := filepath.Join(p, "Kptfile")
		if err := os.WriteFile(kptfile, []byte(withoutStatus(string(readFile(t, kptfile)))), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	samePackage(t, "after vllm -> gpu -> vllm, against a fresh render", pkg, fresh)
}

// withoutStatus is a Kptfile without the status kpt writes at its end.
func withoutStatus(kptfile string) string {
	if i := strings.Index(kptfile, "\nstatus:\n"); i >= 0 {
		return kptfile[:i+1]
	}
	return kptfile
}

// TestKptEvalFlatKeys runs the function imperatively with the settings as flat
// keys (`kpt fn eval --exec ... -- key=value`, which kpt hands over as a
// ConfigMap) on the package without its config file: it writes the same files a
// render of the config writes.
func TestKptEvalFlatKeys(t *testing.T) {
	kpt := kptCLI(t)
	fresh := copyPackage(t)
	mustRender(t, fresh)

	pkg := copyPackage(t)
	if err := os.Remove(filepath.Join(pkg, "vllmhpa.yaml")); err != nil {
		t.Fatal(err)
	}
	resultsDir := t.TempDir()
	_, stderr, err := runTool(pkg, binOnPath(), kpt, "fn", "eval", pkg, "--exec", "vllm-hpa-fn", "--results-dir", resultsDir, "--",
		"name=vllm-gemma", "namespace=default", "strategy=vllm", "targetName=vllm-gemma", "maxReplicas=5", "targetAverageValue=16")
	if err != nil {
		t.Fatalf("kpt fn eval: %v\n%s", err, stderr)
	}
	if err := os.Remove(filepath.Join(fresh, "vllmhpa.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(fresh, "Kptfile")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(pkg, "Kptfile")); err != nil {
		t.Fatal(err)
	}
	samePackage(t, "kpt fn eval with flat keys, against a render of the config", pkg, fresh)
	results := string(readFile(t, filepath.Join(resultsDir, "results.yaml")))
	if !strings.Contains(results, "data.podSelector taken from Deployment default/vllm-gemma") {
		t.Errorf("the eval's results do not report the selector taken from the Deployment:\n%s", results)
	}
}

// TestKptBadConfig: a config error stops the render: kpt shows it once, in the
// function's words with the file and the line the user wrote, and writes no
// generated file.
func TestKptBadConfig(t *testing.T) {
	kptCLI(t)
	config := string(readFile(t, filepath.Join(root, kptExample, "vllmhpa.yaml")))
	lines := strings.Split(config, "\n")
	at := slices.Index(lines, "  maxReplicas: 5")
	if at < 0 {
		t.Fatalf("examples/kpt/vllmhpa.yaml has no line %q", "  maxReplicas: 5")
	}
	cases := []struct {
		name, config, message string
	}{
		{
			name:    "a key set twice",
			config:  strings.Replace(config, "  maxReplicas: 5\n", "  maxReplicas: 5\n  maxReplicas: 6\n", 1),
			message: fmt.Sprintf("spec.maxReplicas: Duplicate value: set twice (vllmhpa.yaml, lines %d and %d); keep one", at+1, at+2),
		},
		{
			name:    "a value the schema refuses",
			config:  strings.Replace(config, "  maxReplicas: 5\n", "  maxReplicas: 0\n", 1),
			message: "spec.maxReplicas: Invalid value: 0: must be at least 1 (maxReplicas is the most replicas the autoscaler may run)",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pkg := copyPackage(t)
			if err := os.WriteFile(filepath.Join(pkg, "vllmhpa.yaml"), []byte(c.config), 0o644); err != nil {
				t.Fatal(err)
			}
			gitInit(t, pkg)
			run := renderAsImage(t, pkg)
			if run.err == nil {
				t.Fatalf("kpt fn render succeeded on a bad config:\n%s", run.stderr)
			}
			var results struct {
				Items []struct {
					Results []struct {
						Message  string
						Severity string
						File     struct{ Path string }
					}
				}
			}
			if err := sigsyaml.Unmarshal([]byte(run.results), &results); err != nil || len(results.Items) != 1 {
				t.Fatalf("kpt's results file (%v):\n%s", err, run.results)
			}
			got := results.Items[0].Results
			if len(got) != 1 || got[0].Message != c.message || got[0].Severity != "error" || got[0].File.Path != "vllmhpa.yaml" {
				t.Errorf("results %+v, want the one error %q on vllmhpa.yaml", got, c.message)
			}
			for _, line := range strings.Split(run.stderr, "\n") {
				if strings.HasPrefix(line, "[Results]") && strings.Count(line, c.message) != 1 {
					t.Errorf("kpt shows the error %d times: %s", strings.Count(line, c.message), line)
				}
			}
			if status := git(t, pkg, "status", "--porcelain"); strings.TrimSpace(status) != "M Kptfile" {
				t.Errorf("the failed render changed more than the Kptfile's status:\n%s", status)
			}
			if got := field(t, readConfig(t, filepath.Join(pkg, "Kptfile")), "status", "conditions", "[type=Rendered]", "status"); got != "False" {
				t.Errorf("the Kptfile's Rendered condition is %q, want False", got)
			}
		})
	}
}

// kptRun is what one kpt command did.
type kptRun struct {
	stderr  string
	err     error
	results string // the results file kpt wrote
}

// renderAsImage runs `kpt fn render --allow-exec` on pkg with the binary in the
// place of the Kptfile's image (`exec: vllm-hpa-fn`, bin/ on PATH, as the
// example's README says), then writes the image's name back wherever kpt
// wrote the binary's path (the pipeline, and the step in the Kptfile's status
// and in the results): the files are then what a render with the image writes.
func renderAsImage(t *testing.T, pkg string) kptRun {
	t.Helper()
	kpt := kptCLI(t)
	kptfile := filepath.Join(pkg, "Kptfile")
	text := string(readFile(t, kptfile))
	asImage, asExec := "image: "+image, "exec: vllm-hpa-fn"
	// The pipeline comes first; a status further down names the image too.
	if !strings.Contains(text, "- "+asImage) {
		t.Fatalf("the Kptfile does not run %s:\n%s", image, text)
	}
	if err := os.WriteFile(kptfile, []byte(strings.Replace(text, asImage, asExec, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	resultsDir := t.TempDir()
	_, stderr, err := runTool(pkg, binOnPath(), kpt, "fn", "render", pkg, "--allow-exec", "--results-dir", resultsDir)
	text = strings.ReplaceAll(string(readFile(t, kptfile)), asExec, asImage)
	if err := os.WriteFile(kptfile, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	results, rerr := os.ReadFile(filepath.Join(resultsDir, "results.yaml"))
	if rerr != nil {
		t.Fatalf("kpt wrote no results file: %v\n%s", rerr, stderr)
	}
	return kptRun{stderr: stderr, err: err, results: strings.ReplaceAll(string(results), asExec, asImage)}
}

// binOnPath puts the directory of the function's binary first on PATH, as
// `make build` users do to run it by name.
func binOnPath() []string {
	return []string{"PATH=" + filepath.Dir(fnBin) + string(os.PathListSeparator) + os.Getenv("PATH")}
}

func mustRender(t *testing.T, pkg string) {
	t.Helper()
	if run := renderAsImage(t, pkg); run.err != nil {
		t.Fatalf("kpt fn render: %v\n%s", run.err, run.stderr)
	}
}

// samePackage compares every file of two packages byte for byte.
func samePackage(t *testing.T, what, got, want string) {
	t.Helper()
	files := func(dir string) map[string][]byte {
		out := map[string][]byte{}
		err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				if d != nil && d.IsDir() && d.Name() == ".git" {
					return filepath.SkipDir
				}
				return err
			}
			rel, _ := filepath.Rel(dir, p)
			out[rel] = readFile(t, p)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	g, w := files(got), files(want)
	for name, wb := range w {
		gb, ok := g[name]
		switch {
		case !ok:
			t.Errorf("%s: %s is missing", what, name)
		case !bytes.Equal(gb, wb):
			t.Errorf("%s: %s differs:\n%s", what, name, lineDiff(string(wb), string(gb)))
		}
	}
	for name := range g {
		if _, ok := w[name]; !ok {
			t.Errorf("%s: %s is extra", what, name)
		}
	}
}

func kptMutator(t *testing.T, pkg string) *yaml.RNode {
	t.Helper()
	kf := readConfig(t, filepath.Join(pkg, "Kptfile"))
	mutators, err := kf.Pipe(yaml.Lookup("pipeline", "mutators"))
	if err != nil || mutators == nil {
		t.Fatalf("the Kptfile has no pipeline.mutators (%v)", err)
	}
	elems, err := mutators.Elements()
	if err != nil || len(elems) != 1 {
		t.Fatalf("the Kptfile has %d mutators, want the vllm-hpa function alone (%v)", len(elems), err)
	}
	return elems[0]
}

// copyPackage copies examples/kpt, .expected and .krmignore included, as kpt's
// runner does, to a directory named kpt.
func copyPackage(t *testing.T) string {
	t.Helper()
	pkg := filepath.Join(t.TempDir(), "kpt")
	if err := copyDir(filepath.Join(root, kptExample), pkg); err != nil {
		t.Fatal(err)
	}
	return pkg
}

func setStrategy(t *testing.T, pkg, strategy string) {
	t.Helper()
	p := filepath.Join(pkg, "vllmhpa.yaml")
	cfg := readConfig(t, p)
	if err := cfg.PipeE(yaml.Lookup("spec"), yaml.SetField("strategy", yaml.NewScalarRNode(strategy))); err != nil {
		t.Fatal(err)
	}
	// The example's target is a vllm gauge; gpu uses its own default.
	if err := cfg.PipeE(yaml.Lookup("spec"), yaml.Clear("metric")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(cfg.MustString()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// packageFiles returns the objects of each YAML file at the package's top level.
func packageFiles(t *testing.T, pkg string) map[string][]*yaml.RNode {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(pkg, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]*yaml.RNode{}
	for _, p := range paths {
		out[filepath.Base(p)] = parse(t, readFile(t, p))
	}
	return out
}

func packageFile(t *testing.T, pkg, name string) []*yaml.RNode {
	t.Helper()
	return parse(t, readFile(t, filepath.Join(pkg, name)))
}

func kindsIn(objs []*yaml.RNode) string {
	var kinds []string
	for _, o := range objs {
		kinds = append(kinds, o.GetKind())
	}
	return strings.Join(kinds, ",")
}

// gitInit makes dir a repository with everything in a first commit, and returns
// that commit.
func gitInit(t *testing.T, dir string) string {
	t.Helper()
	git(t, dir, "init", "--quiet")
	commitAll(t, dir, "first")
	return strings.TrimSpace(git(t, dir, "rev-parse", "HEAD"))
}

// git runs git in dir, isolated from the user's and the system's git config.
func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	stdout, stderr, err := runTool(dir, []string{
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1", "GIT_DIFF_OPTS=",
		"GIT_AUTHOR_NAME=none", "GIT_AUTHOR_EMAIL=none", "GIT_COMMITTER_NAME=none", "GIT_COMMITTER_EMAIL=none",
	}, "git", args...)
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return stdout
}

func commitAll(t *testing.T, dir, msg string) {
	t.Helper()
	git(t, dir, "add", "--all")
	git(t, dir, "commit", "--quiet", "--allow-empty", "-m", msg)
}
