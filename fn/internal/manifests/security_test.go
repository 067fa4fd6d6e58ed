package manifests_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	psaapi "k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"

	"github.com/vllm-hpa/vllm-hpa/fn/api/v1alpha1"
	"github.com/vllm-hpa/vllm-hpa/fn/internal/manifests"
)

// adapterStack is the adapter stack of a defaulted config, with hardening set.
type adapterStack struct {
	deployment    *appsv1.Deployment
	service       *corev1.Service
	networkPolicy *networkingv1.NetworkPolicy
}

func buildAdapter(t *testing.T, hardening bool) adapterStack {
	t.Helper()
	c := &v1alpha1.VLLMHPAConfig{Spec: v1alpha1.VLLMHPAConfigSpec{Adapter: &v1alpha1.Adapter{Hardening: &hardening}}}
	c.Default()
	var s adapterStack
	for _, obj := range manifests.BuildAdapter(c.Spec.Adapter) {
		switch o := obj.(type) {
		case *appsv1.Deployment:
			s.deployment = o
		case *corev1.Service:
			s.service = o
		case *networkingv1.NetworkPolicy:
			s.networkPolicy = o
		}
	}
	if s.deployment == nil || s.service == nil {
		t.Fatalf("the adapter stack has no Deployment or no Service")
	}
	return s
}

// TestAdapterPodMeetsRestricted evaluates the hardened adapter's pod template with
// the Pod Security admission library, as a namespace labelled
// pod-security.kubernetes.io/enforce: restricted would.
func TestAdapterPodMeetsRestricted(t *testing.T) {
	pod := buildAdapter(t, true).deployment.Spec.Template
	if result := evaluateRestricted(t, pod); !result.Allowed {
		t.Errorf("the adapter pod violates the restricted Pod Security Standard: %s", result.ForbiddenDetail())
	}
}

// TestUpstreamAdapterPodIsNotRestricted shows that the check above can fail: the
// upstream shape (hardening: false) is refused for exactly the reasons hardening
// removes.
func TestUpstreamAdapterPodIsNotRestricted(t *testing.T) {
	pod := buildAdapter(t, false).deployment.Spec.Template
	result := evaluateRestricted(t, pod)
	if result.Allowed {
		t.Fatal("the upstream adapter pod passes the restricted level; the check proves nothing")
	}
	want := []string{"allowPrivilegeEscalation != false", "unrestricted capabilities", "runAsNonRoot != true", "seccompProfile"}
	if !slices.Equal(result.ForbiddenReasons, want) {
		t.Errorf("restricted refuses the upstream pod for %q, want %q", result.ForbiddenReasons, want)
	}
}

func evaluateRestricted(t *testing.T, pod corev1.PodTemplateSpec) policy.AggregateCheckResult {
	t.Helper()
	evaluator, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		t.Fatal(err)
	}
	level := psaapi.LevelVersion{Level: psaapi.LevelRestricted, Version: psaapi.LatestVersion()}
	return policy.AggregateCheckResults(evaluator.EvaluatePod(level, &pod.ObjectMeta, &pod.Spec))
}

// TestHardenedAdapterStillServes checks that the pieces hardening moved still meet:
// the port the adapter binds is the one its Service, readiness probe and
// NetworkPolicy use, and the directory it writes its certificate to is writable.
func TestHardenedAdapterStillServes(t *testing.T) {
	s := buildAdapter(t, true)
	pod := s.deployment.Spec.Template.Spec
	c := pod.Containers[0]

	port, ok := flagValue(c.Command, "--secure-port")
	if !ok {
		t.Fatalf("the adapter has no --secure-port flag: %q", c.Command)
	}
	if len(c.Ports) != 1 || fmt.Sprint(c.Ports[0].ContainerPort) != port {
		t.Fatalf("container ports %+v, want one port %s (the --secure-port)", c.Ports, port)
	}
	named := c.Ports[0].Name
	if got := s.service.Spec.Ports[0]; got.Port != 443 || got.TargetPort != intstr.FromString(named) {
		t.Errorf("Service port %d -> %s, want 443 -> %s: the APIServices call port 443", got.Port, got.TargetPort.String(), named)
	}
	if got := c.ReadinessProbe.HTTPGet; got.Port != intstr.FromString(named) || got.Scheme != corev1.URISchemeHTTPS {
		t.Errorf("readiness probe %s on %s, want HTTPS on %s", got.Scheme, got.Port.String(), named)
	}

	certDir, ok := flagValue(c.Command, "--cert-dir")
	if !ok {
		t.Fatalf("the adapter has no --cert-dir flag, so it writes its certificate under its read-only root: %q", c.Command)
	}
	mount := slices.IndexFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == certDir && !m.ReadOnly })
	if mount < 0 {
		t.Fatalf("--cert-dir=%s is not a writable mount: %+v", certDir, c.VolumeMounts)
	}
	volume := slices.IndexFunc(pod.Volumes, func(v corev1.Volume) bool { return v.Name == c.VolumeMounts[mount].Name })
	if volume < 0 || pod.Volumes[volume].EmptyDir == nil {
		t.Errorf("the volume mounted at %s is not an emptyDir: %+v", certDir, pod.Volumes)
	}

	sc := c.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Errorf("the root filesystem is writable: %+v", sc)
	}
	if psc := pod.SecurityContext; psc == nil || psc.RunAsUser == nil || *psc.RunAsUser <= 10000 || psc.RunAsGroup == nil || *psc.RunAsGroup <= 10000 {
		t.Errorf("the pod does not run as a user and group above 10000: %+v", psc)
	}
	for _, r := range []corev1.ResourceList{c.Resources.Requests, c.Resources.Limits} {
		if _, ok := r[corev1.ResourceEphemeralStorage]; !ok {
			t.Errorf("no ephemeral-storage in %v", r)
		}
	}
	if c.ImagePullPolicy != corev1.PullIfNotPresent {
		t.Errorf("imagePullPolicy %s, want IfNotPresent", c.ImagePullPolicy)
	}
	if np := s.networkPolicy; np == nil || !ingressAllows(np, port) {
		t.Errorf("the NetworkPolicy does not let the API server reach the adapter on %s", port)
	}
}

// TestAdapterNetworkPolicy checks what the policy lets the adapter pods do: be
// called on their serving port, and call DNS, HTTPS and the GKE metadata server.
func TestAdapterNetworkPolicy(t *testing.T) {
	s := buildAdapter(t, true)
	np := s.networkPolicy
	if np == nil {
		t.Fatal("the hardened adapter has no NetworkPolicy")
	}
	if np.Namespace != s.deployment.Namespace {
		t.Errorf("NetworkPolicy in %q, the adapter in %q", np.Namespace, s.deployment.Namespace)
	}
	sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
	if err != nil || sel.Empty() || !sel.Matches(labels.Set(s.deployment.Spec.Template.Labels)) {
		t.Errorf("the NetworkPolicy's podSelector %v does not select the adapter pods %v", np.Spec.PodSelector, s.deployment.Spec.Template.Labels)
	}
	wantTypes := []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}
	if !slices.Equal(np.Spec.PolicyTypes, wantTypes) {
		t.Errorf("policyTypes %v, want %v", np.Spec.PolicyTypes, wantTypes)
	}

	var ingress []string
	for _, r := range np.Spec.Ingress {
		ingress = append(ingress, describeRule(r.From, r.Ports))
	}
	if want := []string{"any:TCP/10250"}; !slices.Equal(ingress, want) {
		t.Errorf("ingress %q, want %q", ingress, want)
	}
	var egress []string
	for _, r := range np.Spec.Egress {
		egress = append(egress, describeRule(r.To, r.Ports))
	}
	want := []string{
		"any:UDP/53,TCP/53",          // DNS
		"any:TCP/443",                // the API server and Cloud Monitoring
		"169.254.169.252/32:TCP/988", // the GKE metadata server
		"169.254.169.254/32:TCP/80",  // the same, as Dataplane V2 sees it
	}
	if !slices.Equal(egress, want) {
		t.Errorf("egress %q, want %q", egress, want)
	}
}

// TestUpstreamAdapterShape checks that hardening: false emits the adapter as
// Google's manifest runs it, for clusters that cannot take the hardened one.
func TestUpstreamAdapterShape(t *testing.T) {
	s := buildAdapter(t, false)
	if s.networkPolicy != nil {
		t.Error("hardening: false emits a NetworkPolicy")
	}
	pod := s.deployment.Spec.Template.Spec
	c := pod.Containers[0]
	if pod.SecurityContext != nil || c.SecurityContext != nil || len(pod.Volumes) > 0 || len(c.Ports) > 0 {
		t.Errorf("hardening: false still changes the pod: %+v", pod)
	}
	want := []string{"/adapter", "--use-new-resource-model=true", "--fallback-for-container-metrics=true"}
	if !slices.Equal(c.Command, want) {
		t.Errorf("command %q, want %q", c.Command, want)
	}
	if got := s.service.Spec.Ports[0].TargetPort; got != intstr.FromInt32(443) {
		t.Errorf("Service targetPort %s, want 443", got.String())
	}
}

func flagValue(args []string, name string) (string, bool) {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v, true
		}
	}
	return "", false
}

func ingressAllows(np *networkingv1.NetworkPolicy, port string) bool {
	for _, r := range np.Spec.Ingress {
		for _, p := range r.Ports {
			if p.Port != nil && p.Port.String() == port {
				return true
			}
		}
	}
	return false
}

// describeRule writes a rule as "peers:PROTO/port,...", "any" for no peers.
func describeRule(peers []networkingv1.NetworkPolicyPeer, ports []networkingv1.NetworkPolicyPort) string {
	var to []string
	for _, p := range peers {
		switch {
		case p.IPBlock != nil && len(p.IPBlock.Except) == 0:
			to = append(to, p.IPBlock.CIDR)
		default:
			to = append(to, fmt.Sprintf("%+v", p))
		}
	}
	if len(to) == 0 {
		to = []string{"any"}
	}
	var ps []string
	for _, p := range ports {
		ps = append(ps, fmt.Sprintf("%s/%s", *p.Protocol, p.Port.String()))
	}
	return strings.Join(to, ",") + ":" + strings.Join(ps, ",")
}
