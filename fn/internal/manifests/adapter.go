package manifests

import (
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

var adapterLabels = map[string]string{"run": AdapterName, "k8s-app": AdapterName}

// BuildAdapter returns the Custom Metrics Stackdriver Adapter stack: the adapter
// that serves Cloud Monitoring series (Managed Prometheus included) to the HPA
// through the custom and external metrics APIs, with the RBAC it needs.
func BuildAdapter(a *v1alpha1.Adapter) []any {
	subject := []rbacv1.Subject{{Kind: "ServiceAccount", Name: AdapterName, Namespace: AdapterNamespace}}
	sa := &corev1.ServiceAccount{
		TypeMeta:   typeMeta("v1", "ServiceAccount"),
		ObjectMeta: metav1.ObjectMeta{Name: AdapterName, Namespace: AdapterNamespace},
	}
	if a.GCPServiceAccount != "" {
		sa.Annotations = map[string]string{gcpServiceAccountAnnotation: a.GCPServiceAccount}
	}
	return []any{
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
		adapterDeployment(a.Image),
		&corev1.Service{
			TypeMeta:   typeMeta("v1", "Service"),
			ObjectMeta: metav1.ObjectMeta{Name: AdapterName, Namespace: AdapterNamespace, Labels: adapterLabels},
			Spec: corev1.ServiceSpec{
				Type:     corev1.ServiceTypeClusterIP,
				Selector: adapterLabels,
				Ports:    []corev1.ServicePort{{Port: 443, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(443)}},
			},
		},
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
	}
}

func adapterDeployment(image string) *appsv1.Deployment {
	res := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("200Mi")}
	return &appsv1.Deployment{
		TypeMeta:   typeMeta("apps/v1", "Deployment"),
		ObjectMeta: metav1.ObjectMeta{Name: AdapterName, Namespace: AdapterNamespace, Labels: adapterLabels},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr(int32(1)),
			Selector: &metav1.LabelSelector{MatchLabels: adapterLabels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: adapterLabels},
				Spec: corev1.PodSpec{
					ServiceAccountName: AdapterName,
					Containers: []corev1.Container{{
						Name:            "pod-custom-metrics-stackdriver-adapter",
						Image:           image,
						ImagePullPolicy: corev1.PullIfNotPresent,
						Command:         []string{"/adapter", "--use-new-resource-model=true", "--fallback-for-container-metrics=true"},
						Resources:       corev1.ResourceRequirements{Requests: res, Limits: res},
						ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
							Path: "/healthz", Port: intstr.FromInt32(443), Scheme: corev1.URISchemeHTTPS,
						}}},
					}},
					// GPU and TPU node pools are tainted; the adapter must still find a node
					// in clusters made only of them.
					Tolerations: []corev1.Toleration{
						{Key: "nvidia.com/gpu", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
						{Key: "cloud.google.com/gke-tpu", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
					},
				},
			},
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
