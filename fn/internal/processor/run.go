package processor

import (
	"fmt"
	"io"
	"runtime/debug"

	"github.com/kptdev/krm-functions-sdk/go/fn"

	"github.com/vllm-hpa/vllm-hpa/fn/internal/config"
	"github.com/vllm-hpa/vllm-hpa/fn/internal/krm"
)

// smallInput is the input size below which a run skips garbage collection,
// and smallInputMemoryLimit the heap at which the collector runs all the same.
// A larger input is parsed without collection and written with
// largeInputGCPercent: a fifth less CPU at 1,000 items than the default 100,
// for a fifth more memory at the peak (docs/performance.md).
const (
	smallInput            = 64 << 10
	smallInputMemoryLimit = 64 << 20
	largeInputGCPercent   = 200
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
	return run(stdin, stdout, stderr)
}

// run is Main without the recover, so that tests and fuzzing see a panic at its
// cause instead of an "internal error" exit.
func run(stdin io.Reader, stdout, stderr io.Writer) int {
	in, err := io.ReadAll(io.LimitReader(stdin, MaxInputBytes+1))
	if err != nil {
		fmt.Fprintf(stderr, "vllm-hpa: cannot read the input: %v\n", err)
		return 1
	}
	if len(in) > MaxInputBytes {
		fmt.Fprintf(stderr, "vllm-hpa: the input is larger than %d MiB, the most the function reads (a package of 10,000 objects is 10-20 MiB); run it on the part of the package that holds the VLLMHPAConfig and its workload\n", MaxInputBytes>>20)
		return 1
	}
	parsed := func() {}
	if len(in) < smallInput {
		// A small input, such as a kustomize generator's lone config, leaves a
		// few MiB of garbage that exiting frees anyway; collecting it would cost
		// a tenth of the run. A memory limit keeps the collector as a backstop.
		defer debug.SetGCPercent(debug.SetGCPercent(-1))
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(smallInputMemoryLimit))
	} else {
		// Parsing builds the tree of every item, and all of it stays live until
		// the item is written: a collection during the parse would free nothing.
		// Writing then makes garbage several times the tree's size (the YAML
		// encoder's events), which a higher percentage collects less often.
		// A GOGC other than the default is the user's to keep.
		percent := debug.SetGCPercent(-1)
		defer debug.SetGCPercent(percent)
		if percent == 100 {
			percent = largeInputGCPercent
		}
		parsed = func() { debug.SetGCPercent(percent) }
	}
	aliased, err := checkInput(in)
	if err != nil {
		fmt.Fprintf(stderr, "vllm-hpa: the input is refused: %v\n", err)
		return 1
	}
	rl, err := fn.ParseResourceList(in)
	parsed()
	if err != nil {
		if res := notAnObject(in); res != nil {
			// The items cannot be written back; the result says which one is wrong.
			out, werr := krm.ResourceListYAML(&fn.ResourceList{Results: fn.Results{res}})
			if werr == nil {
				_, _ = stdout.Write(out)
			}
			fmt.Fprintln(stderr, clip(res.String()))
			return 1
		}
		fmt.Fprintf(stderr, "vllm-hpa: the input is not a KRM ResourceList (%v); run the function through kustomize or kpt, or pipe a ResourceList (kind: ResourceList, items: [...]) to it\n", err)
		return 1
	}
	rep := &report{}
	if dup := config.DuplicateKeys(rl); len(dup) > 0 {
		// Which of two values the user meant is a guess: refuse the config before
		// reading it, and write nothing.
		rep.add("", dup...)
		rl.Results = rep.results
	} else if !aliased {
		rep = process(rl)
	} else if rep, err = processAliased(rl, in); err != nil {
		fmt.Fprintf(stderr, "vllm-hpa: cannot expand the input's YAML aliases: %v\n", err)
		return 1
	}
	rl.Results = uniqueResults(rl.Results)
	rep.results = rl.Results
	out, err := krm.ResourceListYAML(rl)
	if err != nil {
		fmt.Fprintf(stderr, "vllm-hpa: cannot write the output: %v\n", err)
		return 1
	}
	if _, err := stdout.Write(out); err != nil {
		fmt.Fprintf(stderr, "vllm-hpa: cannot write the output: %v\n", err)
		return 1
	}
	rep.printStderr(stderr)
	if hasError(rl.Results) {
		return 1
	}
	return 0
}
