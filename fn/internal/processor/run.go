package processor

import (
	"fmt"
	"io"

	"github.com/kptdev/krm-functions-sdk/go/fn"
)

// Main reads a ResourceList from stdin, runs the function and writes the
// ResourceList to stdout. Errors and warnings are also written to stderr, because
// kustomize drops a function's results. It returns the process exit code: 1
// exactly when there is an error result or the input cannot be read.
func Main(stdin io.Reader, stdout, stderr io.Writer) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "vllm-hpa: internal error: %v\n", r)
			code = 1
		}
	}()
	in, err := io.ReadAll(stdin)
	if err != nil {
		fmt.Fprintf(stderr, "vllm-hpa: cannot read the input: %v\n", err)
		return 1
	}
	rl, err := fn.ParseResourceList(in)
	if err != nil {
		fmt.Fprintf(stderr, "vllm-hpa: the input is not a KRM ResourceList (%v); run the function through kustomize or kpt, or pipe a ResourceList (kind: ResourceList, items: [...]) to it\n", err)
		return 1
	}
	Process(rl)
	out, err := rl.ToYAML()
	if err != nil {
		fmt.Fprintf(stderr, "vllm-hpa: cannot write the output: %v\n", err)
		return 1
	}
	if _, err := stdout.Write(out); err != nil {
		fmt.Fprintf(stderr, "vllm-hpa: cannot write the output: %v\n", err)
		return 1
	}
	for _, r := range rl.Results {
		if r.Severity == fn.Error || r.Severity == fn.Warning {
			fmt.Fprintln(stderr, r.String())
		}
	}
	if hasError(rl.Results) {
		return 1
	}
	return 0
}
