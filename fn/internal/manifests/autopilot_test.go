package manifests_test

import (
	"fmt"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// GKE Autopilot's rules for a container of the general-purpose compute class
// (cloud.google.com/kubernetes-engine/docs/concepts/autopilot-resource-requests).
// Requests outside them are rewritten by Autopilot, and a GitOps tool then shows a
// diff on every sync. The strictest case is taken, a cluster without Pod bursting:
// there limits are set to the requests, and the minimums are 250m CPU and 512Mi.
var (
	autopilotMinCPU        = resource.MustParse("250m")
	autopilotCPUStep       = resource.MustParse("250m")
	autopilotMinMemory     = resource.MustParse("512Mi")
	autopilotMinEphemeral  = resource.MustParse("10Mi")
	autopilotMaxEphemeral  = resource.MustParse("10Gi")
	autopilotMinGiBPerVCPU = 1.0
	autopilotMaxGiBPerVCPU = 6.5
	autopilotResources     = []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage}
)

// autopilotProblems lists what Autopilot would change in a container's resources.
func autopilotProblems(r corev1.ResourceRequirements) []string {
	var out []string
	for _, name := range autopilotResources {
		req, ok := r.Requests[name]
		if !ok {
			out = append(out, fmt.Sprintf("no %s request: Autopilot adds its default", name))
			continue
		}
		if lim, ok := r.Limits[name]; !ok || lim.Cmp(req) != 0 {
			out = append(out, fmt.Sprintf("%s limit %v is not the request %s: Autopilot sets it to the request", name, r.Limits[name], req.String()))
		}
	}
	cpu, mem, eph := r.Requests[corev1.ResourceCPU], r.Requests[corev1.ResourceMemory], r.Requests[corev1.ResourceEphemeralStorage]
	if cpu.Cmp(autopilotMinCPU) < 0 {
		out = append(out, fmt.Sprintf("CPU %s is below the minimum %s", cpu.String(), autopilotMinCPU.String()))
	}
	if cpu.MilliValue()%autopilotCPUStep.MilliValue() != 0 {
		out = append(out, fmt.Sprintf("CPU %s is not a multiple of %s", cpu.String(), autopilotCPUStep.String()))
	}
	if mem.Cmp(autopilotMinMemory) < 0 {
		out = append(out, fmt.Sprintf("memory %s is below the minimum %s", mem.String(), autopilotMinMemory.String()))
	}
	if vcpu := cpu.AsApproximateFloat64(); vcpu > 0 {
		ratio := mem.AsApproximateFloat64() / (1 << 30) / vcpu
		if ratio < autopilotMinGiBPerVCPU || ratio > autopilotMaxGiBPerVCPU {
			out = append(out, fmt.Sprintf("%.2f GiB of memory per vCPU is outside %.1f-%.1f", ratio, autopilotMinGiBPerVCPU, autopilotMaxGiBPerVCPU))
		}
	}
	if eph.Cmp(autopilotMinEphemeral) < 0 || eph.Cmp(autopilotMaxEphemeral) > 0 {
		out = append(out, fmt.Sprintf("ephemeral storage %s is outside %s-%s", eph.String(), autopilotMinEphemeral.String(), autopilotMaxEphemeral.String()))
	}
	return out
}

// TestAdapterRequestsAreValidOnAutopilot: Autopilot keeps the adapter's
// resources as emitted, in both shapes.
func TestAdapterRequestsAreValidOnAutopilot(t *testing.T) {
	for _, hardened := range []bool{false, true} {
		for _, o := range builtAdapter(hardened, false) {
			d, ok := o.(*appsv1.Deployment)
			if !ok {
				continue
			}
			for _, c := range d.Spec.Template.Spec.Containers {
				for _, p := range autopilotProblems(c.Resources) {
					t.Errorf("hardening=%t, container %s: %s", hardened, c.Name, p)
				}
			}
		}
	}
}

// TestAutopilotRuleRefusesUpstreamRequests shows the rule can fail: upstream's
// 250m CPU and 200Mi memory are below Autopilot's 1:1 ratio, which is why
// Autopilot rewrote them.
func TestAutopilotRuleRefusesUpstreamRequests(t *testing.T) {
	upstream := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("200Mi")}
	got := autopilotProblems(corev1.ResourceRequirements{Requests: upstream, Limits: upstream})
	want := []string{
		"no ephemeral-storage request: Autopilot adds its default",
		"memory 200Mi is below the minimum 512Mi",
		"0.78 GiB of memory per vCPU is outside 1.0-6.5",
		"ephemeral storage 0 is outside 10Mi-10Gi",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("problems %q, want %q", got, want)
	}
}
