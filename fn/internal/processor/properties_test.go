package processor_test

import (
	"bytes"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kptdev/krm-functions-sdk/go/fn"
	"sigs.k8s.io/kustomize/kyaml/kio/kioutil"

	"github.com/vllm-hpa/vllm-hpa/fn/internal/inventory"
	"github.com/vllm-hpa/vllm-hpa/fn/internal/manifests"
)

// goldenOutputs runs every golden case that succeeds and calls f with its
// input and output.
func goldenOutputs(t *testing.T, f func(t *testing.T, in, out []byte)) {
	cases, _ := filepath.Glob(filepath.Join(goldenDir, "*", "input.yaml"))
	for _, input := range cases {
		t.Run(filepath.Base(filepath.Dir(input)), func(t *testing.T) {
			in := mustRead(t, input)
			out, _, code := run(in)
			if code != 0 {
				t.Skip("the case is an error case")
			}
			f(t, in, out)
		})
	}
}

// otherConfig is a config no golden case holds, as `kpt fn eval -- k=v` passes it.
func otherConfig(clusterResources bool) *fn.KubeObject {
	cm := fn.NewEmptyKubeObject()
	_ = cm.SetAPIVersion("v1")
	_ = cm.SetKind("ConfigMap")
	_ = cm.SetName("function-input")
	_ = cm.SetNestedStringMap(map[string]string{
		"name": "zz-other", "namespace": "elsewhere", "strategy": "vllm", "targetName": "vllm-zz-other",
		"podSelector": "app=vllm-zz-other", "scrapePort": "8000", "maxReplicas": "3",
		"clusterResources": fmt.Sprint(clusterResources),
	}, "data")
	return cm
}

// TestOtherConfigKeepsObjects runs the function for another config over the
// output of every case, as a second `kpt fn eval` with other values does: the
// configs of the case are not in that run, so every object of the output comes
// back byte for byte. Wanting the cluster-wide objects too, the other config
// either shares them, when they are exactly what it wants (its owner joins the
// annotation and nothing else changes), or stops with a conflict that suggests
// clusterResources: false, the items unchanged.
func TestOtherConfigKeepsObjects(t *testing.T) {
	for _, clusterResources := range []bool{false, true} {
		t.Run(fmt.Sprintf("clusterResources=%t", clusterResources), func(t *testing.T) {
			goldenOutputs(t, func(t *testing.T, _, out []byte) {
				rl := parse(t, out)
				var kept fn.KubeObjects
				for _, o := range rl.Items {
					if o.GetKind() != "VLLMHPAConfig" { // the case's configs are not in the run
						kept = append(kept, o)
					}
				}
				rl.Items, rl.FunctionConfig, rl.Results = kept, otherConfig(clusterResources), nil
				in2 := toYAML(t, rl)
				out2, stderr, code := run(in2)
				if code != 0 {
					if !clusterResources || !bytes.Contains(stderr, []byte("spec.clusterResources: false")) {
						t.Fatalf("the run for another config failed (%d), and not with a conflict that suggests clusterResources: false:\n%s", code, stderr)
					}
					if !bytes.Equal(withoutResults(t, out2), withoutResults(t, in2)) {
						t.Error("the items changed")
					}
					return
				}
				got := map[string][]string{}
				for _, o := range parse(t, out2).Items {
					got[objectKey(o)] = append(got[objectKey(o)], o.String())
				}
				for _, o := range kept {
					want := []string{o.String()}
					if clusterResources && isClusterWide(o) && o.GetAnnotation(inventory.OwnerAnnotation) != "" {
						// Shared when the other config wants it: it joins the owners,
						// nothing else changes.
						owners := append(inventory.ParseOwners(o.GetAnnotation(inventory.OwnerAnnotation)), otherKey)
						slices.Sort(owners)
						cp := o.Copy()
						_ = cp.SetAnnotation(inventory.OwnerAnnotation, strings.Join(slices.Compact(owners), ","))
						want = append(want, cp.String())
					}
					if !slices.ContainsFunc(got[objectKey(o)], func(g string) bool { return slices.Contains(want, g) }) {
						t.Errorf("%s changed:\n--- want\n%s\n--- after\n%s", objectKey(o), want[len(want)-1], strings.Join(got[objectKey(o)], "---\n"))
					}
				}
			})
		})
	}
}

// otherKey is the config otherConfig describes, as namespace/name.
const otherKey = "elsewhere/zz-other"

// TestForeignCopyConflicts adds a copy of each object a case generated, owned by
// a config that is not in the run or by nobody (and, for a cluster-scoped
// object, with a stray namespace), to the case's output and, where the object
// is new, to its input. The run must stop with a conflict that names the object
// and change nothing. The one exception is the input's cluster-wide object of
// another config that is exactly what the run wants: it is shared (its owners
// grow, nothing else changes), and the same copy with other content conflicts.
func TestForeignCopyConflicts(t *testing.T) {
	goldenOutputs(t, func(t *testing.T, in, out []byte) {
		keys := runConfigs(t, in)
		rlIn := parse(t, in)
		had := map[manifests.ID]bool{}
		for _, o := range rlIn.Items {
			had[idOf(o)] = true
		}
		rl := parse(t, out)
		rl.Results = nil
		for _, o := range rl.Items {
			id := idOf(o)
			owners := inventory.ParseOwners(o.GetAnnotation(inventory.OwnerAnnotation))
			if !slices.ContainsFunc(owners, func(k string) bool { return keys[k] && manifests.Generates(k, id) }) ||
				strings.EqualFold(o.GetAnnotation(inventory.ManagedAnnotation), "false") {
				continue // not generated by this run
			}
			for _, owner := range []string{"elsewhere/foreign", ""} {
				cp := foreignCopy(o, owner)
				with := func(base *fn.ResourceList, cp *fn.KubeObject) []byte {
					withCopy := *base
					withCopy.Items = append(slices.Clone(base.Items), cp.Copy())
					b, err := withCopy.ToYAML()
					if err != nil {
						t.Fatal(err)
					}
					return b
				}
				name := fmt.Sprintf("%s with a copy owned by %q", id, owner)
				conflicts(t, name+" beside it", with(rl, cp), id)
				if had[id] {
					continue
				}
				if owner == "" || !manifests.IsClusterWide(id) {
					conflicts(t, name+" in the input", with(rlIn, cp), id)
					continue
				}
				shares(t, name+" in the input", with(rlIn, cp), cp, owner)
				changed := cp.Copy()
				_ = changed.SetLabel("changed-by", "someone-else")
				conflicts(t, name+" and other content in the input", with(rlIn, changed), id)
			}
		}
	})
}

// shares runs the function over in, which must succeed and give back cp, an
// object of a config outside the run, with the run's configs among its owners
// and nothing else changed.
func shares(t *testing.T, name string, in []byte, cp *fn.KubeObject, owner string) {
	t.Helper()
	out, stderr, code := run(in)
	if code != 0 {
		t.Errorf("%s: exit %d, want the object shared:\n%s", name, code, stderr)
		return
	}
	id := idOf(cp)
	for _, o := range parse(t, out).Items {
		if idOf(o) != id {
			continue
		}
		owners := inventory.ParseOwners(o.GetAnnotation(inventory.OwnerAnnotation))
		if !slices.Contains(owners, owner) || len(owners) < 2 {
			t.Errorf("%s: owners %v, want %s and the run's configs", name, owners, owner)
		}
		want := cp.Copy()
		_ = want.SetAnnotation(inventory.OwnerAnnotation, o.GetAnnotation(inventory.OwnerAnnotation))
		if o.String() != want.String() {
			t.Errorf("%s: the shared object changed:\n--- want\n%s\n--- got\n%s", name, want.String(), o.String())
		}
		return
	}
	t.Errorf("%s: the object is gone", name)
}

// conflicts runs the function over in, which must stop with an error about id
// and give the items back as they came.
func conflicts(t *testing.T, name string, in []byte, id manifests.ID) {
	t.Helper()
	out, stderr, code := run(in)
	switch {
	case code != 1:
		t.Errorf("%s: exit %d, want 1", name, code)
	case !bytes.Contains(stderr, []byte("[error]")) || !bytes.Contains(stderr, []byte(id.String())):
		t.Errorf("%s: stderr names no conflict about it:\n%s", name, stderr)
	case !bytes.Equal(withoutResults(t, out), withoutResults(t, in)):
		t.Errorf("%s: the items changed", name)
	}
}

// foreignCopy returns a copy of o in another file, owned by owner, or by nobody
// and, when o is cluster-scoped, with a stray namespace.
func foreignCopy(o *fn.KubeObject, owner string) *fn.KubeObject {
	cp := o.Copy()
	if owner == "" {
		_ = cp.RemoveAnnotation(inventory.OwnerAnnotation)
		if cp.GetNamespace() == "" {
			_ = cp.SetNamespace("default")
		}
	} else {
		_ = cp.SetAnnotation(inventory.OwnerAnnotation, owner)
	}
	_ = cp.SetAnnotation(kioutil.PathAnnotation, "foreign/copy.yaml")
	_ = cp.SetAnnotation(kioutil.IndexAnnotation, "0")
	return cp
}

func idOf(o *fn.KubeObject) manifests.ID {
	return manifests.NewID(o.GetAPIVersion(), o.GetKind(), o.GetNamespace(), o.GetName())
}

// runConfigs returns the configs of a case's run, as namespace/name: its
// VLLMHPAConfig items and functionConfig.
func runConfigs(t *testing.T, in []byte) map[string]bool {
	t.Helper()
	rl := parse(t, in)
	keys := map[string]bool{}
	add := func(ns, name string) {
		if ns == "" {
			ns = "default"
		}
		keys[ns+"/"+name] = true
	}
	for _, o := range rl.Items {
		if o.GetKind() == "VLLMHPAConfig" {
			add(o.GetNamespace(), o.GetName())
		}
	}
	if fc := rl.FunctionConfig; fc != nil {
		switch fc.GetKind() {
		case "VLLMHPAConfig":
			add(fc.GetNamespace(), fc.GetName())
		case "ConfigMap":
			ns, _, _ := fc.NestedString("data", "namespace")
			name, _, _ := fc.NestedString("data", "name")
			add(ns, name)
		}
	}
	return keys
}

func isClusterWide(o *fn.KubeObject) bool { return manifests.IsClusterWide(idOf(o)) }

// TestStrategySwitchBackIsAFreshRender switches a config from vllm to gpu and
// back, feeding each output to the next run as it is and as kpt writes and
// reads it again (files in index order, indexes renumbered from 0): the last
// output must equal a first render, objects, order and indexes alike.
func TestStrategySwitchBackIsAFreshRender(t *testing.T) {
	in := mustRead(t, filepath.Join(goldenDir, "vllm-defaults", "input.yaml"))
	rl := parse(t, in)
	for _, o := range rl.Items {
		if o.GetKind() == "Deployment" { // the gpu strategy needs a GPU request
			c, _, _ := o.NestedSlice("spec", "template", "spec", "containers")
			if err := c[0].SetNestedStringMap(map[string]string{"nvidia.com/gpu": "1"}, "resources", "limits"); err != nil {
				t.Fatal(err)
			}
		}
	}
	fresh, stderr, code := run(toYAML(t, rl))
	if code != 0 {
		t.Fatalf("first render failed: %s", stderr)
	}
	for _, kpt := range []bool{false, true} {
		t.Run(fmt.Sprintf("kpt=%t", kpt), func(t *testing.T) {
			out := fresh
			for _, strategy := range []string{"gpu", "vllm"} {
				next := parse(t, out)
				next.Results = nil
				for _, o := range next.Items {
					if o.GetKind() == "VLLMHPAConfig" {
						if err := o.SetNestedString(strategy, "spec", "strategy"); err != nil {
							t.Fatal(err)
						}
					}
				}
				if kpt {
					writeAndReadAgain(next.Items)
				}
				if out, stderr, code = run(toYAML(t, next)); code != 0 {
					t.Fatalf("switch to %s failed: %s", strategy, stderr)
				}
			}
			if a, b := withoutResults(t, out), withoutResults(t, fresh); !bytes.Equal(a, b) {
				t.Errorf("vllm -> gpu -> vllm differs from a first render:\n--- switched\n%s\n--- first render\n%s", a, b)
			}
		})
	}
}

// writeAndReadAgain does to items what kpt does when it writes a package and
// reads it back: each file holds its objects in index order, and reading
// numbers them from 0.
func writeAndReadAgain(items fn.KubeObjects) {
	files := map[string]fn.KubeObjects{}
	for _, o := range items {
		if p := o.PathAnnotation(); p != "" {
			files[p] = append(files[p], o)
		}
	}
	for _, objs := range files {
		slices.SortStableFunc(objs, func(a, b *fn.KubeObject) int { return a.IndexAnnotation() - b.IndexAnnotation() })
		for i, o := range objs {
			_ = o.SetAnnotation(kioutil.IndexAnnotation, fmt.Sprint(i))
		}
	}
}

func toYAML(t *testing.T, rl *fn.ResourceList) []byte {
	t.Helper()
	b, err := rl.ToYAML()
	if err != nil {
		t.Fatal(err)
	}
	return b
}
