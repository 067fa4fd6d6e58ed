package integration_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/vllm-hpa/vllm-hpa/internal/testenv"
)

// need returns v, or ends the test when the tool behind it is missing: on a
// developer's machine the test is skipped with the reason, in CI (CI=true),
// where .ci/run installs every tool, it fails.
func need[T any](t *testing.T, v T, err error) T {
	t.Helper()
	if err == nil {
		return v
	}
	if testenv.InCI() {
		t.Fatalf("a tool this test needs is missing, and CI must run it: %v", err)
	}
	t.Skipf("skipped, a tool it needs is missing here (CI runs it): %v", err)
	return v
}

var (
	kptOnce    = sync.OnceValues(func() (string, error) { return testenv.Kpt(root) })
	podmanOnce = sync.OnceValues(testenv.FindPodman)
)

// kptCLI is the kpt CLI the tests run (testenv.KptVersion).
func kptCLI(t *testing.T) string {
	t.Helper()
	kpt, err := kptOnce()
	return need(t, kpt, err)
}

// podman is the container engine, with the tests' own image storage.
func podman(t *testing.T) *testenv.Podman {
	t.Helper()
	p, err := podmanOnce()
	return need(t, p, err)
}

// simImage is the vllm-sim target's image, tagged as `make image-sim` tags it.
var simImage string

var (
	fnImageOnce = sync.OnceValues(func() (string, error) {
		p, err := podmanOnce()
		if err != nil {
			return "", err
		}
		_, err = p.Build(root, "", image)
		return image, err
	})
	simImageOnce = sync.OnceValues(func() (string, error) {
		p, err := podmanOnce()
		if err != nil {
			return "", err
		}
		_, err = p.Build(root, "vllm-sim", simImage)
		return simImage, err
	})
)

// fnImage builds the function's image from the Dockerfile (once per run; the
// engine's layer cache makes a rebuild of unchanged sources quick) under the
// release's name, in the tests' storage.
func fnImage(t *testing.T) string {
	t.Helper()
	podman(t)
	img, err := fnImageOnce()
	if err != nil {
		t.Fatalf("building the image: %v", err)
	}
	return img
}

func vllmSimImage(t *testing.T) string {
	t.Helper()
	podman(t)
	img, err := simImageOnce()
	if err != nil {
		t.Fatalf("building the vllm-sim image: %v", err)
	}
	return img
}

// runTool runs a command in dir with extra environment and returns its stdout,
// stderr and exit error.
func runTool(dir string, env []string, name string, args ...string) (stdout, stderr string, err error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// mustRunTool is runTool that fails the test on a non-zero exit.
func mustRunTool(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	stdout, stderr, err := runTool(dir, env, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr)
	}
	return stdout
}

// exitCode is a command's exit code: 0 without error, -1 when it did not run.
func exitCode(err error) int {
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.ExitCode()
	}
	return -1
}
