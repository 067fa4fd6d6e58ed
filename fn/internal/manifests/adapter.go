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

	"github.com/vllm-hpa/vllm-hpa/fn/api/v1alpha1"
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

// BuildAdapter returns the Custom Metrics Stackdriver Adapter stack: the adapter
// that serves Cloud Monitoring series (Managed Prometheus included) to the HPA
// through the custom and external metrics APIs, with the RBAC it needs. Hardened
// (the default), its pod meets the Pod Security Standards "restricted" level and a
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
	return append(objs,
		apiService("custom.metrics.k8s.io", "v1beta1", 100),
		apiService("custom.metrics.k8s.io", "v1beta2", 200),
		apiService("external.metrics.k8s.io", "v1beta1", 100),
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
	res := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("200Mi")}
	pod := corev1.PodSpec{
		ServiceAccountName: AdapterName,
		Containers: []corev1.Container{{
			Name:            "pod-custom-metrics-stackdriver-adapter",
			Image:           image,
			ImagePullPolicy: corev1.PullIfNotPresent,
			Command:         []string{"/adapter", "--use-new-resource-model=true", "--fallback-for-container-metrics=true"},
			Resources:       corev1.ResourceRequirements{Requests: res, Limits: res},
			ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
				Path: "/healthz", Port: intstr.FromInt32(upstreamPort), Scheme: corev1.URISchemeHTTPS,
			}}},
		}},
		// GPU and TPU node pools are tainted; the adapter must still find a node
		// in clusters made only of them.
		Tolerations: []corev1.Toleration{
			{Key: "nvidia.com/gpu", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
			{Key: "cloud.google.com/gke-tpu", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
		},
	}
	if hardened {
		harden(&pod)
	}
	return &appsv1.Deployment{
		TypeMeta:   typeMeta("apps/v1", "Deployment"),
		ObjectMeta: metav1.ObjectMeta{Name: AdapterName, Namespace: AdapterNamespace, Labels: adapterLabels},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr(int32(1)),
			Selector: &metav1.LabelSelector{MatchLabels: adapterLabels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: adapterLabels}, Spec: pod},
		},
	}
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
	// The adapter writes only its certificate; the rest is the kubelet's rotated
	// container log (5 files of 10Mi by default), which counts against the limit.
	c.Resources.Requests = withResource(c.Resources.Requests, corev1.ResourceEphemeralStorage, "100Mi")
	c.Resources.Limits = withResource(c.Resources.Limits, corev1.ResourceEphemeralStorage, "200Mi")
	c.SecurityContext = &corev1.SecurityContext{
		AllowPrivilegeEscalation: ptr(false),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		ReadOnlyRootFilesystem:   ptr(true),
	}
	c.VolumeMounts = []corev1.VolumeMount{{Name: "tmp", MountPath: certDir}}
	pod.Volumes = []corev1.Volume{{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	pod.SecurityContext = &corev1.PodSecurityContext{
		RunAsNonRoot:   ptr(true),
		RunAsUser:      ptr(adapterUser),
		RunAsGroup:     ptr(adapterUser),
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

// withResource returns a copy of list with name set to quantity.
func withResource(list corev1.ResourceList, name corev1.ResourceName, quantity string) corev1.ResourceList {
	out := list.DeepCopy()
	out[name] = resource.MustParse(quantity)
	return out
}

func adapterService(hardened bool) *corev1.Service {
	target := intstr.FromInt32(upstreamPort)
	if hardened {
		target = intstr.FromString(adapterPortName)
	}
	return &corev1.Service{
		TypeMeta:   typeMeta("v1", "Service"),
		ObjectMeta: metav1.ObjectMeta{Name: AdapterName, Namespace: AdapterNamespace, Labels: adapterLabels},
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
