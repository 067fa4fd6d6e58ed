package e2e_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/vllm-hpa/vllm-hpa/e2e/cluster"
	"github.com/vllm-hpa/vllm-hpa/e2e/render"
)

// workload is the vLLM Deployment users put next to their VLLMHPAConfig,
// pinned to the KWOK node because this control plane has no scheduler.
func workload(namespace, name string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[2]s
  namespace: %[1]s
  labels: {app: %[2]s}
spec:
  selector:
    matchLabels: {app: %[2]s}
  template:
    metadata:
      labels: {app: %[2]s}
    spec:
      nodeName: %[3]s
      containers:
      - name: vllm
        image: vllm/vllm-openai:v0.30.0
        args: [--model=google/gemma-3-1b-it, --port=8000]
        ports:
        - {name: metrics, containerPort: 8000}
`, namespace, name, cluster.NodeName)
}

// vllmConfig is a VLLMHPAConfig for the vllm strategy; window is the
// scale-down stabilization window in seconds, passed through spec.behavior.
func vllmConfig(namespace, name, target string, maxReplicas, window int) string {
	return fmt.Sprintf(`apiVersion: vllmhpa.dev/v1alpha1
kind: VLLMHPAConfig
metadata: {name: %[2]s, namespace: %[1]s}
spec:
  strategy: vllm
  scaleTargetRef: {name: %[2]s}
  minReplicas: 1
  maxReplicas: %[4]d
  metric: {targetAverageValue: %[3]q}
  podSelector: {app: %[2]s}
  behavior: {scaleDown: {stabilizationWindowSeconds: %[5]d}}
`, namespace, name, target, maxReplicas, window)
}

// gpuConfig is a VLLMHPAConfig for the gpu strategy.
func gpuConfig(namespace, name, target string, maxReplicas, window int) string {
	return fmt.Sprintf(`apiVersion: vllmhpa.dev/v1alpha1
kind: VLLMHPAConfig
metadata: {name: %[2]s, namespace: %[1]s}
spec:
  strategy: gpu
  scaleTargetRef: {name: %[2]s}
  minReplicas: 1
  maxReplicas: %[4]d
  metric: {targetAverageValue: %[3]q}
  behavior: {scaleDown: {stabilizationWindowSeconds: %[5]d}}
`, namespace, name, target, maxReplicas, window)
}

// renderConfig renders workload and config through kustomize and the
// function, as a user would.
func (e *suite) renderConfig(t *testing.T, workloadYAML, configYAML string) ([]byte, []*unstructured.Unstructured) {
	t.Helper()
	out, err := e.tools.Config(e.ctx, t.TempDir(), workloadYAML, configYAML)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := render.Objects(out)
	if err != nil {
		t.Fatal(err)
	}
	return out, objs
}

var crdsOnce sync.Once
var crdsErr error

// autoscalingMetricCRD is the AutoscalingMetric CRD this suite writes from
// GKE's documented fields (the file's header says why and what it holds).
const autoscalingMetricCRD = "testdata/autoscalingmetric-crd.yaml"

// installCRDs installs, once per run, the CRDs of the kinds the function emits
// and does not own: the upstream GMP CRDs, the upstream Config Connector CRDs
// (IAMPolicyMember) and the suite's own AutoscalingMetric CRD.
func (e *suite) installCRDs(t *testing.T) {
	t.Helper()
	crdsOnce.Do(func() {
		for _, dir := range []struct{ env, path, what string }{
			{"VLLMHPA_CRDS_DIR", e.crdsDir, "GoogleCloudPlatform/prometheus-engine's charts/operator/crds"},
			{"VLLMHPA_KCC_CRDS_DIR", e.kccCRDsDir, "GoogleCloudPlatform/k8s-config-connector's config/crds/resources (IAMPolicyMember)"},
		} {
			if dir.path == "" {
				crdsErr = fmt.Errorf("%s is not set; point it at %s", dir.env, dir.what)
				return
			}
			if files, _ := filepath.Glob(filepath.Join(dir.path, "*.yaml")); len(files) == 0 {
				crdsErr = fmt.Errorf("no CRD YAML in %s=%s", dir.env, dir.path)
				return
			}
		}
		for _, src := range []string{e.crdsDir, e.kccCRDsDir, autoscalingMetricCRD} {
			if _, _, crdsErr = e.cluster.Kubectl(e.ctx, nil, "apply", "--server-side", "-f", src); crdsErr != nil {
				return
			}
			if _, _, crdsErr = e.cluster.Kubectl(e.ctx, nil, "wait", "--for=condition=Established", "--timeout=60s", "-f", src); crdsErr != nil {
				return
			}
		}
	})
	if crdsErr != nil {
		t.Fatalf("install CRDs: %v", crdsErr)
	}
}

func (e *suite) ensureNamespace(t *testing.T, name string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := e.cluster.Client.CoreV1().Namespaces().Create(e.ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	// Pods are refused until the ServiceAccount controller has made "default".
	e.poll(t, 60*time.Second, "ServiceAccount "+name+"/default", func(ctx context.Context) (bool, error) {
		_, err := e.cluster.Client.CoreV1().ServiceAccounts(name).Get(ctx, "default", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return err == nil, err
	})
}

// apply server-side applies a YAML stream with kubectl.
func (e *suite) apply(t *testing.T, stream []byte) string {
	t.Helper()
	out, _, err := e.cluster.Kubectl(e.ctx, stream, "apply", "--server-side", "-f", "-")
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// live returns the stored version of each object in stream.
func (e *suite) live(t *testing.T, stream []byte) []*unstructured.Unstructured {
	t.Helper()
	out, _, err := e.cluster.Kubectl(e.ctx, stream, "get", "-f", "-", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	objs, err := render.Objects(out)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// ensureNamespaces creates every namespace the objects name, as a user
// creates a workload's namespace before applying into it.
func (e *suite) ensureNamespaces(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	seen := map[string]bool{}
	for _, obj := range objs {
		if ns := obj.GetNamespace(); ns != "" && !seen[ns] {
			seen[ns] = true
			e.ensureNamespace(t, ns)
		}
	}
}

// poll calls check every second until it reports done, fails, or timeout
// passes; a timeout fails the test.
func (e *suite) poll(t *testing.T, timeout time.Duration, what string, check func(context.Context) (bool, error)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(e.ctx, timeout)
	defer cancel()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var lastErr error
	for {
		done, err := check(ctx)
		if err != nil && ctx.Err() == nil {
			lastErr = err
		}
		if done {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: not reached within %s (last error: %v)", what, timeout, lastErr)
		case <-tick.C:
		}
	}
}

// key names an object by kind, namespace and name. kubectl puts an object
// without a namespace into "default", so that is where key looks for it.
func key(obj *unstructured.Unstructured) string {
	gvk := obj.GroupVersionKind()
	ns := obj.GetNamespace()
	if ns == "default" {
		ns = ""
	}
	if ns != "" {
		ns += "/"
	}
	return fmt.Sprintf("%s %s%s", strings.TrimPrefix(gvk.GroupKind().String(), "."), ns, obj.GetName())
}
