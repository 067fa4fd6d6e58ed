package processor_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/kptdev/krm-functions-sdk/go/fn"

	"github.com/vllm-hpa/vllm-hpa/fn/internal/reconcile"
)

// bigPackage writes a kpt package of about 6*n objects as a ResourceList, the
// same bytes every time: a Kptfile, the vLLM workload and its config, and n of
// each of ConfigMaps with block strings, Deployments whose labels are anchors,
// custom resources of kinds the function does not know, their
// CustomResourceDefinitions, Secrets and cluster-scoped Namespaces. Comments
// sit on items and fields, and keys come in unusual orders.
func bigPackage(n int) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w(`# A large package, rendered by kpt.
apiVersion: config.kubernetes.io/v1
kind: ResourceList
functionConfig:
  apiVersion: vllmhpa.dev/v1alpha1
  kind: VLLMHPAConfig
  metadata:
    name: gemma
    namespace: serving
    annotations:
      config.kubernetes.io/local-config: "true"
      internal.config.kubernetes.io/path: autoscaling/vllmhpa.yaml
      internal.config.kubernetes.io/index: "0"
  spec:
    strategy: vllm # scale on the batch size
    scaleTargetRef: {name: vllm-gemma}
    maxReplicas: 8
items:
# The package's Kptfile.
- apiVersion: kpt.dev/v1
  kind: Kptfile
  metadata:
    name: big # the package name
    annotations:
      config.kubernetes.io/local-config: "true"
      internal.config.kubernetes.io/path: Kptfile
      internal.config.kubernetes.io/index: "0"
  info:
    description: |
      A package with many objects.
      Rendered in one pass.
  pipeline:
    mutators:
    - image: vllm-hpa-fn:dev
      configPath: autoscaling/vllmhpa.yaml
# The config: spec before metadata, kind before apiVersion.
- spec:
    # Holds vllm:num_requests_running at 4 per pod.
    strategy: vllm # scale on the batch size
    scaleTargetRef: {name: vllm-gemma}
    maxReplicas: 8
  kind: VLLMHPAConfig
  apiVersion: vllmhpa.dev/v1alpha1
  metadata:
    name: gemma
    namespace: serving
    annotations:
      config.kubernetes.io/local-config: "true"
      internal.config.kubernetes.io/path: autoscaling/vllmhpa.yaml
      internal.config.kubernetes.io/index: "0"
- apiVersion: apps/v1
  kind: Deployment
  metadata:
    name: vllm-gemma
    namespace: serving
    labels: &gemma {app: vllm-gemma, tier: inference}
    annotations:
      internal.config.kubernetes.io/path: workload/deployment.yaml
      internal.config.kubernetes.io/index: "0"
  spec:
    selector:
      matchLabels: {app: vllm-gemma}
    template:
      metadata:
        labels: *gemma
      spec:
        containers:
        - name: vllm
          image: vllm/vllm-openai:v0.11.0
          args: [--model=google/gemma-3-1b-it, --port=8000] # the default port
          ports:
          - {name: metrics, containerPort: 8000}
          resources:
            limits: {nvidia.com/gpu: "1"}
`)
	for i := range n {
		ns := fmt.Sprintf("team-%d", i%7)
		w(`# ConfigMap %[1]d.
- kind: ConfigMap
  metadata:
    annotations:
      internal.config.kubernetes.io/path: config/cm-%[1]d.yaml
      internal.config.kubernetes.io/index: "0"
    namespace: %[2]s
    name: settings-%[1]d
  apiVersion: v1
  data:
    # A literal block keeps its newlines.
    script.sh: |
      #!/bin/sh
      echo "object %[1]d"
        indented: line
      exit 0
    # A folded block joins its lines.
    motd: >
      Welcome to
      object %[1]d.

      A new paragraph.
    keep-trailing: |+
      trailing newlines

    quoted: 'it''s %[1]d'
    number-like: "0%[1]d"
    yes-like: "yes"
    empty: ""
`, i, ns)
		w(`- apiVersion: apps/v1
  kind: Deployment
  metadata:
    name: worker-%[1]d
    namespace: %[2]s
    labels: &labels-%[1]d
      app: worker-%[1]d # the selector
      version: v%[3]d
    annotations:
      internal.config.kubernetes.io/path: apps/worker-%[1]d.yaml
      internal.config.kubernetes.io/index: "0"
  spec:
    replicas: %[3]d
    selector:
      matchLabels: *labels-%[1]d
    template:
      metadata: {labels: *labels-%[1]d}
      spec:
        containers:
        - image: busybox:1.36
          name: main
          command: ["sh", "-c", "sleep %[1]d"]
          env:
          - {name: A, value: "1"}
          - name: MULTI
            value: >-
              folded %[1]d
              without a final newline
`, i, ns, i%5+1)
		w(`# A custom resource of a kind the function does not know.
- apiVersion: widgets.example.com/v1alpha3
  kind: Widget
  metadata:
    name: widget-%[1]d
    namespace: %[2]s
    annotations:
      internal.config.kubernetes.io/path: widgets/widget-%[1]d.yaml
      internal.config.kubernetes.io/index: "0"
  spec:
    zeta: last-first # keys out of order
    alpha: {nested: {deeper: [1, 2.5, -3, 1e3, 0x1F, null, ~, true, "on"]}}
    defaults: &defaults-%[1]d
      size: %[1]d
      colour: "#%06[1]x"
    override:
      <<: *defaults-%[1]d
      size: 0
    list:
    - &first-%[1]d {id: a}
    - *first-%[1]d
    "quoted key": value
    ? complex key
    : complex value
  status: {phase: Ready}
`, i, ns)
		w(`- apiVersion: apiextensions.k8s.io/v1
  kind: CustomResourceDefinition
  metadata:
    name: gadgets%[1]d.example.com
    annotations:
      internal.config.kubernetes.io/path: crds/gadget-%[1]d.yaml
      internal.config.kubernetes.io/index: "0"
  spec:
    group: example.com
    names: {kind: Gadget%[1]d, plural: gadgets%[1]d}
    scope: Namespaced
    versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          description: |-
            Gadget %[1]d,
            described over two lines.
          x-kubernetes-preserve-unknown-fields: true
`, i)
		w(`- apiVersion: v1
  kind: Secret
  metadata: {name: secret-%[1]d, namespace: %[2]s, annotations: {internal.config.kubernetes.io/path: secrets/secret-%[1]d.yaml, internal.config.kubernetes.io/index: "0"}}
  type: Opaque
  data:
    token: dG9rZW4tMQ== # base64
  stringData: {plain: "text %[1]d"}
`, i, ns)
		w(`- apiVersion: v1
  kind: Namespace
  metadata:
    name: scratch-%[1]d
    annotations:
      internal.config.kubernetes.io/path: namespaces.yaml
      internal.config.kubernetes.io/index: "%[1]d"
    labels:
      pod-security.kubernetes.io/enforce: restricted
`, i)
	}
	return b.String()
}

// TestBigPackageNothingLost runs the function over a large package and checks
// that every item it does not own comes out as the same YAML text, comments and
// anchors included; that the config and functionConfig are untouched; and that a
// second run, on the same input or on the output, gives the same bytes.
func TestBigPackageNothingLost(t *testing.T) {
	in := []byte(bigPackage(70))
	out, stderr, code := run(in)
	if code != 0 {
		t.Fatalf("the function failed (%d): %s", code, stderr)
	}
	rlIn, err := fn.ParseResourceList(in)
	if err != nil {
		t.Fatal(err)
	}
	rlOut, err := fn.ParseResourceList(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(rlIn.Items) < 400 {
		t.Fatalf("the package has %d items, want hundreds", len(rlIn.Items))
	}

	outByID := map[string]*fn.KubeObject{}
	generated := 0
	for _, o := range rlOut.Items {
		if o.GetAnnotation(reconcile.OwnerAnnotation) != "" {
			generated++
			continue
		}
		outByID[itemID(o)] = o
	}
	for _, o := range rlIn.Items {
		got, ok := outByID[itemID(o)]
		switch {
		case !ok:
			t.Errorf("%s is missing from the output", itemID(o))
		case got.String() != o.String():
			t.Errorf("%s changed:\n--- in\n%s\n--- out\n%s", itemID(o), o.String(), got.String())
		}
	}
	if len(rlOut.Items) != len(rlIn.Items)+generated || generated == 0 {
		t.Errorf("%d items in, %d out, of which %d generated", len(rlIn.Items), len(rlOut.Items), generated)
	}
	if got, want := rlOut.FunctionConfig.String(), rlIn.FunctionConfig.String(); got != want {
		t.Errorf("the functionConfig changed:\n--- in\n%s\n--- out\n%s", want, got)
	}
	for _, text := range []string{"# Holds vllm:num_requests_running at 4 per pod.", "strategy: vllm # scale on the batch size", "labels: *labels-69", "<<: *defaults-3", "keep-trailing: |+", "# A literal block keeps its newlines.", "# ConfigMap 69.", "app: worker-3 # the selector", "complex key: complex value"} {
		if !bytes.Contains(out, []byte(text)) {
			t.Errorf("the output lost %q", text)
		}
	}

	again, _, _ := run(in)
	if !bytes.Equal(again, out) {
		t.Error("two runs on the same input wrote different bytes")
	}
	second, stderr, code := run(out)
	if code != 0 {
		t.Fatalf("the function failed on its own output (%d): %s", code, stderr)
	}
	if !bytes.Equal(second, out) {
		t.Errorf("a run on the output changed it:\n%s", lineDiff(out, second))
	}
}

func itemID(o *fn.KubeObject) string {
	return o.GetAPIVersion() + "/" + o.GetKind() + "/" + o.GetNamespace() + "/" + o.GetName()
}

// lineDiff returns the first differing line of a and b, with its number.
func lineDiff(a, b []byte) string {
	la, lb := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := range max(len(la), len(lb)) {
		var x, y string
		if i < len(la) {
			x = la[i]
		}
		if i < len(lb) {
			y = lb[i]
		}
		if x != y {
			return fmt.Sprintf("line %d:\n- %s\n+ %s", i+1, x, y)
		}
	}
	return ""
}
