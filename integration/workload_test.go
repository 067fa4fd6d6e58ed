package integration_test

import (
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// TestWorkload checks the shared vLLM workload against what autoscaling it needs:
// a pinned image, a port named metrics, /health probes, no spec.replicas (the HPA
// owns them), a GPU request and node selector, /dev/shm in memory, and the
// Service vllm-service on port 8000 in front of the pods.
func TestWorkload(t *testing.T) {
	objs := parse(t, mustBuild(t, filepath.Join(work, "examples", "workload")))
	d := find(t, objs, "Deployment", "", "vllm-gemma")
	if field(t, d, "spec", "replicas") != "" {
		t.Error("spec.replicas is set: every sync would reset what the HPA scaled to")
	}
	c, err := d.Pipe(yaml.Lookup("spec", "template", "spec", "containers", "[name=vllm]"))
	if err != nil || c == nil {
		t.Fatalf("no container vllm (%v)", err)
	}
	img := field(t, c, "image")
	if _, tag, ok := strings.Cut(img, ":"); !ok || tag == "" || tag == "latest" {
		t.Errorf("image %q, want a pinned tag", img)
	}
	if field(t, c, "ports", "[name=metrics]", "containerPort") != "8000" {
		t.Error("no container port named metrics on 8000")
	}
	for _, probe := range []string{"readinessProbe", "startupProbe"} {
		if field(t, c, probe, "httpGet", "path") != "/health" || field(t, c, probe, "httpGet", "port") != "metrics" {
			t.Errorf("%s is not an HTTP GET of /health on port metrics", probe)
		}
	}
	if field(t, c, "resources", "requests", "nvidia.com/gpu") == "" || field(t, c, "resources", "limits", "nvidia.com/gpu") == "" {
		t.Error("no nvidia.com/gpu request and limit")
	}
	if field(t, d, "spec", "template", "spec", "nodeSelector", "cloud.google.com/gke-accelerator") == "" {
		t.Error("no cloud.google.com/gke-accelerator node selector")
	}
	if field(t, c, "volumeMounts", "[mountPath=/dev/shm]", "name") != "dshm" ||
		field(t, d, "spec", "template", "spec", "volumes", "[name=dshm]", "emptyDir", "medium") != "Memory" {
		t.Error("/dev/shm is not an in-memory emptyDir")
	}

	s := find(t, objs, "Service", "", "vllm-service")
	if field(t, s, "spec", "ports", "[port=8000]", "targetPort") != "metrics" {
		t.Error("vllm-service does not serve port 8000 from the container port metrics")
	}
	if got, want := field(t, s, "spec", "selector", "app"), field(t, d, "spec", "template", "metadata", "labels", "app"); got != want {
		t.Errorf("vllm-service selects app=%q, the pods are app=%q", got, want)
	}
}
