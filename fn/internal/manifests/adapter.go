package manifests

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	apiregv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	"k8s.io/utils/ptr"

	"github.com/vllm-hpa/vllm-hpa/fn/api/v1alpha1"
)

// The API groups the adapter can serve. Each has one server per cluster: the
// APIService of a version names the Service that answers it.
const (
	CustomMetricsGroup   = "custom.metrics.k8s.io"
	ExternalMetricsGroup = "external.metrics.k8s.io"
)

// The adapter's identity. Workload Identity bindings name exactly
// custom-metrics/custom-metrics-stackdriver-adapter, so neither may change.
const (
	AdapterNamespace = "custom-metrics"
	AdapterName      = "custom-metrics-stackdriver-adapter"
	AdapterFile      = "custom-metrics-stackdriver-adapter.yaml"

	// gcpServiceAccountAnnotation is the older Workload Identity form: the KSA
	// impersonates this Google service account.
	gcpServiceAccountAnnotation = "iam.gke.io/gcp-service-account"
)

// How the adapter serves. Its Service listens on 443 in both shapes, so the
// APIServices, which name no port, reach it unchanged.
const (
	adapterServicePort = 443
	// upstreamPort is where Google's manifest serves: the apiserver library's
	// default --secure-port, which only root may bind.
	upstreamPort = 443
	// adapterSecurePort is the hardened adapter's port: unprivileged, and one that
	// GKE's default firewall already opens from the control plane to pods, which is
	// why metrics-server serves on it too.
	adapterSecurePort = 10250
	adapterPortName   = "https"
	// adapterUser is distroless's nonroot user, above 10000 so that it maps to no
	// user of the node.
	adapterUser int64 = 65532
	// certDir is where the adapter writes its self-signed serving certificate at
	// start: an emptyDir, because the root filesystem is read-only.
	certDir = "/tmp"
)

var adapterLabels = map[string]string{"run": AdapterName, "k8s-app": AdapterName}

// Upstream's manifest also carries these add-on labels on the pod template and
// the Service; they select nothing, and keeping them keeps the output beside
// upstream's without a difference to explain.
const (
	clusterServiceLabel = "kubernetes.io/cluster-service"
	serviceNameLabel    = "kubernetes.io/name"
)

// Readiness probe timing as upstream's production manifest sets it
// (k8s-stackdriver, custom-metrics-stackdriver-adapter/deploy/production/
// adapter_new_resource_model.yaml); a shorter timeout marks a slow adapter unready.
const (
	probeInitialDelaySeconds = 40
	probePeriodSeconds       = 10
	probeTimeoutSeconds      = 5
)

// The GPU and TPU taints GKE puts on accelerator node pools. GKE Autopilot
// refuses operator Exists on them for a pod that requests no accelerator ("The
// toleration with key 'nvidia.com/gpu' and operator 'Exists' cannot be specified
// if the pod does not request to use GPU in Autopilot"), but accepts Equal with
// the value GKE sets, "present" (GoogleCloudPlatform/k8s-stackdriver issue #1079,
// PR #1081).
var acceleratorTaints = []string{"nvidia.com/gpu", "cloud.google.com/gke-tpu"}

const acceleratorTaintValue = "present"

// adapterResources are the adapter's requests, equal to its limits. They are
// valid for GKE Autopilot's general-purpose compute class as written, so that
// Autopilot does not rewrite the pod template (a diff on every GitOps sync):
// CPU is at Autopilot's 250m minimum without bursting and a multiple of 250m;
// memory is at the 512Mi minimum without bursting, and 2 GiB per vCPU is inside
// the allowed 1:1 to 1:6.5 vCPU:GiB ratio (upstream's 200Mi is below 1:1, so
// Autopilot raised it); ephemeral storage is set, since Autopilot adds 1Gi where
// it is missing, and lies within its 10Mi-10Gi range; limits equal requests, as
// Autopilot sets them on clusters without bursting
// (cloud.google.com/kubernetes-engine/docs/concepts/autopilot-resource-requests).
// 200Mi of ephemeral storage holds the serving certificate and the kubelet's
// rotated container log (5 files of 10Mi by default).
var adapterResources = corev1.ResourceList{
	corev1.ResourceCPU:              resource.MustParse("250m"),
	corev1.ResourceMemory:           resource.MustParse("512Mi"),
	corev1.ResourceEphemeralStorage: resource.MustParse("200Mi"),
}

// BuildAdapter returns the Custom Metrics Stackdriver Adapter stack: the adapter
// that serves Cloud Monitoring series (Managed Prometheus included) to the HPA
// through the custom metrics API, with the RBAC it needs, and through the
// external metrics API only when a.ExternalMetrics asks for it. Hardened (the
// default), its pod meets the Pod Security Standards "restricted" level and a
// NetworkPolicy limits its traffic; otherwise it runs as Google's manifest does.
func BuildAdapter(a *v1alpha1.Adapter) []any {
	hardened := *a.Hardening
	subject := []rbacv1.Subject{{Kind: "ServiceAccount", Name: AdapterName, Namespace: AdapterNamespace}}
	sa := &corev1.ServiceAccount{
		TypeMeta:   typeMeta("v1", "ServiceAccount"),
		ObjectMeta: metav1.ObjectMeta{Name: AdapterName, Namespace: AdapterNamespace},
	}
	if a.GCPServiceAccount != "" {
		sa.Annotations = map[string]string{gcpServiceAccountAnnotation: a.GCPServiceAccount}
	}
	objs := []any{
		&corev1.Namespace{TypeMeta: typeMeta("v1", "Namespace"), ObjectMeta: metav1.ObjectMeta{Name: AdapterNamespace}},
		sa,
		// Lets the adapter delegate authentication and authorization of its callers
		// to the API server, as every aggregated API server does.
		clusterRoleBinding("custom-metrics:system:auth-delegator", "system:auth-delegator", subject),
		&rbacv1.RoleBinding{
			TypeMeta:   typeMeta("rbac.authorization.k8s.io/v1", "RoleBinding"),
			ObjectMeta: metav1.ObjectMeta{Name: "custom-metrics-auth-reader", Namespace: "kube-system"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "extension-apiserver-authentication-reader"},
			Subjects:   subject,
		},
		&rbacv1.ClusterRole{
			TypeMeta:   typeMeta("rbac.authorization.k8s.io/v1", "ClusterRole"),
			ObjectMeta: metav1.ObjectMeta{Name: "custom-metrics-resource-reader"},
			Rules: []rbacv1.PolicyRule{{
				APIGroups: []string{""},
				Resources: []string{"pods", "nodes", "nodes/stats"},
				Verbs:     []string{"get", "list", "watch"},
			}},
		},
		clusterRoleBinding("custom-metrics-resource-reader", "custom-metrics-resource-reader", subject),
		adapterDeployment(a.Image, hardened),
		adapterService(hardened),
	}
	if hardened {
		objs = append(objs, adapterNetworkPolicy())
	}
	objs = append(objs,
		apiService(CustomMetricsGroup, "v1beta1", 100),
		apiService(CustomMetricsGroup, "v1beta2", 200),
	)
	if !*a.ExternalMetrics {
		// An API group has one server: registering external.metrics.k8s.io would
		// take it over from KEDA, whose ScaledObjects all depend on it.
		return objs
	}
	return append(objs,
		apiService(ExternalMetricsGroup, "v1beta1", 100),
		// The HPA controller reads external metrics under its own service account.
		&rbacv1.ClusterRole{
			TypeMeta:   typeMeta("rbac.authorization.k8s.io/v1", "ClusterRole"),
			ObjectMeta: metav1.ObjectMeta{Name: "external-metrics-reader"},
			Rules: []rbacv1.PolicyRule{{
				APIGroups: []string{"external.metrics.k8s.io"},
				Resources: []string{"*"},
				Verbs:     []string{"list", "get", "watch"},
			}},
		},
		clusterRoleBinding("external-metrics-reader", "external-metrics-reader",
			[]rbacv1.Subject{{Kind: "ServiceAccount", Name: "horizontal-pod-autoscaler", Namespace: "kube-system"}}),
	)
}

func adapterDeployment(image string, hardened bool) *appsv1.Deployment {
	pod := corev1.PodSpec{
		ServiceAccountName: AdapterName,
		Containers: []corev1.Container{{
			Name:            "pod-custom-metrics-stackdriver-adapter",
			Image:           image,
			ImagePullPolicy: corev1.PullIfNotPresent,
			Command:         []string{"/adapter", "--use-new-resource-model=true", "--fallback-for-container-metrics=true"},
			Resources:       corev1.ResourceRequirements{Requests: adapterResources.DeepCopy(), Limits: adapterResources.DeepCopy()},
			ReadinessProbe: &corev1.Probe{
				ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
					Path: "/healthz", Port: intstr.FromInt32(upstreamPort), Scheme: corev1.URISchemeHTTPS,
				}},
				InitialDelaySeconds: probeInitialDelaySeconds,
				PeriodSeconds:       probePeriodSeconds,
				TimeoutSeconds:      probeTimeoutSeconds,
			},
		}},
		// GPU and TPU node pools are tainted; the adapter must still find a node
		// in clusters made only of them.
		Tolerations: acceleratorTolerations(),
	}
	if hardened {
		harden(&pod)
	}
	podLabels := withLabel(adapterLabels, clusterServiceLabel, "true")
	return &appsv1.Deployment{
		TypeMeta:   typeMeta("apps/v1", "Deployment"),
		ObjectMeta: metav1.ObjectMeta{Name: AdapterName, Namespace: AdapterNamespace, Labels: adapterLabels},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(int32(1)),
			Selector: &metav1.LabelSelector{MatchLabels: adapterLabels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: podLabels}, Spec: pod},
		},
	}
}

// acceleratorTolerations tolerates GKE's GPU and TPU taints in the form GKE
// Autopilot admits for a pod that requests no accelerator.
func acceleratorTolerations() []corev1.Toleration {
	var out []corev1.Toleration
	for _, key := range acceleratorTaints {
		out = append(out, corev1.Toleration{Key: key, Operator: corev1.TolerationOpEqual, Value: acceleratorTaintValue, Effect: corev1.TaintEffectNoSchedule})
	}
	return out
}

// withLabel returns a copy of labels with k set to v.
func withLabel(labels map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for key, val := range labels {
		out[key] = val
	}
	return out
}

// harden turns the upstream adapter pod into one that meets the Pod Security
// Standards "restricted" level. The adapter is an apiserver-library server like
// metrics-server and takes the same serving flags, so it runs the way
// metrics-server's manifest runs it.
func harden(pod *corev1.PodSpec) {
	c := &pod.Containers[0]
	c.Command = append(c.Command, fmt.Sprintf("--secure-port=%d", adapterSecurePort), "--cert-dir="+certDir)
	c.Ports = []corev1.ContainerPort{{Name: adapterPortName, ContainerPort: adapterSecurePort, Protocol: corev1.ProtocolTCP}}
	c.ReadinessProbe.HTTPGet.Port = intstr.FromString(adapterPortName)
	c.SecurityContext = &corev1.SecurityContext{
		AllowPrivilegeEscalation: ptr.To(false),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		ReadOnlyRootFilesystem:   ptr.To(true),
	}
	c.VolumeMounts = []corev1.VolumeMount{{Name: "tmp", MountPath: certDir}}
	pod.Volumes = []corev1.Volume{{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	pod.SecurityContext = &corev1.PodSecurityContext{
		RunAsNonRoot:   ptr.To(true),
		RunAsUser:      ptr.To(adapterUser),
		RunAsGroup:     ptr.To(adapterUser),
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

func adapterService(hardened bool) *corev1.Service {
	target := intstr.FromInt32(upstreamPort)
	if hardened {
		target = intstr.FromString(adapterPortName)
	}
	labels := withLabel(withLabel(adapterLabels, clusterServiceLabel, "true"), serviceNameLabel, "Adapter")
	return &corev1.Service{
		TypeMeta:   typeMeta("v1", "Service"),
		ObjectMeta: metav1.ObjectMeta{Name: AdapterName, Namespace: AdapterNamespace, Labels: labels},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeClusterIP,
			Selector: adapterLabels,
			Ports:    []corev1.ServicePort{{Port: adapterServicePort, Protocol: corev1.ProtocolTCP, TargetPort: target}},
		},
	}
}

func apiService(group, version string, versionPriority int32) *apiregv1.APIService {
	return &apiregv1.APIService{
		TypeMeta:   typeMeta("apiregistration.k8s.io/v1", "APIService"),
		ObjectMeta: metav1.ObjectMeta{Name: version + "." + group},
		Spec: apiregv1.APIServiceSpec{
			Service:               &apiregv1.ServiceReference{Name: AdapterName, Namespace: AdapterNamespace},
			Group:                 group,
			Version:               version,
			InsecureSkipTLSVerify: true,
			GroupPriorityMinimum:  100,
			VersionPriority:       versionPriority,
		},
	}
}

func clusterRoleBinding(name, role string, subjects []rbacv1.Subject) *rbacv1.ClusterRoleBinding {
	return &rbacv1.ClusterRoleBinding{
		TypeMeta:   typeMeta("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
		Subjects:   subjects,
	}
}

func typeMeta(apiVersion, kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: apiVersion, Kind: kind}
}
