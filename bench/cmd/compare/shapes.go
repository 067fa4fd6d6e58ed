package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/vllm-hpa/vllm-hpa/bench/gen"
)

// shape is an input that once cost time or output out of proportion to its
// size (many configs, configs whose targets are missing in a large package,
// millions of empty items): the function must stay within a small factor of
// the no-op on each, and print a bounded stderr.
type shape struct {
	name string
	pkg  gen.Package
}

// emptyItemBytes is what one empty item ("- {}\n") takes in the input.
const emptyItemBytes = 5

func shapes(emptyMiB int) []shape {
	n := emptyMiB << 20 / emptyItemBytes
	return []shape{
		{"16,000 configs, no objects", gen.ManyConfigs(16000)},
		{"300 configs, 12,000 objects, targets missing", gen.ConfigsInLargePackage(300, 12000)},
		{fmt.Sprintf("%d MiB of empty items (%d)", emptyMiB, n), gen.Empty(n)},
	}
}

// compareShapes times the no-op and vllm-hpa-fn on each shape, rounds times
// after a warm-up, and prints a table like the main one, with the input's size
// and the median of what vllm-hpa-fn wrote on stderr.
func compareShapes(work, base, label, ours string, rounds, emptyMiB int, w io.Writer) error {
	fmt.Fprintf(w, "\nInput shapes (bench/gen), %d rounds each:\n\n", rounds)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, strings.ReplaceAll("shape\tinput\twall BASE\twall ours\tratio\tcpu BASE\tcpu ours\tratio\tpeak RSS BASE\tpeak RSS ours\tratio\tstderr ours\t", "BASE", label))
	for i, s := range shapes(emptyMiB) {
		in := filepath.Join(work, fmt.Sprintf("shape-%d.yaml", i))
		b := s.pkg.ResourceList()
		if err := os.WriteFile(in, b, 0o644); err != nil {
			return err
		}
		samples, err := measureAll([]command{
			{argv: []string{base}, stdin: in, check: contains("kind: ResourceList")},
			{argv: []string{ours}, stdin: in, check: contains("kind: HorizontalPodAutoscaler")},
		}, rounds)
		if err != nil {
			return err
		}
		stderr := summarize(project(samples[1], func(s sample) float64 { return float64(s.stderr) })).median
		fmt.Fprintf(tw, "%s\t%s\t%s%s\t\n", s.name, mebibytes(float64(len(b))), columns(samples[0], samples[1]), bytesOf(stderr))
		tw.Flush()
	}
	return nil
}

func bytesOf(n float64) string {
	if n < 1<<10 {
		return fmt.Sprintf("%.0fB", n)
	}
	return fmt.Sprintf("%.1fKiB", n/(1<<10))
}
