// Command noop is a KRM function that changes nothing, built on
// krm-functions-sdk: the floor of parsing and writing a ResourceList that the
// function's benchmarks compare against.
package main

import (
	"os"

	"github.com/kptdev/krm-functions-sdk/go/fn"
)

func main() {
	if err := fn.AsMain(fn.ResourceListProcessorFunc(func(*fn.ResourceList) (bool, error) { return true, nil })); err != nil {
		os.Exit(1)
	}
}
