// Command checktools says which of the tools the integration tests run besides
// Go are here: the kpt CLI and podman. `make test` runs it first, because `go
// test` shows no skipped test of a package that passes: a developer without
// podman reads here that the container tests are skipped, and why. In CI
// (CI=true) a missing tool is an error.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/vllm-hpa/vllm-hpa/internal/testenv"
)

func main() {
	root := flag.String("root", ".", "the repository root")
	flag.Parse()
	missing := false
	report := func(tests, have string, err error) {
		if err != nil {
			missing = true
			outcome := "are skipped"
			if testenv.InCI() {
				outcome = "fail"
			}
			fmt.Fprintf(os.Stderr, "checktools: the %s %s: %v\n", tests, outcome, err)
			return
		}
		fmt.Fprintf(os.Stderr, "checktools: the %s run with %s\n", tests, have)
	}
	kpt, err := testenv.Kpt(*root)
	report("kpt CLI tests", "kpt "+testenv.KptVersion+" ("+kpt+")", err)
	podman, err := testenv.FindPodman()
	version := ""
	if err == nil {
		version = podman.Version
	}
	report("container image tests", "podman "+version, err)
	if missing && testenv.InCI() {
		fmt.Fprintln(os.Stderr, "checktools: CI must run every test: install what is missing (.ci/run does)")
		os.Exit(1)
	}
}
