// Command noop-typed is the no-op function of bench/noop linked with the
// Kubernetes API packages vllm-hpa-fn builds its objects from (k8s.io/api
// typed objects are part of the function's design). It does nothing with them:
// it measures what linking and initialising them costs every process, the part
// of vllm-hpa-fn's start-up that no change to the function's own code removes.
// A test in bench/cmd/compare keeps its imports equal to the function's.
package main

import (
	"os"

	"github.com/kptdev/krm-functions-sdk/go/fn"
	_ "k8s.io/api/apps/v1"
	_ "k8s.io/api/autoscaling/v2"
	_ "k8s.io/api/core/v1"
	_ "k8s.io/api/networking/v1"
	_ "k8s.io/api/rbac/v1"
	_ "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
)

func main() {
	if err := fn.AsMain(fn.ResourceListProcessorFunc(func(*fn.ResourceList) (bool, error) { return true, nil })); err != nil {
		os.Exit(1)
	}
}
