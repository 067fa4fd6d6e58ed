// Command split writes a rendered YAML stream (from `kustomize build`) into a
// Config Sync wet directory, one object per file, after checking the objects
// against Config Sync's rules. It replaces the directory's YAML files, so objects
// that left the source leave the directory.
//
//	go tool kustomize build --enable-alpha-plugins --enable-exec examples/config-sync/dry |
//	  go run ./hack/split -out examples/config-sync/wet
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/vllm-hpa/vllm-hpa/internal/wetdir"
	"github.com/vllm-hpa/vllm-hpa/internal/yamlfiles"
)

func main() {
	out := flag.String("out", "", "the wet directory to write (its YAML files are replaced)")
	source := flag.String("source", "", "the DRY source the stream was rendered from, named in each file's header")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "split: -out is required: the wet directory to write")
		os.Exit(2)
	}
	if err := run(os.Stdin, *out, *source); err != nil {
		fmt.Fprintf(os.Stderr, "split: %v\n", err)
		os.Exit(1)
	}
}

func run(stdin io.Reader, out, source string) error {
	stream, err := io.ReadAll(stdin)
	if err != nil {
		return fmt.Errorf("cannot read the YAML stream on stdin: %w", err)
	}
	objects, err := wetdir.Parse(stream)
	if err != nil {
		return err
	}
	files, err := wetdir.Files(objects, wetdir.Header(source))
	if err != nil {
		return fmt.Errorf("%w\n(nothing was written to %s)", err, out)
	}
	if err := yamlfiles.Replace(out, files); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "split: wrote %d objects to %s\n", len(files), out)
	return nil
}
