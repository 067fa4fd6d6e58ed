package cluster

import (
	"strings"

	nodefast "sigs.k8s.io/kwok/kustomize/stage/node/fast"
	podfast "sigs.k8s.io/kwok/kustomize/stage/pod/fast"
)

// kwokStages returns KWOK's "fast" lifecycle: nodes become Ready at once, pods
// become Running and Ready as soon as they are bound, and deleted pods go
// away. KWOK refuses to start without stages; these ship in its module, so
// they match the pinned KWOK version.
func kwokStages() string {
	return strings.Join([]string{
		nodefast.DefaultNodeInit,
		podfast.DefaultPodReady,
		podfast.DefaultPodComplete,
		podfast.DefaultPodDelete,
	}, "\n---\n")
}
