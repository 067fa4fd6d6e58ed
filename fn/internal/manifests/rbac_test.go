package manifests_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/vllm-hpa/vllm-hpa/fn/api/v1alpha1"
	"github.com/vllm-hpa/vllm-hpa/fn/internal/manifests"
)

// update rewrites testdata/rbac.golden:
// go test ./fn/internal/manifests -run TestRBACGrants -update
var update = flag.Bool("update", false, "rewrite testdata/rbac.golden from the current output")

const rbacGolden = "testdata/rbac.golden"

// TestRBACGrants lists every permission the generated objects grant, for configs
// of both strategies, and compares the list with testdata/rbac.golden, so that a
// widened permission is a visible diff in review.
func TestRBACGrants(t *testing.T) {
	var configs []*v1alpha1.VLLMHPAConfig
	for _, strategy := range []v1alpha1.Strategy{v1alpha1.StrategyVLLM, v1alpha1.StrategyGPU} {
		c := &v1alpha1.VLLMHPAConfig{Spec: v1alpha1.VLLMHPAConfigSpec{
			Strategy:       strategy,
			ScaleTargetRef: v1alpha1.ScaleTargetRef{Name: "vllm-" + string(strategy)},
			PodSelector:    map[string]string{"app": "vllm-" + string(strategy)},
			MaxReplicas:    3,
		}}
		c.Name = string(strategy)
		c.Default()
		configs = append(configs, c)
	}
	got := []byte(grants(manifests.Build(configs)))
	if *update {
		if err := os.MkdirAll(filepath.Dir(rbacGolden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(rbacGolden, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(rbacGolden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("the generated RBAC differs from %s; review what it grants, then accept it with -update:\n--- got\n%s\n--- want\n%s", rbacGolden, got, want)
	}
}

// grants writes one line per role rule and one per binding subject, sorted.
func grants(objs []manifests.Object) string {
	roles := map[string]bool{}
	var rules, bindings []string
	for _, o := range objs {
		switch v := o.Value.(type) {
		case *rbacv1.ClusterRole:
			roles["ClusterRole "+v.Name] = true
			rules = append(rules, ruleLines("ClusterRole "+v.Name, v.Rules)...)
			if v.AggregationRule != nil {
				rules = append(rules, fmt.Sprintf("ClusterRole %s: aggregates %v", v.Name, v.AggregationRule.ClusterRoleSelectors))
			}
		case *rbacv1.Role:
			roles["Role "+v.Namespace+"/"+v.Name] = true
			rules = append(rules, ruleLines("Role "+v.Namespace+"/"+v.Name, v.Rules)...)
		case *rbacv1.ClusterRoleBinding:
			bindings = append(bindings, bindingLines("ClusterRoleBinding "+v.Name, "", v.RoleRef, v.Subjects)...)
		case *rbacv1.RoleBinding:
			bindings = append(bindings, bindingLines("RoleBinding "+v.Namespace+"/"+v.Name, v.Namespace, v.RoleRef, v.Subjects)...)
		}
	}
	// A role the output does not define is one Kubernetes ships: its rules are
	// not ours to list, but binding to it is.
	for i, b := range bindings {
		if ref := strings.SplitN(b, " -> ", 3)[1]; !roles[ref] {
			bindings[i] = strings.Replace(b, ref, ref+" (built in)", 1)
		}
	}
	slices.Sort(rules)
	slices.Sort(bindings)
	var out strings.Builder
	out.WriteString("# Every permission the generated objects grant. Review a change here, then\n")
	out.WriteString("# accept it with: go test ./fn/internal/manifests -run TestRBACGrants -update\n")
	for _, l := range append(rules, bindings...) {
		out.WriteString(l + "\n")
	}
	return out.String()
}

func ruleLines(role string, rules []rbacv1.PolicyRule) []string {
	var out []string
	for _, r := range rules {
		line := fmt.Sprintf("%s: apiGroups %q resources %q verbs %q", role, r.APIGroups, r.Resources, r.Verbs)
		if len(r.ResourceNames) > 0 {
			line += fmt.Sprintf(" resourceNames %q", r.ResourceNames)
		}
		if len(r.NonResourceURLs) > 0 {
			line += fmt.Sprintf(" nonResourceURLs %q", r.NonResourceURLs)
		}
		out = append(out, line)
	}
	return out
}

// bindingLines writes "BINDING -> ROLE -> SUBJECT" for each subject.
func bindingLines(binding, namespace string, ref rbacv1.RoleRef, subjects []rbacv1.Subject) []string {
	role := ref.Kind + " " + ref.Name
	if ref.Kind == "Role" {
		role = "Role " + namespace + "/" + ref.Name
	}
	var out []string
	for _, s := range subjects {
		subject := s.Kind + " " + s.Name
		if s.Namespace != "" {
			subject = s.Kind + " " + s.Namespace + "/" + s.Name
		}
		out = append(out, binding+" -> "+role+" -> "+subject)
	}
	return out
}
