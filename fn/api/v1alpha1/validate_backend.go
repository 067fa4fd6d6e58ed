package v1alpha1

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// The requirements of GKE's managed metrics adapter, from "Expose custom metrics
// for autoscaling" and "Autoscale Pods by using custom or external metrics"
// (cloud.google.com/kubernetes-engine/docs/how-to/expose-custom-metrics-autoscaling,
// .../autoscale-using-metrics). Preview (GKE 1.35.1-gke.1396000 or later on the
// Rapid channel): gauges only, at most 20 distinct metrics per cluster, pod label
// selector keys of letters, digits, '-' and '_' only, metric label keys matching
// ^[a-zA-Z_][a-zA-Z0-9_]*. The generally available version (1.37.0-gke.3100000)
// lists the label rules as preview-only and allows 50 metrics per node instead.
// What every version requires is an error here; what only the preview requires
// is a warning that names the versions.
const (
	// GKEPreviewMetricLimit is the preview's limit of distinct metrics per cluster.
	GKEPreviewMetricLimit = 20
	// GKEPreviewVersion is the first GKE version with the managed adapter (Rapid).
	GKEPreviewVersion = "1.35.1-gke.1396000"
	// GKEGAVersion is the first version that lists it as generally available.
	GKEGAVersion = "1.37.0-gke.3100000"
)

// gkePodLabelKey is the preview's rule for a label name in the pod selector.
var gkePodLabelKey = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-zA-Z0-9_-]+$`) })

// projectID is a Google Cloud project ID: 6 to 30 lower-case letters, digits
// and hyphens, starting with a letter, not ending with a hyphen
// (cloud.google.com/sdk/gcloud/reference/projects/create, PROJECT_ID).
var projectID = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z][a-z0-9-]{4,28}[a-z0-9]$`) })

// projectNumber is a Google Cloud project number: decimal digits.
var projectNumber = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[1-9][0-9]{0,19}$`) })

// iamServiceAccount is a Google service account email that names its project,
// the form Config Connector's IAMServiceAccount reference takes
// (projects/{{project}}/serviceAccounts/{{account_id}}@{{project}}.iam.gserviceaccount.com,
// GoogleCloudPlatform/k8s-config-connector, resource-docs/iam/iampolicymember.md).
var iamServiceAccount = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[a-z0-9-]+@([a-z][a-z0-9-]{4,28}[a-z0-9])\.iam\.gserviceaccount\.com$`)
})

// GSAProject returns the project of a service account email of the form
// NAME@PROJECT_ID.iam.gserviceaccount.com, or "" for any other form.
func GSAProject(email string) string {
	if m := iamServiceAccount().FindStringSubmatch(email); m != nil {
		return m[1]
	}
	return ""
}

// validateBackend returns the problems of spec.backend, spec.scrape.monitoring
// and spec.adapter.workloadIdentity in a defaulted spec at fldPath.
func validateBackend(spec *field.Path, s *VLLMHPAConfigSpec) field.ErrorList {
	var errs field.ErrorList
	if s.Backend == BackendGKE && s.Strategy == StrategyGPU {
		errs = append(errs, field.Invalid(spec.Child("backend"), string(s.Backend), fmt.Sprintf(
			"cannot be used with strategy gpu: GKE's managed adapter reads a gauge from the endpoint of the autoscaled workload's own pods, "+
				"and GPU utilisation is exported by GKE's DCGM exporter pods in %s, not by the vLLM pods; "+
				"use spec.backend: adapter (Managed Prometheus, a recording rule that moves the series onto the vLLM pods, and the Stackdriver adapter), "+
				"or strategy vllm with backend gke", "gke-managed-system")))
		return errs
	}
	if s.Backend == BackendGKE && s.Strategy == StrategyVLLM {
		errs = append(errs, validateGKEMetric(spec, s)...)
	}
	if s.Backend == BackendAdapter && s.Strategy == StrategyVLLM && !*s.Scrape.Monitoring {
		errs = append(errs, field.Invalid(spec.Child("scrape", "monitoring"), false,
			"cannot be used with backend adapter, which reads the metric from the PodMonitoring's series; remove it, or use spec.backend: gke"))
	}
	errs = append(errs, validateWorkloadIdentity(spec.Child("adapter"), s)...)
	return errs
}

// validateGKEMetric checks what an AutoscalingMetric can express.
func validateGKEMetric(spec *field.Path, s *VLLMHPAConfigSpec) field.ErrorList {
	var errs field.ErrorList
	// Each metric is one gauge of the AutoscalingMetric; two Prometheus names
	// that give one gauge name could not both be read.
	gauges := map[string]string{}
	for _, m := range s.scaledMetrics() {
		name := m.Name
		if !promMetricName().MatchString(name) {
			continue
		}
		gauge := GKEGaugeName(name)
		if msgs := validation.IsDNS1123Label(gauge); len(msgs) > 0 {
			errs = append(errs, field.Invalid(m.Path.Child("name"), name, fmt.Sprintf(
				"gives the AutoscalingMetric gauge name %q, which is not a DNS-1123 label: %s; "+
					"GKE's gauge names are lower-case letters, digits and '-', at most 63 characters: scale on a metric with a shorter name, or use spec.backend: adapter",
				gauge, strings.Join(msgs, "; "))))
			continue
		}
		if other, ok := gauges[gauge]; ok && other != name {
			errs = append(errs, field.Invalid(m.Path.Child("name"), name, fmt.Sprintf(
				"gives the AutoscalingMetric gauge name %q, which %s gives too; GKE's gauge names cannot tell them apart: scale on one of them, or use spec.backend: adapter",
				gauge, other)))
		}
		gauges[gauge] = name
	}
	if port := *s.Scrape.Port; port.Type == intstr.String {
		errs = append(errs, field.Invalid(spec.Child("scrape", "port"), port.StrVal,
			"is a port name, but an AutoscalingMetric's endpoint takes the port number; "+
				"set spec.scrape.port to the container port's number, or add the workload to the function's input so the function can look the name up"))
	}
	return errs
}

// validateWorkloadIdentity checks spec.adapter.workloadIdentity.
func validateWorkloadIdentity(adapter *field.Path, s *VLLMHPAConfigSpec) field.ErrorList {
	wi := s.Adapter.WorkloadIdentity
	if wi == nil {
		return nil
	}
	path := adapter.Child("workloadIdentity")
	if s.Backend == BackendGKE {
		return field.ErrorList{field.Forbidden(path,
			"is set, but backend gke needs no IAM grant: GKE's managed adapter reads the pods itself and no Stackdriver adapter is emitted; "+
				"remove spec.adapter.workloadIdentity, or use spec.backend: adapter")}
	}
	var errs field.ErrorList
	switch {
	case wi.ProjectID == "":
		errs = append(errs, field.Required(path.Child("projectID"), "is required: give the cluster's Google Cloud project ID, e.g. my-project"))
	case !projectID().MatchString(wi.ProjectID):
		errs = append(errs, field.Invalid(path.Child("projectID"), wi.ProjectID,
			"is not a Google Cloud project ID: 6 to 30 lower-case letters, digits and '-', starting with a letter and not ending with '-'; "+
				"copy it from `gcloud config get-value project`"))
	}
	switch {
	case wi.ProjectNumber == "":
		errs = append(errs, field.Required(path.Child("projectNumber"), "is required: give the project's number, quoted, e.g. \"123456789012\""))
	case !projectNumber().MatchString(wi.ProjectNumber):
		errs = append(errs, field.Invalid(path.Child("projectNumber"), wi.ProjectNumber,
			"is not a project number, which is all digits; copy it from `gcloud projects describe PROJECT_ID --format='value(projectNumber)'`"))
	}
	if msgs := validation.IsDNS1123Label(wi.Namespace); wi.Namespace != "" && len(msgs) > 0 {
		errs = append(errs, field.Invalid(path.Child("namespace"), wi.Namespace, fmt.Sprintf(
			"is not a valid namespace: %s; name the namespace Config Connector manages for the project", strings.Join(msgs, "; "))))
	}
	// A malformed email is already reported by validateAdapter; here only a valid
	// one that does not name its project.
	if gsa := s.Adapter.GCPServiceAccount; isServiceAccountEmail(gsa) && GSAProject(gsa) == "" {
		errs = append(errs, field.Invalid(adapter.Child("gcpServiceAccount"), gsa,
			"does not name its project, which Config Connector needs to grant roles/iam.workloadIdentityUser on it; "+
				"use a service account of the form NAME@PROJECT_ID.iam.gserviceaccount.com, or leave gcpServiceAccount empty to grant roles/monitoring.viewer to the adapter's own principal"))
	}
	return errs
}

// BackendWarnings returns what the GKE managed adapter's preview versions refuse
// but its generally available versions accept: pod selector keys with other
// characters than letters, digits, '-' and '_' (app.kubernetes.io/name).
func (c *VLLMHPAConfig) BackendWarnings() field.ErrorList {
	s := &c.Spec
	if s.Backend != BackendGKE || s.Strategy != StrategyVLLM {
		return nil
	}
	var errs field.ErrorList
	selector := field.NewPath("spec", "podSelector")
	for _, k := range slices.Sorted(maps.Keys(s.PodSelector)) {
		if !gkePodLabelKey().MatchString(k) {
			errs = append(errs, field.Invalid(selector.Child(k), k, fmt.Sprintf(
				"is a label key that GKE's managed adapter accepts in a pod selector only from %s: its preview (%s to %s) allows letters, digits, '-' and '_' only; "+
					"on an older cluster, select the pods on a label such as app (add it to the pod template if needed)",
				GKEGAVersion, GKEPreviewVersion, GKEGAVersion)))
		}
	}
	return errs
}
