// Command vllm-loadgen sends chat-completions load to a vLLM server; see vllm-loadgen --help.
package main

import (
	"os"

	"github.com/vllm-hpa/vllm-hpa/internal/loadgen"
)

func main() {
	os.Exit(loadgen.Main(os.Args[1:], os.Stdout, os.Stderr))
}
