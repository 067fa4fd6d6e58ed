// Package cli is vllm-hpa-fn's command line. Without arguments the binary is a
// KRM function: kustomize and kpt run it so, with a ResourceList on stdin.
// --help and --version answer without reading stdin: `kpt fn doc` runs an image
// with --help and shows what it prints.
package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/vllm-hpa/vllm-hpa/fn/api/v1alpha1"
	"github.com/vllm-hpa/vllm-hpa/fn/internal/processor"
)

// docs is where the function is documented; image is the release's image.
const (
	docs  = "https://github.com/vllm-hpa/vllm-hpa#readme"
	image = "ghcr.io/vllm-hpa/vllm-hpa-fn:" + version
)

// Main runs the command line with args (without the program name) and returns
// the exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		return processor.Main(stdin, stdout, stderr)
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, Usage())
		return 0
	case "-version", "--version", "version":
		fmt.Fprintf(stdout, "vllm-hpa-fn %s\n", version)
		return 0
	}
	fmt.Fprintf(stderr, "vllm-hpa-fn: unknown argument %q; the function takes its input on stdin from kustomize or kpt, and no arguments but --help and --version\n", args[0])
	return 2
}

// Usage is the --help text: how the function is run, the config's fields in
// short and where the documentation is.
func Usage() string {
	var keys strings.Builder
	line := 0
	for _, k := range v1alpha1.ConfigMapKeys {
		if line+len(k.Key) > 78 {
			keys.WriteString("\n ")
			line = 0
		}
		keys.WriteString(" " + k.Key)
		line += len(k.Key) + 1
	}
	return fmt.Sprintf(`vllm-hpa-fn %s: expands a %s (%s) into the objects that autoscale
a vLLM server on GKE with the HorizontalPodAutoscaler, on a vLLM gauge or on GPU utilisation.

A KRM function: it reads a ResourceList on stdin and writes one on stdout; problems
go to stderr as well, and the exit code is 1 on an error. Run it with kustomize or kpt:

  kustomize build --enable-alpha-plugins --enable-exec DIR
      a generator whose config carries config.kubernetes.io/function: {exec: {path: vllm-hpa-fn}}
      (or {container: {image: %s}}, without --enable-exec)
  kpt fn render --allow-exec PKG
      a Kptfile mutator: {exec: vllm-hpa-fn, configPath: vllmhpa.yaml} (or image: ...)
  kpt fn eval PKG --exec vllm-hpa-fn -- name=gemma strategy=vllm targetName=vllm-gemma maxReplicas=5

  vllm-hpa-fn --help | --version

Config fields (* required):
%s
A ConfigMap functionConfig (what kpt fn eval -- key=value makes) takes the flat keys
 %s

Documentation, the field reference and examples: %s
`, version, v1alpha1.Kind, v1alpha1.APIVersion, image, fields, keys.String(), docs)
}
