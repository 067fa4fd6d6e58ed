package e2e_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

const (
	adapterNamespace = "custom-metrics"
	adapterService   = "custom-metrics-stackdriver-adapter"
)

// wireAdapter applies a render with the one substitution this control plane
// needs: the adapter Deployment cannot run here (no image, no scheduler), so
// its Service becomes an ExternalName for localhost and the generated
// APIServices name the in-process metrics server's port. The aggregator
// resolves an ExternalName Service to that name and dials the APIService's
// port; the generated APIServices already skip TLS verification, as the
// adapter's certificate is self-signed. Everything else is applied as
// rendered. It waits until all generated APIServices are Available.
func (e *suite) wireAdapter(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	var wired []*unstructured.Unstructured
	var apiServices []string
	for _, obj := range objs {
		obj = obj.DeepCopy()
		switch {
		case obj.GetKind() == "Service" && obj.GetNamespace() == adapterNamespace && obj.GetName() == adapterService:
			obj.Object["spec"] = map[string]any{"type": "ExternalName", "externalName": "localhost"}
		case obj.GetKind() == "APIService":
			service, _, _ := unstructured.NestedMap(obj.Object, "spec", "service")
			if service["name"] != adapterService || service["namespace"] != adapterNamespace {
				t.Fatalf("APIService %s points at %v, not the adapter Service %s/%s", obj.GetName(), service, adapterNamespace, adapterService)
			}
			_ = unstructured.SetNestedField(obj.Object, int64(e.metricsPort), "spec", "service", "port")
			_ = unstructured.SetNestedField(obj.Object, true, "spec", "insecureSkipTLSVerify")
			unstructured.RemoveNestedField(obj.Object, "spec", "caBundle")
			apiServices = append(apiServices, "apiservice/"+obj.GetName())
		}
		wired = append(wired, obj)
	}
	// External metrics are registered only on request (spec.adapter.externalMetrics).
	slices.Sort(apiServices)
	if want := []string{"apiservice/v1beta1.custom.metrics.k8s.io", "apiservice/v1beta2.custom.metrics.k8s.io"}; !slices.Equal(apiServices, want) {
		t.Fatalf("render has APIServices %v, want %v", apiServices, want)
	}
	// A ClusterIP Service cannot turn into an ExternalName in place while it
	// holds a cluster IP; recreate it.
	if _, _, err := e.cluster.Kubectl(e.ctx, nil, "delete", "service", "-n", adapterNamespace, adapterService, "--ignore-not-found"); err != nil {
		t.Fatal(err)
	}
	e.apply(t, mustYAML(t, wired...))
	args := append([]string{"wait", "--for=condition=Available", "--timeout=90s"}, apiServices...)
	start := time.Now()
	if _, _, err := e.cluster.Kubectl(e.ctx, nil, args...); err != nil {
		out, _, _ := e.cluster.Kubectl(e.ctx, nil, "get", "apiservices", "-o", "wide")
		t.Fatalf("%v\n%s", err, out)
	}
	t.Logf("%s Available through the generated objects after %s", strings.Join(apiServices, ", "), time.Since(start).Round(100*time.Millisecond))
}
