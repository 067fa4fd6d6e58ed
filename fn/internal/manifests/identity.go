package manifests

import (
	"fmt"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/vllm-hpa/vllm-hpa/fn/api/v1alpha1"
	"github.com/vllm-hpa/vllm-hpa/fn/internal/gke"
	"github.com/vllm-hpa/vllm-hpa/fn/internal/gmp"
)

// ID identifies an object the way the API server does: group, kind, namespace
// and name. The version does not matter, and Namespace is empty for a
// cluster-scoped kind whatever metadata.namespace says.
type ID struct {
	Group, Kind, Namespace, Name string
}

// String names the object as messages do: "Kind namespace/name" or "Kind name".
func (id ID) String() string {
	if id.Namespace == "" {
		return id.Kind + " " + id.Name
	}
	return fmt.Sprintf("%s %s/%s", id.Kind, id.Namespace, id.Name)
}

// NewID returns the identity of an object as written: its apiVersion, kind,
// metadata.namespace and metadata.name. The namespace of a cluster-scoped kind
// is dropped (the API server ignores a stray one), and a namespaced object
// without one is in "default", as kubectl would apply it.
func NewID(apiVersion, kind, namespace, name string) ID {
	group := ""
	if i := strings.LastIndexByte(apiVersion, '/'); i >= 0 {
		group = apiVersion[:i]
	}
	switch {
	case clusterScoped[schema.GroupKind{Group: group, Kind: kind}]:
		namespace = ""
	case namespace == "":
		namespace = v1alpha1.DefaultNamespace
	}
	return ID{Group: group, Kind: kind, Namespace: namespace, Name: name}
}

// clusterScoped lists the cluster-scoped kinds the function emits, and the
// built-in ones it may meet among the items, so that a stray metadata.namespace
// on one of them does not make it another object. A test holds the list to
// what Build emits.
var clusterScoped = map[schema.GroupKind]bool{
	{Group: "", Kind: "Namespace"}:                                                  true,
	{Group: "", Kind: "Node"}:                                                       true,
	{Group: "", Kind: "PersistentVolume"}:                                           true,
	{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"}:                       true,
	{Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBinding"}:                true,
	{Group: "apiregistration.k8s.io", Kind: "APIService"}:                           true,
	{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}:               true,
	{Group: "admissionregistration.k8s.io", Kind: "MutatingWebhookConfiguration"}:   true,
	{Group: "admissionregistration.k8s.io", Kind: "ValidatingWebhookConfiguration"}: true,
	{Group: "scheduling.k8s.io", Kind: "PriorityClass"}:                             true,
	{Group: "storage.k8s.io", Kind: "StorageClass"}:                                 true,
	{Group: gmp.Group, Kind: "ClusterPodMonitoring"}:                                true,
	{Group: gmp.Group, Kind: "ClusterRules"}:                                        true,
	{Group: gmp.Group, Kind: "GlobalRules"}:                                         true,
	{Group: gmp.Group, Kind: "ClusterNodeMonitoring"}:                               true,
}

// perModelKinds are the kinds of the objects the function emits for one config,
// named and namespaced as the config is.
var perModelKinds = map[schema.GroupKind]bool{
	{Group: gmp.Group, Kind: "PodMonitoring"}:                   true,
	{Group: gmp.Group, Kind: "Rules"}:                           true,
	{Group: "autoscaling", Kind: "HorizontalPodAutoscaler"}:     true,
	{Group: groupOf(gke.APIVersion), Kind: "AutoscalingMetric"}: true,
}

func groupOf(apiVersion string) string { return schema.FromAPIVersionAndKind(apiVersion, "").Group }

// Generates reports whether the config owner ("namespace/name") may emit an
// object of identity id, with any of its settings: its per-model objects, or
// one of the cluster-wide objects every config may share.
func Generates(owner string, id ID) bool {
	if perModelKinds[schema.GroupKind{Group: id.Group, Kind: id.Kind}] {
		return owner == id.Namespace+"/"+id.Name
	}
	return IsClusterWide(id)
}

// MayGenerate reports whether some config may emit an object of identity id:
// a per-model kind (any name is some config's name) or a cluster-wide object.
func MayGenerate(id ID) bool {
	return perModelKinds[schema.GroupKind{Group: id.Group, Kind: id.Kind}] || IsClusterWide(id)
}

// IsClusterWide reports whether id is one of the objects all configs share:
// the cluster-wide objects, and the adapter's IAM grants, which are as
// singular as the adapter but live in the namespace Config Connector manages
// for the project, which the config names (spec.adapter.workloadIdentity.namespace).
func IsClusterWide(id ID) bool {
	if clusterWide()[id] {
		return true
	}
	anywhere := id
	anywhere.Namespace = ""
	return workloadIdentityGrants()[anywhere]
}

// workloadIdentityGrants holds the identities, without their namespace, of
// every IAMPolicyMember BuildWorkloadIdentity emits, in either form.
var workloadIdentityGrants = sync.OnceValue(func() map[ID]bool {
	ids := map[ID]bool{}
	wi := &v1alpha1.WorkloadIdentity{ProjectID: "project", ProjectNumber: "1", Namespace: "project"}
	for _, gsa := range []string{"", "reader@project.iam.gserviceaccount.com"} {
		for _, v := range BuildWorkloadIdentity(&v1alpha1.Adapter{WorkloadIdentity: wi, GCPServiceAccount: gsa}) {
			id := IDOf(v)
			id.Namespace = ""
			ids[id] = true
		}
	}
	return ids
})

// clusterWide holds the identities of every cluster-wide object the function
// emits with any of its settings: the adapter stack, hardened or not, with or
// without external metrics, and the DCGM scrape and rule of either source.
var clusterWide = sync.OnceValue(func() map[ID]bool {
	ids := map[ID]bool{}
	var objects []any
	for _, hardening := range []bool{true, false} {
		for _, external := range []bool{true, false} {
			objects = append(objects, BuildAdapter(&v1alpha1.Adapter{Image: v1alpha1.DefaultAdapterImage, Hardening: &hardening, ExternalMetrics: &external})...)
		}
	}
	for _, source := range []v1alpha1.GPUSource{v1alpha1.GPUSourceOwn, v1alpha1.GPUSourceGKEManaged} {
		objects = append(objects, BuildDCGM(source)...)
	}
	for _, v := range objects {
		ids[IDOf(v)] = true
	}
	return ids
})

// typed is what every object the function builds is: it has a kind and metadata.
type typed interface {
	GetObjectKind() schema.ObjectKind
	GetNamespace() string
	GetName() string
}

// IDOf returns the identity of a typed object that Build returns.
func IDOf(v any) ID {
	t, ok := v.(typed)
	if !ok {
		panic(fmt.Sprintf("manifests: %T is not a Kubernetes object", v))
	}
	gvk := t.GetObjectKind().GroupVersionKind()
	return NewID(gvk.GroupVersion().String(), gvk.Kind, t.GetNamespace(), t.GetName())
}
