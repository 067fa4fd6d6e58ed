package integration_test

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/vllm-hpa/vllm-hpa/internal/wetdir"
	"github.com/vllm-hpa/vllm-hpa/internal/yamlfiles"
)

const (
	drySource = "examples/config-sync/dry"
	wetDir    = "examples/config-sync/wet"
)

// TestConfigSyncWetIsCurrent renders the DRY source as `make hydrate` does and
// compares the result with the checked-in wet directory, file by file.
func TestConfigSyncWetIsCurrent(t *testing.T) {
	objects := parse(t, mustBuild(t, filepath.Join(work, drySource)))
	want, err := wetdir.Files(objects, wetdir.Header(drySource))
	if err != nil {
		t.Fatal(err)
	}
	got, err := yamlfiles.Read(filepath.Join(root, wetDir))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range slices.Sorted(maps.Keys(want)) {
		switch g, ok := got[p]; {
		case !ok:
			t.Errorf("%s/%s is missing; run make hydrate", wetDir, p)
		case string(g) != string(want[p]):
			t.Errorf("%s/%s is out of date; run make hydrate:\n%s", wetDir, p, lineDiff(string(want[p]), string(g)))
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			t.Errorf("%s/%s is stale: the source no longer renders it; run make hydrate", wetDir, p)
		}
	}
}

// TestConfigSyncWetObeysRules reads the wet directory as Config Sync would and
// checks every object against its rules: no status, explicit namespaces exactly
// on namespaced objects, no Config Sync keys, no local-config objects, no
// duplicates, no kustomization file, one object per file.
func TestConfigSyncWetObeysRules(t *testing.T) {
	dir := filepath.Join(root, wetDir)
	files, err := yamlfiles.Read(dir)
	if err != nil || len(files) == 0 {
		t.Fatalf("no YAML in %s (%v); run make hydrate", wetDir, err)
	}
	var all []*yaml.RNode
	for p, b := range files {
		objs := parse(t, b)
		if len(objs) != 1 {
			t.Errorf("%s holds %d objects, want one", p, len(objs))
		}
		all = append(all, objs...)
	}
	for _, err := range append(wetdir.Check(all), wetdir.CheckDir(dir)...) {
		t.Error(err)
	}
	// The function's whole output is there, not just the workload.
	for _, kind := range []string{"HorizontalPodAutoscaler", "PodMonitoring", "APIService", "Deployment"} {
		if len(ofKind(all, kind)) == 0 {
			t.Errorf("the wet directory has no %s", kind)
		}
	}
}

// TestRootSyncPointsAtWet checks the RootSync syncs the wet directory as
// unstructured YAML, and lives outside it (it is applied once, by hand).
func TestRootSyncPointsAtWet(t *testing.T) {
	rs := readConfig(t, filepath.Join(root, "examples", "config-sync", "rootsync.yaml"))
	if rs.GetApiVersion() != "configsync.gke.io/v1beta1" || rs.GetKind() != "RootSync" {
		t.Errorf("rootsync.yaml is a %s %s, want configsync.gke.io/v1beta1 RootSync", rs.GetApiVersion(), rs.GetKind())
	}
	if ns := rs.GetNamespace(); ns != "config-management-system" {
		t.Errorf("the RootSync is in %q; Config Sync only reads RootSyncs in config-management-system", ns)
	}
	if got := field(t, rs, "spec", "sourceFormat"); got != "unstructured" {
		t.Errorf("spec.sourceFormat %q, want unstructured (the wet directory is not in the hierarchical layout)", got)
	}
	dir := field(t, rs, "spec", "git", "dir")
	if dir != wetDir {
		t.Errorf("spec.git.dir %q, want %s", dir, wetDir)
	}
	if info, err := os.Stat(filepath.Join(root, dir)); err != nil || !info.IsDir() {
		t.Errorf("spec.git.dir %s is not a directory of the repository (%v)", dir, err)
	}
}
