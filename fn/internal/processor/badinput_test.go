package processor

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/kptdev/krm-functions-sdk/go/fn"
)

// goodConfig is a valid input; each bad input changes one thing in it.
const goodConfig = `apiVersion: config.kubernetes.io/v1
kind: ResourceList
items:
- apiVersion: apps/v1
  kind: ConfigMap
  metadata: {name: user-item, namespace: default}
  data: {key: value}
- apiVersion: vllmhpa.dev/v1alpha1
  kind: VLLMHPAConfig
  metadata:
    name: gemma
    namespace: default
  spec:
    strategy: vllm
    scaleTargetRef: {name: vllm-gemma}
    podSelector: {app: vllm-gemma}
    scrape: {port: 8000}
    minReplicas: 1
    maxReplicas: 4
    metric: {targetAverageValue: "4"}
`

// configWith returns goodConfig with old replaced by new, once.
func configWith(old, new string) string {
	if !strings.Contains(goodConfig, old) {
		panic(fmt.Sprintf("%q is not in goodConfig", old))
	}
	return strings.Replace(goodConfig, old, new, 1)
}

// userItemWith returns goodConfig with the user's ConfigMap's data replaced by data.
func userItemWith(data string) string {
	return configWith("  data: {key: value}\n", data)
}

// billionLaughs is the classic alias bomb: ten levels of nine aliases each, 10^9
// strings once expanded, a few hundred bytes as written.
func billionLaughs(indent string) string {
	var b strings.Builder
	b.WriteString(indent + "l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&b, "%sl%d: &l%d [*l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d]\n", indent, i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	return b.String()
}

// badInputs are malformed and hostile inputs with what each must produce: an
// error naming what is wrong (wantErr, found in stderr), or, where the input is
// legal, a documented acceptance (accepted, a reason; the run must succeed).
var badInputs = []struct {
	name     string
	input    func() string
	wantErr  string
	accepted string
}{
	// Wrong types and bad numbers.
	{name: "maxReplicas is a word", input: func() string { return configWith("maxReplicas: 4", "maxReplicas: five") }, wantErr: "spec.maxReplicas"},
	{name: "maxReplicas beyond int32", input: func() string { return configWith("maxReplicas: 4", "maxReplicas: 99999999999") }, wantErr: "spec.maxReplicas"},
	{name: "maxReplicas is 1e100", input: func() string { return configWith("maxReplicas: 4", "maxReplicas: 1e100") }, wantErr: "spec.maxReplicas"},
	{name: "maxReplicas is negative", input: func() string { return configWith("maxReplicas: 4", "maxReplicas: -3") }, wantErr: "spec.maxReplicas"},
	{name: "maxReplicas is a fraction", input: func() string { return configWith("maxReplicas: 4", "maxReplicas: 2.5") }, wantErr: "spec.maxReplicas"},
	{name: "minReplicas is negative", input: func() string { return configWith("minReplicas: 1", "minReplicas: -1") }, wantErr: "spec.minReplicas"},
	{name: "minReplicas is zero", input: func() string { return configWith("minReplicas: 1", "minReplicas: 0") }, wantErr: "spec.minReplicas"},
	{name: "target is negative", input: func() string { return configWith(`targetAverageValue: "4"`, `targetAverageValue: "-1"`) }, wantErr: "spec.metric.targetAverageValue"},
	{name: "target is an empty string", input: func() string { return configWith(`targetAverageValue: "4"`, `targetAverageValue: ""`) }, wantErr: "spec.metric.targetAverageValue"},
	{name: "target is 1e1000", input: func() string { return configWith(`targetAverageValue: "4"`, `targetAverageValue: "1e1000"`) }, wantErr: `Invalid value: "1e1000": is above 1e9`},
	{name: "target is a list", input: func() string { return configWith(`targetAverageValue: "4"`, `targetAverageValue: [4]`) }, wantErr: "spec.metric.targetAverageValue: Invalid value: must be a number or a string"},
	{name: "scrape port out of range", input: func() string { return configWith("port: 8000", "port: 70000") }, wantErr: "spec.scrape.port"},
	{name: "scrape port negative", input: func() string { return configWith("port: 8000", "port: -1") }, wantErr: "spec.scrape.port"},
	{name: "strategy is a number", input: func() string { return configWith("strategy: vllm", "strategy: 42") }, wantErr: "spec.strategy"},
	{name: "strategy is empty", input: func() string { return configWith("strategy: vllm", `strategy: ""`) }, wantErr: "spec.strategy"},
	{name: "spec is null", input: func() string {
		return strings.Split(goodConfig, "  spec:\n")[0] + "  spec: null\n"
	}, wantErr: "spec: Required value"},
	{name: "spec is a list", input: func() string { return strings.Split(goodConfig, "  spec:\n")[0] + "  spec: [vllm]\n" }, wantErr: "spec"},
	{name: "hardening is a word", input: func() string {
		return configWith("maxReplicas: 4", "maxReplicas: 4\n    adapter: {hardening: yes please}")
	}, wantErr: "spec.adapter.hardening"},

	// Empty strings, unicode and very long names.
	{name: "name is empty", input: func() string { return configWith("name: gemma", `name: ""`) }, wantErr: "metadata.name"},
	{name: "name in Cyrillic", input: func() string { return configWith("name: gemma", "name: модель") }, wantErr: "metadata.name"},
	{name: "name with an emoji", input: func() string { return configWith("name: gemma", "name: gemma-🚀") }, wantErr: "metadata.name"},
	{name: "name of 300 characters", input: func() string { return configWith("name: gemma", "name: "+strings.Repeat("a", 300)) }, wantErr: "metadata.name"},
	{name: "namespace in Greek", input: func() string {
		return configWith("namespace: default\n  spec", "namespace: προεπιλογή\n  spec")
	}, wantErr: "metadata.namespace"},
	{name: "target name of 300 characters", input: func() string { return configWith("name: vllm-gemma}", "name: "+strings.Repeat("b", 300)+"}") }, wantErr: "spec.scaleTargetRef.name"},
	{name: "target name is empty", input: func() string { return configWith("name: vllm-gemma}", `name: ""}`) }, wantErr: "spec.scaleTargetRef.name"},
	{name: "label key in Chinese", input: func() string {
		return configWith("podSelector: {app: vllm-gemma}", "podSelector: {应用: vllm-gemma}")
	}, wantErr: "spec.podSelector"},
	{name: "label value of 100 characters", input: func() string {
		return configWith("podSelector: {app: vllm-gemma}", "podSelector: {app: "+strings.Repeat("c", 100)+"}")
	}, wantErr: "spec.podSelector"},
	{name: "metric name with a space", input: func() string {
		return configWith(`metric: {targetAverageValue: "4"}`, `metric: {name: "vllm requests", targetAverageValue: "4"}`)
	}, wantErr: "spec.metric.name"},
	{name: "adapter image is latest", input: func() string {
		return configWith("maxReplicas: 4", "maxReplicas: 4\n    adapter: {image: gcr.io/gke-release/custom-metrics-stackdriver-adapter:latest}")
	}, wantErr: "spec.adapter.image"},
	{name: "adapter image has no tag", input: func() string {
		return configWith("maxReplicas: 4", "maxReplicas: 4\n    adapter: {image: gcr.io/gke-release/custom-metrics-stackdriver-adapter}")
	}, wantErr: "spec.adapter.image"},
	{name: "unicode in a user item", input: func() string { return userItemWith("  data: {ключ: значение, emoji: 🚀}\n") },
		accepted: "items the function does not own pass through as written, whatever their text"},

	// Values YAML reads but no field holds; each error names the field.
	{name: "target is NaN", input: func() string { return configWith(`targetAverageValue: "4"`, `targetAverageValue: .NaN`) }, wantErr: `spec.metric.targetAverageValue: Invalid value: ".NaN": is not a finite number`},
	{name: "target is -Inf", input: func() string { return configWith(`targetAverageValue: "4"`, `targetAverageValue: -.inf`) }, wantErr: `spec.metric.targetAverageValue: Invalid value: "-.inf": is not a finite number`},
	{name: "target is a boolean", input: func() string { return configWith(`targetAverageValue: "4"`, `targetAverageValue: true`) }, wantErr: `spec.metric.targetAverageValue: Invalid value: "true": has the wrong type: got a bool`},
	{name: "target is a mapping", input: func() string { return configWith(`targetAverageValue: "4"`, `targetAverageValue: {a: 1}`) }, wantErr: "spec.metric.targetAverageValue"},
	{name: "tolerance is NaN", input: func() string {
		return configWith("maxReplicas: 4", "maxReplicas: 4\n    behavior: {scaleDown: {tolerance: .nan}}")
	}, wantErr: `spec.behavior.scaleDown.tolerance: Invalid value: ".nan": is not a finite number`},
	{name: "tolerance is a word", input: func() string {
		return configWith("maxReplicas: 4", "maxReplicas: 4\n    behavior: {scaleDown: {tolerance: lots}}")
	}, wantErr: "spec.behavior.scaleDown.tolerance"},
	{name: "minReplicas is +Inf", input: func() string { return configWith("minReplicas: 1", "minReplicas: .inf") }, wantErr: `spec.minReplicas: Invalid value: ".inf": is not a finite number`},
	{name: "a key set twice in a nested mapping", input: func() string {
		return configWith("scrape: {port: 8000}", "scrape: {port: 8000, port: 8001}")
	}, wantErr: "spec.scrape.port: Duplicate value: set twice"},
	{name: "a key that is a list", input: func() string { return configWith("maxReplicas: 4", "maxReplicas: 4\n    ? [a]\n    : b") }, wantErr: "spec: Invalid value: has a key that is a mapping or a list"},

	// Duplicate keys.
	{name: "duplicate key in the config", input: func() string { return configWith("maxReplicas: 4", "maxReplicas: 4\n    maxReplicas: 40") }, wantErr: "maxReplicas"},
	{name: "duplicate key in a user item", input: func() string { return userItemWith("  data:\n    key: one\n    key: two\n") },
		accepted: "the function does not read user items' data, so it passes them through as written; the API server is the one to refuse them"},

	// Not a ResourceList.
	{name: "empty input", input: func() string { return "" }, wantErr: "not a KRM ResourceList"},
	{name: "binary garbage", input: func() string { return "\x00\x01\x02\xff\xfe" + strings.Repeat("\x00", 100) }, wantErr: "not a KRM ResourceList"},
	{name: "a Deployment, not a ResourceList", input: func() string { return "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n" }, wantErr: "not a KRM ResourceList"},
	{name: "items is a mapping", input: func() string { return "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: {a: b}\n" }, wantErr: "items is not a list"},
	{name: "items holds a string", input: func() string { return "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: [hello]\n" }, wantErr: "items[0] is a scalar"},
	{name: "items is null", input: func() string { return "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n" }, wantErr: "items is empty (null), not a list"},
	{name: "an item is a list", input: func() string { return goodConfig + "- [a, b]\n" }, wantErr: "items[2] is a list, not an object"},
	{name: "functionConfig is a number", input: func() string {
		return "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\nfunctionConfig: 42\n"
	}, wantErr: "functionConfig is a scalar"},
	{name: "an undefined alias", input: func() string { return "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: [*nowhere]\n" }, wantErr: "not a KRM ResourceList"},
	{name: "tabs for indentation", input: func() string { return strings.ReplaceAll(goodConfig, "  spec:\n    ", "  spec:\n\t") }, wantErr: "not a KRM ResourceList"},

	// Size, depth and aliases.
	{name: "a 50 MB input", input: func() string {
		return goodConfig + "# " + strings.Repeat("padding ", 50<<20/8) + "\n"
	}, wantErr: "larger than 32 MiB"},
	{name: "nesting 20000 deep", input: func() string {
		return goodConfig + "- " + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + "\n"
	}, wantErr: "exceeded max depth"},
	{name: "nesting 5000 deep in a user item", input: func() string {
		return userItemWith("  data: {key: value}\n  nested: " + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + "\n")
	}, accepted: "the YAML parser allows 10000 levels; a user item that deep passes through unread"},
	{name: "billion laughs in a user item", input: func() string { return userItemWith("  data: {key: value}\n  laughs:\n" + billionLaughs("    ")) },
		wantErr: "aliases expand it to more than 32 MiB"},
	{name: "billion laughs in the config", input: func() string {
		return configWith("maxReplicas: 4", "maxReplicas: 4\n    behavior:\n"+billionLaughs("      "))
	}, wantErr: "aliases expand it to more than 32 MiB"},
	{name: "billion laughs in a ConfigMap functionConfig", input: func() string {
		return "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\nfunctionConfig:\n  apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: fc}\n  data:\n" + billionLaughs("    ")
	}, wantErr: "aliases expand it to more than 32 MiB"},
	{name: "a 1 MiB string aliased 300 times in the config", input: func() string {
		return configWith("maxReplicas: 4", "maxReplicas: 4\n    behavior:\n      big: &s "+strings.Repeat("x", 1<<20)+"\n      many: ["+strings.Repeat("*s, ", 299)+"*s]")
	}, wantErr: "aliases expand it to more than 32 MiB"},
	{name: "a 1 MiB string aliased 300 times in the target workload", input: func() string {
		return configWith("- apiVersion: vllmhpa.dev", "- apiVersion: apps/v1\n  kind: Deployment\n  metadata: {name: vllm-gemma, namespace: default}\n"+
			"  spec:\n    selector: {matchLabels: {app: vllm-gemma}}\n    template:\n      metadata:\n        labels: {app: vllm-gemma}\n"+
			"        annotations: {big: &s "+strings.Repeat("x", 1<<20)+"}\n      spec:\n        containers:\n        - name: vllm\n          image: vllm/vllm-openai:v0.11.0\n"+
			"          args: ["+strings.Repeat("*s, ", 299)+"*s]\n- apiVersion: vllmhpa.dev")
	}, wantErr: "aliases expand it to more than 32 MiB"},
	{name: "a self-referencing config", input: func() string {
		return "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- &cfg {apiVersion: vllmhpa.dev/v1alpha1, kind: VLLMHPAConfig, metadata: {name: x}, spec: *cfg}\n"
	}, wantErr: "an alias refers to the value that contains it"},
	{name: "the ResourceList's kind as an alias", input: func() string { return "x: &k ResourceList\nkind: *k\nitems: []\n" },
		wantErr: "the ResourceList's kind is a YAML alias"},
	{name: "an item's namespace as an alias", input: func() string {
		return userItemWith("  data: {key: &ns default}\n  extra: {namespace: *ns}\n") + "- {apiVersion: v1, kind: ConfigMap, metadata: {name: &n x, namespace: *n}}\n"
	},
		wantErr: "its namespace is a YAML alias"},
	{name: "the target's selector as an alias of its pod labels", input: func() string {
		return configWith("- apiVersion: vllmhpa.dev", "- apiVersion: apps/v1\n  kind: Deployment\n  metadata: {name: vllm-gemma, namespace: default}\n"+
			"  spec:\n    template:\n      metadata:\n        labels: &pods {app: vllm-gemma}\n      spec:\n        containers:\n        - {name: vllm, image: vllm/vllm-openai:v0.11.0}\n"+
			"    selector:\n      matchLabels: *pods\n- apiVersion: vllmhpa.dev")
	}, accepted: "the function reads the workload with its aliases expanded and writes it back with its anchors and aliases as written"},
	{name: "anchors shared by a user item", input: func() string {
		return userItemWith("  data: &shared {key: value}\n  copy: *shared\n  labels: {a: &v one, b: *v}\n")
	}, accepted: "anchors that share a few values are valid YAML; the item passes through with its anchors and aliases as written"},
}

// TestBadInputs runs each bad input through the function (without Main's
// recover, so a panic fails the test) and checks for a clear error or a
// documented acceptance, within a generous time and memory bound.
func TestBadInputs(t *testing.T) {
	if len(badInputs) < 30 {
		t.Fatalf("%d bad inputs; keep at least 30", len(badInputs))
	}
	for _, tc := range badInputs {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.input()
			var stdout, stderr bytes.Buffer
			var code int
			allocated := allocatedDuring(t, func() { code = run(strings.NewReader(in), &stdout, &stderr) })
			switch {
			case tc.accepted != "":
				if code != 0 {
					t.Fatalf("refused, but documented as accepted (%s):\n%s", tc.accepted, stderr.String())
				}
				if _, err := fn.ParseResourceList(stdout.Bytes()); err != nil {
					t.Fatalf("accepted, but the output is not a ResourceList: %v", err)
				}
			case code != 1:
				t.Fatalf("exit %d, want 1 with an error saying %q (stderr: %s)", code, tc.wantErr, stderr.String())
			case !strings.Contains(stderr.String(), tc.wantErr):
				t.Fatalf("stderr does not say %q:\n%s", tc.wantErr, stderr.String())
			}
			t.Logf("exit %d: %.300s", code, stderr.String())
			// Generous: the input itself, read and parsed a few times over, plus 256 MiB.
			if limit := uint64(8*len(in)) + 256<<20; allocated > limit {
				t.Errorf("allocated %d MiB, more than %d MiB", allocated>>20, limit>>20)
			}
		})
	}
}

// allocatedDuring returns the bytes f allocated. A run that does not return
// within a generous bound fails the test as a hang.
func allocatedDuring(t *testing.T, f func()) uint64 {
	t.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("the function did not finish within 2 minutes")
	}
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}
