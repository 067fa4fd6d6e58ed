package integration_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	sigsyaml "sigs.k8s.io/yaml"
)

// catalogMetadata is the kpt function catalog's metadata.yaml.
type catalogMetadata struct {
	Image              string   `json:"image"`
	Description        string   `json:"description"`
	Tags               []string `json:"tags"`
	SourceURL          string   `json:"sourceURL"`
	ExamplePackageURLs []string `json:"examplePackageURLs"`
	Emails             []string `json:"emails"`
	License            string   `json:"license"`
}

const repoURL = "https://github.com/vllm-hpa/vllm-hpa/tree/main/"

// TestFunctionMetadata checks fn/metadata.yaml has every catalog field, names the
// image the examples run, and links to directories that exist.
func TestFunctionMetadata(t *testing.T) {
	var md catalogMetadata
	if err := sigsyaml.UnmarshalStrict(readFile(t, filepath.Join(root, "fn", "metadata.yaml")), &md); err != nil {
		t.Fatalf("fn/metadata.yaml: %v", err)
	}
	if md.Description == "" || len(md.Tags) == 0 || len(md.Emails) == 0 || md.License == "" || len(md.ExamplePackageURLs) == 0 {
		t.Errorf("fn/metadata.yaml lacks a catalog field: %+v", md)
	}
	if repo, _, _ := strings.Cut(image, ":"); md.Image != repo {
		t.Errorf("image %q, want %s (the examples run %s)", md.Image, repo, image)
	}
	for _, u := range append([]string{md.SourceURL}, md.ExamplePackageURLs...) {
		rel, ok := strings.CutPrefix(u, repoURL)
		if !ok {
			t.Errorf("%s is not under %s", u, repoURL)
			continue
		}
		if info, err := os.Stat(filepath.Join(root, rel)); err != nil || !info.IsDir() {
			t.Errorf("%s: %s is not a directory of the repository", u, rel)
		}
	}
}
