// Command vllm-hpa-whatif replays traffic against generated autoscaling
// before it is deployed; see vllm-hpa-whatif --help.
package main

import (
	"os"

	"github.com/vllm-hpa/vllm-hpa/internal/whatif"
)

func main() {
	os.Exit(whatif.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
