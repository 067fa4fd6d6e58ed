// Command vllm-sim is a stand-in for a vLLM server; see vllm-sim --help.
package main

import (
	"os"

	"github.com/vllm-hpa/vllm-hpa/internal/vllmsim"
)

func main() {
	os.Exit(vllmsim.Main(os.Args[1:], os.Stderr))
}
