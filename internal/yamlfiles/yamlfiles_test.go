package yamlfiles_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/vllm-hpa/vllm-hpa/internal/yamlfiles"
)

// TestReplaceRemovesStaleFiles: a file whose objects left the source must leave
// the directory, or the objects stay on the cluster.
func TestReplaceRemovesStaleFiles(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, "namespaces", "default", "podmonitoring_old.yaml")
	notes := filepath.Join(dir, "README.md")
	for _, p := range []string{stale, notes} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string][]byte{"cluster/namespace_a.yaml": []byte("a\n")}
	if err := yamlfiles.Replace(dir, files); err != nil {
		t.Fatal(err)
	}
	got, err := yamlfiles.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || string(got["cluster/namespace_a.yaml"]) != "a\n" {
		t.Errorf("after Replace: %q", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "namespaces")); !os.IsNotExist(err) {
		t.Errorf("the emptied namespaces/ directory is still there (%v)", err)
	}
	if _, err := os.Stat(notes); err != nil {
		t.Errorf("a file that is not YAML was removed: %v", err)
	}
}

func TestReadMissingDirIsEmpty(t *testing.T) {
	got, err := yamlfiles.Read(filepath.Join(t.TempDir(), "absent"))
	if err != nil || len(got) != 0 {
		t.Fatalf("Read of a missing dir: %v, %v", got, err)
	}
}
