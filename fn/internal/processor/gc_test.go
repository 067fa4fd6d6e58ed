package processor

import (
	"bytes"
	"io"
	"runtime/debug"
	"testing"

	"github.com/vllm-hpa/vllm-hpa/bench/gen"
)

// TestMainRestoresCollector checks that a run leaves the garbage collector's
// settings as it found them, the default or the user's own, for a small input
// (run without collection) and for a large one (no collection while parsing,
// largeInputGCPercent after).
func TestMainRestoresCollector(t *testing.T) {
	inputs := map[string][]byte{
		"small": gen.Generator().ResourceList(),
		"large": gen.PassThrough(200).ResourceList(),
	}
	if len(inputs["small"]) >= smallInput || len(inputs["large"]) < smallInput {
		t.Fatalf("the inputs are %d and %d bytes, want one on each side of %d", len(inputs["small"]), len(inputs["large"]), smallInput)
	}
	for name, in := range inputs {
		for _, percent := range []int{100, 50, -1} {
			limit := int64(1 << 40)
			prevPercent, prevLimit := debug.SetGCPercent(percent), debug.SetMemoryLimit(limit)
			code := Main(bytes.NewReader(in), io.Discard, io.Discard)
			gotPercent, gotLimit := debug.SetGCPercent(prevPercent), debug.SetMemoryLimit(prevLimit)
			if code != 0 {
				t.Fatalf("%s: exit code %d", name, code)
			}
			if gotPercent != percent || gotLimit != limit {
				t.Errorf("%s, GOGC %d: the run left GOGC %d and memory limit %d, want %d and %d", name, percent, gotPercent, gotLimit, percent, limit)
			}
		}
	}
}
