package e2e_test

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// The stand-in for GKE's managed metrics adapter is the in-process metrics
// server (metricsserver/managed.go). On GKE the managed adapter is part of the
// cluster and nothing in the rendered output registers it; how GKE routes the
// HPA's autoscaling.gke.io| metrics to it is not published. Here it is
// registered as the custom metrics API, as any metrics adapter is, through a
// Service and APIServices of the test's own, named for what they are.
const (
	managedNamespace = "e2e-gke-managed-metrics"
	managedService   = "managed-metrics-adapter-stand-in"
)

// wireManagedAdapter points the custom metrics API at the in-process metrics
// server through the test's own Service, replacing the Stackdriver adapter's
// registration if an earlier test made one, and waits until it is Available.
func (e *suite) wireManagedAdapter(t *testing.T) {
	t.Helper()
	e.ensureNamespace(t, managedNamespace)
	var docs []string
	docs = append(docs, fmt.Sprintf(`apiVersion: v1
kind: Service
metadata: {name: %s, namespace: %s}
spec: {type: ExternalName, externalName: localhost}
`, managedService, managedNamespace))
	var apiServices []string
	for version, priority := range map[string]int{"v1beta1": 100, "v1beta2": 200} {
		name := version + ".custom.metrics.k8s.io"
		apiServices = append(apiServices, "apiservice/"+name)
		docs = append(docs, fmt.Sprintf(`apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: {name: %s}
spec:
  group: custom.metrics.k8s.io
  version: %s
  service: {name: %s, namespace: %s, port: %d}
  insecureSkipTLSVerify: true
  groupPriorityMinimum: 100
  versionPriority: %d
`, name, version, managedService, managedNamespace, e.metricsPort, priority))
	}
	e.apply(t, []byte(strings.Join(docs, "---\n")))
	args := append([]string{"wait", "--for=condition=Available", "--timeout=90s"}, apiServices...)
	start := time.Now()
	if _, _, err := e.cluster.Kubectl(e.ctx, nil, args...); err != nil {
		out, _, _ := e.cluster.Kubectl(e.ctx, nil, "get", "apiservices", "-o", "wide")
		t.Fatalf("%v\n%s", err, out)
	}
	t.Logf("custom metrics API served by the managed adapter stand-in after %s", time.Since(start).Round(100*time.Millisecond))
}

// gkeConfig is vllmConfig with backend gke.
func gkeConfig(namespace, name, target string, maxReplicas, window int) string {
	return withBackend(vllmConfig(namespace, name, target, maxReplicas, window), "gke")
}

// workloadIdentityConfig is vllmConfig with spec.adapter.workloadIdentity, in
// the principal form or, with gsa set, the Google service account form.
func workloadIdentityConfig(namespace, name, gsa string) string {
	adapter := "adapter:\n    workloadIdentity: {projectID: my-project, projectNumber: \"123456789012\"}\n"
	if gsa != "" {
		adapter = fmt.Sprintf("adapter:\n    gcpServiceAccount: %s\n    workloadIdentity: {projectID: my-project, projectNumber: \"123456789012\", namespace: config-connector}\n", gsa)
	}
	return vllmConfig(namespace, name, "4", 5, 60) + "  " + adapter
}
