package integration_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	sigsyaml "sigs.k8s.io/yaml"
)

// catalogMetadata is the kpt function catalog's metadata.yaml, every field its
// schema allows (kptdev/krm-functions-catalog,
// scripts/generate_docs/metadata-schema.json: additionalProperties false, so a
// field outside these, such as emails, is refused there and here).
type catalogMetadata struct {
	Image              string   `json:"image"`
	Description        string   `json:"description"`
	Tags               []string `json:"tags"`
	SourceURL          string   `json:"sourceURL"`
	ExamplePackageURLs []string `json:"examplePackageURLs"`
	License            string   `json:"license"`
	Hidden             bool     `json:"hidden"`
}

// catalogTags are the tags the catalog's metadata schema accepts (the same file).
var catalogTags = []string{"mutator", "validator", "viewer", "generator", "test", "testing", "timing", "Config Sync", "GCP", "blueprints", "name prefix", "name suffix"}

const repoURL = "https://github.com/vllm-hpa/vllm-hpa/tree/main/"

// TestFunctionMetadata checks fn/metadata.yaml against the catalog's schema (its
// fields only, the required ones set, known tags), that it names the image the
// examples run and the license of LICENSE, and that it links to directories that
// exist.
func TestFunctionMetadata(t *testing.T) {
	var md catalogMetadata
	if err := sigsyaml.UnmarshalStrict(readFile(t, filepath.Join(root, "fn", "metadata.yaml")), &md); err != nil {
		t.Fatalf("fn/metadata.yaml: %v", err)
	}
	if md.Description == "" || len(md.Tags) == 0 || len(md.ExamplePackageURLs) == 0 {
		t.Errorf("fn/metadata.yaml lacks a catalog field: %+v", md)
	}
	for _, tag := range md.Tags {
		if !slices.Contains(catalogTags, tag) {
			t.Errorf("tag %q is not one the catalog accepts: %s", tag, strings.Join(catalogTags, ", "))
		}
	}
	if license := string(readFile(t, filepath.Join(root, "LICENSE"))); md.License != "Apache-2.0" || !strings.Contains(license, "Apache License") || !strings.Contains(license, "Version 2.0") {
		t.Errorf("license %q does not name the Apache License 2.0 of LICENSE", md.License)
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

// TestReleaseTagEverywhere: every file that names the function's image, or links
// to a release's schema, names the release in VERSION, which the Makefile tags
// the image with and apigen writes into the KRMFunctionDefinition.
func TestReleaseTagEverywhere(t *testing.T) {
	tag := strings.TrimPrefix(image, imageRepository+":")
	mention := regexp.MustCompile(regexp.QuoteMeta(imageRepository) + `:([^\s"'` + "`" + `)\]]+)|raw\.githubusercontent\.com/vllm-hpa/vllm-hpa/([^/\s]+)/`)
	found := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			if rel == ".git" || rel == "bin" {
				return filepath.SkipDir
			}
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range mention.FindAllStringSubmatch(string(b), -1) {
			found++
			if got := m[1] + m[2]; got != tag {
				t.Errorf("%s names release %s in %q; VERSION says %s", rel, got, m[0], tag)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found < 5 {
		t.Errorf("found the release named %d times; the examples, docs and KRMFunctionDefinition name it more often", found)
	}
}
