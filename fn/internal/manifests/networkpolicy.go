package manifests

import (
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// The GKE metadata server, which hands the adapter its Workload Identity token:
// "allow egress to 169.254.169.252/32 on port 988", and with Dataplane V2 to
// 169.254.169.254/32 on port 80 (cloud.google.com/kubernetes-engine/docs/concepts/workload-identity).
const (
	metadataServerCIDR    = "169.254.169.252/32"
	metadataServerPort    = 988
	metadataLinkLocalIP   = "169.254.169.254/32"
	metadataLinkLocalPort = 80
)

// adapterNetworkPolicy limits the adapter pods to the traffic they need, in both
// directions. Peers are left open where no label or fixed address names them: the
// API server calls in from the control plane, which has no pod labels; DNS may be
// kube-dns, NodeLocal DNSCache or Cloud DNS; the API server and Cloud Monitoring
// (monitoring.googleapis.com) have addresses unknown when the manifest is written.
// Ports are never left open.
func adapterNetworkPolicy() *networkingv1.NetworkPolicy {
	return &networkingv1.NetworkPolicy{
		TypeMeta:   typeMeta("networking.k8s.io/v1", "NetworkPolicy"),
		ObjectMeta: metav1.ObjectMeta{Name: AdapterName, Namespace: AdapterNamespace, Labels: adapterLabels},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: adapterLabels},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{
				{Ports: ports(corev1.ProtocolTCP, adapterSecurePort)},
			},
			Egress: []networkingv1.NetworkPolicyEgressRule{
				{Ports: append(ports(corev1.ProtocolUDP, 53), ports(corev1.ProtocolTCP, 53)...)},
				{Ports: ports(corev1.ProtocolTCP, 443)},
				{To: ipBlock(metadataServerCIDR), Ports: ports(corev1.ProtocolTCP, metadataServerPort)},
				{To: ipBlock(metadataLinkLocalIP), Ports: ports(corev1.ProtocolTCP, metadataLinkLocalPort)},
			},
		},
	}
}

func ports(protocol corev1.Protocol, port int32) []networkingv1.NetworkPolicyPort {
	p := intstr.FromInt32(port)
	return []networkingv1.NetworkPolicyPort{{Protocol: &protocol, Port: &p}}
}

func ipBlock(cidr string) []networkingv1.NetworkPolicyPeer {
	return []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: cidr}}}
}
