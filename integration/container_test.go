package integration_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/fn/runtime/runtimeutil"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// imageRepository is the function's image without its tag, and
// simImageRepository the vllm-sim image's (the Makefile's IMAGE and SIM_IMAGE).
const (
	imageRepository    = "ghcr.io/vllm-hpa/vllm-hpa-fn"
	simImageRepository = "ghcr.io/vllm-hpa/vllm-sim"
)

// image is the function's image tagged with the release in VERSION, as every
// example and the catalog metadata name it; `make image` builds it. setup sets it.
var image string

var containerExample = filepath.Join("examples", "kustomize-container")

// TestKustomizeContainerConfigParses reads the example's function annotation
// with kustomize's own parser: a container function running the release image.
func TestKustomizeContainerConfigParses(t *testing.T) {
	cfg := readConfig(t, filepath.Join(root, containerExample, "vllmhpa.yaml"))
	spec, err := runtimeutil.GetFunctionSpec(cfg)
	if err != nil {
		t.Fatalf("kustomize cannot parse the function annotation: %v", err)
	}
	if spec == nil || spec.Container.Image != image || spec.Exec.Path != "" || spec.Container.Network {
		t.Fatalf("function spec %+v, want a container function %s without network", spec, image)
	}
}

// TestKustomizeContainerOutput renders the container example with the annotation
// switched to exec mode (the same binary the image runs) and compares with its
// expected.yaml: the config itself generates the expected objects.
func TestKustomizeContainerOutput(t *testing.T) {
	// A sibling of the example, so that its ../workload resolves.
	dir := filepath.Join(work, "examples", "kustomize-container-as-exec")
	if err := copyDir(filepath.Join(work, containerExample), dir); err != nil {
		t.Fatal(err)
	}
	cfg := readConfig(t, filepath.Join(dir, "vllmhpa.yaml"))
	if err := cfg.PipeE(yaml.SetAnnotation(runtimeutil.FunctionAnnotationKey, "exec:\n  path: "+fnBin+"\n")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "vllmhpa.yaml"), []byte(cfg.MustString()), 0o644); err != nil {
		t.Fatal(err)
	}
	compareExpected(t, filepath.Join(containerExample, "expected.yaml"), mustBuild(t, dir))
}

// TestKustomizeContainerRunsDocker renders the unchanged example through
// kustomize's container runtime with a stand-in for the docker CLI that records
// its arguments and runs the binary the image contains. It shows the exact docker
// command kustomize runs (the one the image must work under) and that its output
// is the expected output.
func TestKustomizeContainerRunsDocker(t *testing.T) {
	bin := t.TempDir()
	argsFile := filepath.Join(t.TempDir(), "docker-args")
	shim := "#!/bin/sh\n# Stands in for the docker CLI: records the arguments, runs the function.\n" +
		"printf '%s\\n' \"$@\" > '" + argsFile + "'\nexec '" + fnBin + "'\n"
	if err := os.WriteFile(filepath.Join(bin, "docker"), []byte(shim), 0o755); err != nil {
		t.Fatal(err)
	}
	// The command of docs/running.md: container functions need --enable-alpha-plugins alone.
	cmd := exec.Command(kustomize, "build", "--enable-alpha-plugins", filepath.Join(work, containerExample))
	cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); ok {
		t.Fatalf("kustomize build --enable-alpha-plugins: %v\n%s", err, ee.Stderr)
	} else if err != nil {
		t.Fatal(err)
	}
	args := strings.Split(strings.TrimSpace(string(readFile(t, argsFile))), "\n")

	want := []string{"run", "--rm", "-i", "--network", "none", "--user", "nobody", "--security-opt=no-new-privileges"}
	for _, w := range want {
		if !slices.Contains(args, w) {
			t.Errorf("docker %s: missing %q", strings.Join(args, " "), w)
		}
	}
	if args[len(args)-1] != image {
		t.Errorf("docker runs %q, want %s", args[len(args)-1], image)
	}
	if *update {
		return // TestKustomizeContainerOutput writes expected.yaml
	}
	if want := readFile(t, filepath.Join(root, containerExample, "expected.yaml")); string(out) != string(want) {
		t.Errorf("the container run differs from expected.yaml:\n%s", lineDiff(string(want), string(out)))
	}
}

func readConfig(t *testing.T, path string) *yaml.RNode {
	t.Helper()
	cfg, err := yaml.Parse(string(readFile(t, path)))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
