// Command vllm-hpa-fn is the vllm-hpa KRM function: it expands VLLMHPAConfig
// resources into the objects that autoscale vLLM on GKE. It reads a ResourceList
// on stdin and writes one on stdout, for kustomize and kpt.
package main

import (
	"os"

	"github.com/vllm-hpa/vllm-hpa/fn/internal/processor"
)

func main() {
	os.Exit(processor.Main(os.Stdin, os.Stdout, os.Stderr))
}
