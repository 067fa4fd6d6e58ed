// Command plaingen writes base/ and overlays/<strategy>/, the plain YAML for
// people who run no functions, from the function's output for the example
// configs (plainyaml.Examples). Run it from the repository root after `make build`:
//
//	go run ./hack/plaingen -fn bin/vllm-hpa-fn
package main

import (
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/vllm-hpa/vllm-hpa/internal/plainyaml"
	"github.com/vllm-hpa/vllm-hpa/internal/yamlfiles"
)

func main() {
	fn := flag.String("fn", "bin/vllm-hpa-fn", "the function binary (make build)")
	root := flag.String("root", ".", "the repository root")
	flag.Parse()
	files, err := plainyaml.Generate(*fn, *root, plainyaml.Examples)
	if err != nil {
		fmt.Fprintf(os.Stderr, "plaingen: %v\n", err)
		os.Exit(1)
	}
	for _, dir := range []string{"base", "overlays"} {
		own := map[string][]byte{}
		for p, b := range files {
			if rest, ok := strings.CutPrefix(p, dir+"/"); ok {
				own[rest] = b
			}
		}
		if err := yamlfiles.Replace(filepath.Join(*root, dir), own); err != nil {
			fmt.Fprintf(os.Stderr, "plaingen: %v\n", err)
			os.Exit(1)
		}
	}
	for _, p := range slices.Sorted(maps.Keys(files)) {
		fmt.Fprintln(os.Stderr, "plaingen: wrote", p)
	}
}
