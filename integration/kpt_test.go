package integration_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/fn/runtime/runtimeutil"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/kio/kioutil"
	"sigs.k8s.io/kustomize/kyaml/runfn"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

var kptExample = filepath.Join("examples", "kpt")

// TestKptRender renders a copy of examples/kpt as kpt's e2e runner does (git
// commit, render, git diff) and compares the diff with .expected/diff.patch; a
// second render must change no file.
func TestKptRender(t *testing.T) {
	pkg := copyPackage(t)
	git(t, pkg, "init", "--quiet")
	commitAll(t, pkg, "first")
	first := strings.TrimSpace(git(t, pkg, "rev-parse", "--short", "HEAD"))

	renderKpt(t, pkg)
	commitAll(t, pkg, "second")
	diff := strings.TrimSpace(git(t, pkg, "diff", first, "HEAD"))
	if diff == "" {
		t.Fatal("the render changed nothing: the function generated no files")
	}
	compareExpected(t, filepath.Join(kptExample, ".expected", "diff.patch"), []byte(diff+"\n"))

	renderKpt(t, pkg)
	if status := git(t, pkg, "status", "--porcelain"); status != "" {
		t.Errorf("a second render changed files:\n%s\n%s", status, git(t, pkg, "diff"))
	}
}

// TestKptStrategySwitch edits the config from vllm to gpu and back: each render
// removes the objects the old strategy needed and writes the new ones to the
// files the README names; the adapter stack's file is untouched, and the
// model's file ends as the first render wrote it, objects in the same order.
func TestKptStrategySwitch(t *testing.T) {
	pkg := copyPackage(t)
	renderKpt(t, pkg)
	adapter := readFile(t, filepath.Join(pkg, "custom-metrics-stackdriver-adapter.yaml"))
	config, first := readFile(t, filepath.Join(pkg, "vllmhpa.yaml")), readFile(t, filepath.Join(pkg, "vllmhpa-vllm-gemma.yaml"))
	model := packageFile(t, pkg, "vllmhpa-vllm-gemma.yaml")
	find(t, model, "PodMonitoring", "default", "vllm-gemma")

	setStrategy(t, pkg, "gpu")
	renderKpt(t, pkg)
	model = packageFile(t, pkg, "vllmhpa-vllm-gemma.yaml")
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

	// Back to the config as it was.
	if err := os.WriteFile(filepath.Join(pkg, "vllmhpa.yaml"), config, 0o644); err != nil {
		t.Fatal(err)
	}
	renderKpt(t, pkg)
	if _, err := os.Stat(filepath.Join(pkg, "vllmhpa-dcgm.yaml")); !os.IsNotExist(err) {
		t.Errorf("vllmhpa-dcgm.yaml is still there after the switch back to vllm (%v)", err)
	}
	find(t, packageFile(t, pkg, "vllmhpa-vllm-gemma.yaml"), "PodMonitoring", "default", "vllm-gemma")
	if now := readFile(t, filepath.Join(pkg, "vllmhpa-vllm-gemma.yaml")); !bytes.Equal(now, first) {
		t.Errorf("after vllm -> gpu -> vllm, vllmhpa-vllm-gemma.yaml differs from the first render:\n%s", lineDiff(string(first), string(now)))
	}
}

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

	// kyaml-based readers (runfn, kpt) must not take the test expectations for
	// package resources: .krmignore keeps .expected out.
	nodes, err := (kio.LocalPackageReader{PackagePath: filepath.Join(root, kptExample)}).Read()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		if p := n.GetAnnotations()[kioutil.PathAnnotation]; strings.HasPrefix(p, ".expected") {
			t.Errorf("the package reader reads %s; list .expected in .krmignore", p)
		}
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

// renderKpt runs the package's Kptfile pipeline the way `kpt fn render
// --allow-exec` runs its exec form, on kyaml's runfn: it reads the package from
// disk with path annotations (skipping what .krmignore names), runs the function
// with the configPath resource as functionConfig, and writes the files back,
// deleting files left empty. Unlike kpt, runfn reads only *.yaml, so the function
// does not see the Kptfile, which it would pass through unchanged.
func renderKpt(t *testing.T, pkg string) {
	t.Helper()
	m := kptMutator(t, pkg)
	configPath := field(t, m, "configPath")
	cfg := readConfig(t, filepath.Join(pkg, configPath))
	for k, v := range map[string]string{
		kioutil.PathAnnotation:            configPath,
		runtimeutil.FunctionAnnotationKey: "exec:\n  path: " + fnBin + "\n",
	} {
		if err := cfg.PipeE(yaml.SetAnnotation(k, v)); err != nil {
			t.Fatal(err)
		}
	}
	err := runfn.RunFns{
		Path:        pkg,
		Functions:   []*yaml.RNode{cfg},
		EnableExec:  true,
		WorkingDir:  pkg,
		GlobalScope: true, // kpt hands a function every resource of its package
	}.Execute()
	if err != nil {
		t.Fatalf("render failed: %v", err)
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
// runner does.
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

// git runs git in dir, isolated from the user's and the system's git config.
func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1", "GIT_DIFF_OPTS=",
		"GIT_AUTHOR_NAME=none", "GIT_AUTHOR_EMAIL=none", "GIT_COMMITTER_NAME=none", "GIT_COMMITTER_EMAIL=none")
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out.String()
}

func commitAll(t *testing.T, dir, msg string) {
	t.Helper()
	git(t, dir, "add", "--all")
	git(t, dir, "commit", "--quiet", "--allow-empty", "-m", msg)
}
