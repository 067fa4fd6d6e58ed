// Command vllm-hpa-fn is the vllm-hpa KRM function: it expands VLLMHPAConfig
// resources into the objects that autoscale vLLM on GKE. It reads a ResourceList
// on stdin and writes one on stdout, for kustomize and kpt; --help says more.
package main

import (
	"os"

	"github.com/vllm-hpa/vllm-hpa/fn/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
