package gen_test

import (
	"bytes"
	"testing"

	"github.com/kptdev/krm-functions-sdk/go/fn"

	"github.com/vllm-hpa/vllm-hpa/bench/gen"
)

func TestResourceListIsDeterministic(t *testing.T) {
	p := gen.Package{Items: 50, FunctionConfig: gen.GPU, ItemConfigs: []gen.Strategy{gen.VLLM}}
	if !bytes.Equal(p.ResourceList(), p.ResourceList()) {
		t.Fatal("two calls wrote different bytes")
	}
}

// TestPackagesAreWhatTheySay parses each kind of package and checks its items,
// its configs and the workloads they scale.
func TestPackagesAreWhatTheySay(t *testing.T) {
	for _, tc := range []struct {
		name    string
		pkg     gen.Package
		items   int
		configs int
	}{
		{"generator", gen.Generator(), 0, 1},
		{"one item", gen.PassThrough(1), 1, 1},
		{"pass-through", gen.PassThrough(100), 100, 1},
		{"kpt", gen.Package{Items: 20, ItemConfigs: []gen.Strategy{gen.VLLM, gen.GPU}}, 22, 2},
		{"many configs", gen.ManyConfigs(40), 40, 40},
		{"configs in a large package", gen.ConfigsInLargePackage(6, 30), 36, 6},
		{"empty items", gen.Empty(50), 50, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rl, err := fn.ParseResourceList(tc.pkg.ResourceList())
			if err != nil {
				t.Fatalf("not a ResourceList: %v", err)
			}
			if len(rl.Items) != tc.items {
				t.Errorf("%d items, want %d", len(rl.Items), tc.items)
			}
			kinds := map[string]int{}
			configs := 0
			targets := map[string]bool{}
			for _, o := range append(fn.KubeObjects{rl.FunctionConfig}, rl.Items...) {
				kinds[o.GetKind()]++
				if o.GetKind() == "VLLMHPAConfig" {
					configs++
					name, _, _ := o.NestedString("spec", "scaleTargetRef", "name")
					targets[o.GetNamespace()+"/"+name] = true
				}
			}
			if configs != tc.configs {
				t.Errorf("%d configs, want %d", configs, tc.configs)
			}
			if tc.pkg.Items >= 5+tc.configs {
				for _, k := range []string{"Deployment", "Service", "ConfigMap", "RedisCluster"} {
					if kinds[k] == 0 {
						t.Errorf("no %s among %v", k, kinds)
					}
				}
			}
			if tc.pkg.MissingTargets || tc.pkg.FlatConfigs > 0 {
				for _, o := range rl.Items {
					if o.GetKind() == "Deployment" && targets[o.GetNamespace()+"/"+o.GetName()] {
						t.Errorf("the package holds %s/%s, which it should lack", o.GetNamespace(), o.GetName())
					}
				}
			} else if tc.pkg.Items >= tc.configs {
				for _, o := range rl.Items {
					if o.GetKind() == "Deployment" {
						delete(targets, o.GetNamespace()+"/"+o.GetName())
					}
				}
				if len(targets) > 0 {
					t.Errorf("configs scale Deployments the package lacks: %v", targets)
				}
			}
		})
	}
}
