package manifests

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vllm-hpa/vllm-hpa/fn/api/v1alpha1"
	"github.com/vllm-hpa/vllm-hpa/fn/internal/kcc"
)

// WorkloadIdentityFile holds the adapter's IAM grants, apart from the stack: they
// live in the namespace Config Connector manages, not in custom-metrics.
const WorkloadIdentityFile = "custom-metrics-stackdriver-adapter-iam.yaml"

// The roles the adapter's identity needs: to read Cloud Monitoring, and, in the
// older form, to act as the Google service account its Kubernetes service account
// is annotated with (cloud.google.com/kubernetes-engine/docs/how-to/workload-identity).
const (
	monitoringViewerRole     = "roles/monitoring.viewer"
	workloadIdentityUserRole = "roles/iam.workloadIdentityUser"
)

// BuildWorkloadIdentity returns the Config Connector IAMPolicyMember objects that
// let the adapter read Cloud Monitoring, or nothing when a.WorkloadIdentity is
// not set. Without gcpServiceAccount: roles/monitoring.viewer on the project for
// the adapter's Kubernetes service account itself, named by its IAM principal
// (Workload Identity Federation for GKE). With it: roles/iam.workloadIdentityUser
// on that Google service account for the Kubernetes service account, and
// roles/monitoring.viewer on the project for the Google service account. The
// resources are named by Config Connector's external references
// (projects/{{project_id}}, and
// projects/{{project}}/serviceAccounts/{{account_id}}@{{project}}.iam.gserviceaccount.com:
// GoogleCloudPlatform/k8s-config-connector, resource-docs/iam/iampolicymember.md).
// Configs must be valid.
func BuildWorkloadIdentity(a *v1alpha1.Adapter) []any {
	wi := a.WorkloadIdentity
	if wi == nil {
		return nil
	}
	project := kcc.ResourceRef{Kind: "Project", External: "projects/" + wi.ProjectID}
	if a.GCPServiceAccount == "" {
		principal := fmt.Sprintf("principal://iam.googleapis.com/projects/%s/locations/global/workloadIdentityPools/%s.svc.id.goog/subject/ns/%s/sa/%s",
			wi.ProjectNumber, wi.ProjectID, AdapterNamespace, AdapterName)
		return []any{policyMember(wi, "monitoring-viewer", principal, monitoringViewerRole, project)}
	}
	ksa := fmt.Sprintf("serviceAccount:%s.svc.id.goog[%s/%s]", wi.ProjectID, AdapterNamespace, AdapterName)
	gsa := kcc.ResourceRef{Kind: "IAMServiceAccount",
		External: fmt.Sprintf("projects/%s/serviceAccounts/%s", v1alpha1.GSAProject(a.GCPServiceAccount), a.GCPServiceAccount)}
	return []any{
		policyMember(wi, "monitoring-viewer", "serviceAccount:"+a.GCPServiceAccount, monitoringViewerRole, project),
		policyMember(wi, "workload-identity-user", ksa, workloadIdentityUserRole, gsa),
	}
}

// policyMember is one grant, named after the adapter and what it grants.
func policyMember(wi *v1alpha1.WorkloadIdentity, what, member, role string, on kcc.ResourceRef) *kcc.IAMPolicyMember {
	return &kcc.IAMPolicyMember{
		TypeMeta:   metav1.TypeMeta{APIVersion: kcc.APIVersion, Kind: "IAMPolicyMember"},
		ObjectMeta: metav1.ObjectMeta{Name: AdapterName + "-" + what, Namespace: wi.Namespace},
		Spec:       kcc.IAMPolicyMemberSpec{Member: member, Role: role, ResourceRef: on},
	}
}
