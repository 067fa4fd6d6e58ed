// Package kcc holds Go types for the Config Connector custom resource vllm-hpa
// emits to grant the Custom Metrics Stackdriver Adapter its IAM role:
// IAMPolicyMember (iam.cnrm.cloud.google.com/v1beta1). Each struct carries only
// the fields the function sets; JSON tags match the upstream CRD
// (GoogleCloudPlatform/k8s-config-connector, config/crds/resources).
package kcc

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// APIVersion is the group/version of IAMPolicyMember.
const APIVersion = "iam.cnrm.cloud.google.com/v1beta1"

// IAMPolicyMember adds one member to one role of a Google Cloud resource's IAM
// policy, leaving the policy's other bindings alone.
type IAMPolicyMember struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              IAMPolicyMemberSpec `json:"spec"`
}

// IAMPolicyMemberSpec is the binding: who, which role, on what.
type IAMPolicyMemberSpec struct {
	Member      string      `json:"member"`
	Role        string      `json:"role"`
	ResourceRef ResourceRef `json:"resourceRef"`
}

// ResourceRef names a Google Cloud resource that Config Connector does not
// manage, by its external reference.
type ResourceRef struct {
	Kind     string `json:"kind"`
	External string `json:"external"`
}
