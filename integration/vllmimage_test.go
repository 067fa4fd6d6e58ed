package integration_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"golang.org/x/mod/semver"
)

// currentVLLM is the vLLM release the examples run: v0.30.0 was vLLM's latest
// official release in September 2026 (AMD-AGI/TraceLens issue #1055, "Vllm's
// latest official release is v0.30.0"). Raise it with the examples.
const currentVLLM = "v0.30.0"

// TestExamplesRunACurrentVLLM holds every vLLM image the examples name at
// currentVLLM or later: an example is copied into clusters, and an old vLLM
// lacks the metrics and defaults the README describes.
func TestExamplesRunACurrentVLLM(t *testing.T) {
	image := regexp.MustCompile(`vllm/vllm-openai:(v[0-9][^\s"']*)`)
	found := 0
	err := filepath.WalkDir(filepath.Join(root, "examples"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		for _, m := range image.FindAllStringSubmatch(string(b), -1) {
			found++
			if semver.Compare(m[1], currentVLLM) < 0 {
				t.Errorf("%s runs vLLM %s, older than %s", rel, m[1], currentVLLM)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found == 0 {
		t.Error("no example names a vLLM image")
	}
}
