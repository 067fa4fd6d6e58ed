package processor_test

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	"github.com/kptdev/krm-functions-sdk/go/fn"

	"github.com/vllm-hpa/vllm-hpa/bench/gen"
	"github.com/vllm-hpa/vllm-hpa/fn/internal/processor"
)

// benchCase is one input of the benchmarks.
type benchCase struct {
	name string
	in   []byte
}

// benchCases are the generator mode and, per size, packages with one config of
// each strategy as functionConfig, three configs among the items, and the
// function's own output run again (a kpt render after the first).
func benchCases(b *testing.B) []benchCase {
	cases := []benchCase{{"generator", gen.Generator().ResourceList()}}
	for _, n := range gen.Sizes {
		vllm := gen.PassThrough(n).ResourceList()
		out, stderr, code := run(vllm)
		if code != 0 {
			b.Fatalf("%d items: the function failed: %s", n, stderr)
		}
		cases = append(cases,
			benchCase{fmt.Sprintf("items=%d/fc-vllm", n), vllm},
			benchCase{fmt.Sprintf("items=%d/fc-gpu", n), gen.Package{Items: n, FunctionConfig: gen.GPU}.ResourceList()},
			benchCase{fmt.Sprintf("items=%d/3-item-configs", n), gen.Package{Items: n, ItemConfigs: []gen.Strategy{gen.VLLM, gen.GPU, gen.VLLM}}.ResourceList()},
			benchCase{fmt.Sprintf("items=%d/rerun", n), out},
		)
	}
	return cases
}

// BenchmarkMain measures the function as its binary runs it: parse, process,
// serialize. BenchmarkNoop over the same inputs is the floor it is compared to.
func BenchmarkMain(b *testing.B) {
	for _, c := range benchCases(b) {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.in)))
			for b.Loop() {
				if code := processor.Main(bytes.NewReader(c.in), io.Discard, io.Discard); code != 0 {
					b.Fatalf("exit code %d", code)
				}
			}
		})
	}
}

// BenchmarkNoop is a function that changes nothing, built on the SDK's fn.Run:
// the cost of parsing and writing the ResourceList alone.
func BenchmarkNoop(b *testing.B) {
	noop := fn.ResourceListProcessorFunc(func(*fn.ResourceList) (bool, error) { return true, nil })
	for _, c := range benchCases(b) {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.in)))
			for b.Loop() {
				if _, err := fn.Run(noop, c.in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkProcess measures Process alone, the part the function adds to the
// floor; the input is parsed afresh, untimed, for every run.
func BenchmarkProcess(b *testing.B) {
	for _, c := range benchCases(b) {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				rl, err := fn.ParseResourceList(c.in)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				processor.Process(rl)
			}
		})
	}
}

// TestBenchPackagesPassThrough runs the function over the benchmarks' kinds of
// package, smaller: it must succeed, and every user object, comments and flow
// style included, must come out byte-identical.
func TestBenchPackagesPassThrough(t *testing.T) {
	for name, p := range map[string]gen.Package{
		"fc-vllm":        gen.PassThrough(60),
		"fc-gpu":         {Items: 60, FunctionConfig: gen.GPU},
		"3-item-configs": {Items: 60, ItemConfigs: []gen.Strategy{gen.VLLM, gen.GPU, gen.VLLM}},
	} {
		t.Run(name, func(t *testing.T) {
			in := p.ResourceList()
			out, stderr, code := run(in)
			if code != 0 {
				t.Fatalf("exit code %d: %s", code, stderr)
			}
			rlIn, err := fn.ParseResourceList(in)
			if err != nil {
				t.Fatal(err)
			}
			rlOut, err := fn.ParseResourceList(out)
			if err != nil {
				t.Fatalf("output is not a ResourceList: %v", err)
			}
			got := map[string]string{}
			for _, o := range rlOut.Items {
				got[o.GetKind()+"/"+o.GetNamespace()+"/"+o.GetName()] = o.String()
			}
			for _, o := range rlIn.Items {
				key := o.GetKind() + "/" + o.GetNamespace() + "/" + o.GetName()
				if got[key] != o.String() {
					t.Errorf("%s changed:\n--- in\n%s\n--- out\n%s", key, o.String(), got[key])
				}
			}
			if len(rlOut.Items) <= len(rlIn.Items) {
				t.Errorf("%d items out of %d in: nothing generated", len(rlOut.Items), len(rlIn.Items))
			}
		})
	}
}
