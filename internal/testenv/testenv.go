// Package testenv finds the real tools that the integration tests run besides
// Go: the kpt CLI, unpacked from ../shared/tools/kpt beside the repository, and
// podman with podman-docker, which run the container images. On a developer's
// machine a missing tool skips the tests that need it, saying why; in CI
// (CI=true), where .ci/run installs every tool, it fails them.
package testenv

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// InCI reports whether this is CI, where every tool must be there.
func InCI() bool { return os.Getenv("CI") == "true" }

// The kpt CLI the tests run: a static linux/amd64 build of the release, whose
// README beside it says how it was built.
const (
	KptVersion = "v1.0.0-beta.67"
	kptArchive = "kpt-" + KptVersion + "-linux-amd64.xz"
	// kptSHA256 is the unpacked binary's, from the README beside the archive.
	kptSHA256 = "728986ec15d81b4adb691479e2dbba842a802e9b9b735ef32d1dc4c09364c550"
)

// CacheDir is where unpacked tools and the test images' container storage are
// kept between runs: $VLLMHPA_TEST_CACHE, else the user's cache directory.
func CacheDir() (string, error) {
	if d := os.Getenv("VLLMHPA_TEST_CACHE"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "vllm-hpa-integration"), nil
}

// KptDir is the directory that holds the kpt archive: $VLLMHPA_KPT_DIR, else
// ../shared/tools/kpt beside the repository at root (where CI puts it).
func KptDir(root string) string {
	if d := os.Getenv("VLLMHPA_KPT_DIR"); d != "" {
		return d
	}
	return filepath.Join(root, "..", "shared", "tools", "kpt")
}

// Kpt returns the path of the kpt CLI, unpacked into the cache directory and
// checked against its published checksum.
func Kpt(root string) (string, error) {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		return "", fmt.Errorf("the kpt CLI in %s is built for linux/amd64, not %s/%s", KptDir(root), runtime.GOOS, runtime.GOARCH)
	}
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(cache, "kpt-"+KptVersion)
	if sumOf(bin) == kptSHA256 {
		return bin, nil
	}
	archive := filepath.Join(KptDir(root), kptArchive)
	if _, err := os.Stat(archive); err != nil {
		return "", fmt.Errorf("no kpt CLI: %w (CI copies shared/ beside the clone; set VLLMHPA_KPT_DIR to the directory that holds %s)", err, kptArchive)
	}
	if _, err := exec.LookPath("xz"); err != nil {
		return "", fmt.Errorf("xz, which unpacks %s, is not installed: %w", archive, err)
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", err
	}
	// Unpack beside the target and rename, so that a run beside this one never
	// sees half a binary.
	tmp, err := os.CreateTemp(cache, "kpt-*.tmp")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	xz := exec.Command("xz", "-dc", archive)
	var stderr bytes.Buffer
	xz.Stdout, xz.Stderr = tmp, &stderr
	err = xz.Run()
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("xz -dc %s: %v: %s", archive, err, stderr.String())
	}
	if got := sumOf(tmp.Name()); got != kptSHA256 {
		return "", fmt.Errorf("%s unpacks to a binary with sha256 %s, want %s (its README's)", archive, got, kptSHA256)
	}
	if err := os.Chmod(tmp.Name(), 0o755); err != nil {
		return "", err
	}
	return bin, os.Rename(tmp.Name(), bin)
}

// sumOf is the hex sha256 of a file, "" when it cannot be read.
func sumOf(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return ""
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Podman runs containers for the tests, in a container storage of their own
// (in the cache directory), so that the images they build never replace a
// user's image of the same name, and the examples run unchanged.
type Podman struct {
	// Version is podman's version.
	Version string
	// Env is what a command that runs containers needs in its environment:
	// podman-docker's docker first on PATH (kustomize runs docker, and a docker
	// CLI without a daemon may come earlier on PATH), the tests' storage, and
	// KRM_FN_RUNTIME=podman for kpt (which refuses podman-docker's version
	// number as a docker client's).
	Env []string
	bin string
}

// FindPodman finds podman and podman-docker, and sets up the tests' storage.
func FindPodman() (*Podman, error) {
	bin, err := exec.LookPath("podman")
	if err != nil {
		return nil, fmt.Errorf("podman is not installed (Debian: apt-get install podman podman-docker runc): %w", err)
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("%s --version: %w", bin, err)
	}
	version := strings.TrimPrefix(strings.TrimSpace(string(out)), "podman version ")
	// podman-docker installs its docker script beside podman.
	dir := filepath.Dir(bin)
	docker, err := exec.Command(filepath.Join(dir, "docker"), "--version").Output()
	if err != nil || !strings.HasPrefix(string(docker), "podman version") {
		return nil, fmt.Errorf("podman-docker is not installed: %s is not podman's docker command (%v)", filepath.Join(dir, "docker"), err)
	}
	cache, err := CacheDir()
	if err != nil {
		return nil, err
	}
	conf := filepath.Join(cache, "containers", "storage.conf")
	// The run root holds mounts and locks of a running podman: on a temporary
	// file system, as podman's own is.
	runRoot := filepath.Join(os.TempDir(), fmt.Sprintf("vllm-hpa-integration-containers-%d", os.Getuid()))
	want := fmt.Sprintf("# The integration tests' own container storage (internal/testenv).\n[storage]\ndriver = \"overlay\"\ngraphroot = %q\nrunroot = %q\n",
		filepath.Join(cache, "containers", "storage"), runRoot)
	if have, _ := os.ReadFile(conf); string(have) != want {
		if err := os.MkdirAll(filepath.Dir(conf), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(conf, []byte(want), 0o644); err != nil {
			return nil, err
		}
	}
	return &Podman{
		Version: version,
		Env: []string{
			"PATH=" + dir + string(os.PathListSeparator) + os.Getenv("PATH"),
			"CONTAINERS_STORAGE_CONF=" + conf,
			"KRM_FN_RUNTIME=podman",
		},
		bin: bin,
	}, nil
}

// Command is podman with args, in the tests' storage.
func (p *Podman) Command(args ...string) *exec.Cmd {
	cmd := exec.Command(p.bin, args...)
	cmd.Env = append(os.Environ(), p.Env...)
	return cmd
}

// Run runs podman with args and returns its stdout; the error holds stderr.
func (p *Podman) Run(args ...string) (string, error) {
	cmd := p.Command(args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("podman %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

// HasImage says whether the tests' storage holds image.
func (p *Podman) HasImage(image string) bool {
	return p.Command("image", "exists", image).Run() == nil
}
