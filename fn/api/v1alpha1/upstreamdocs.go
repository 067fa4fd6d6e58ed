package v1alpha1

import (
	"bytes"
	"fmt"
	"strings"
)

// upstreamDocFixes correct the autoscaling/v2 doc comments that controller-gen
// copies into the CRD's description of spec.behavior, from where they reach the
// JSON Schema, the KRMFunctionDefinition, kubectl explain and the README's field
// reference. Each replaces one whole line (indentation kept) with lines of its own.
var upstreamDocFixes = []struct {
	line string
	with []string
}{
	// The default scale-up policies have a 15-second period, not 60
	// (kubernetes/kubernetes, pkg/apis/autoscaling/v2/defaults.go: scaleUpPeriod = 15),
	// as the policies field's own comment says.
	{"* increase no more than 4 pods per 60 seconds", []string{"* increase no more than 4 pods per 15 seconds"}},
	{"* double the number of pods per 60 seconds", []string{"* double the number of pods per 15 seconds"}},
	// tolerance is behind the HPAConfigurableTolerance feature gate: alpha and off
	// in 1.33 and 1.34, beta and on from 1.35 (kubernetes/kubernetes,
	// pkg/features/kube_features.go).
	{"set, the default cluster-wide tolerance is applied (by default 10%).", []string{
		"set, the default cluster-wide tolerance is applied (by default 10%). Only",
		"Kubernetes 1.35 and later honour it (feature gate HPAConfigurableTolerance, on",
		"by default from 1.35, alpha and off in 1.33 and 1.34); older clusters drop or refuse it.",
	}},
}

// FixUpstreamDocs applies upstreamDocFixes to the CRD controller-gen writes. It
// fails when a fix finds neither its line nor its result, so that a reworded
// upstream comment is reviewed instead of passing through uncorrected.
func FixUpstreamDocs(crd []byte) ([]byte, error) {
	lines := strings.Split(string(crd), "\n")
	for _, fix := range upstreamDocFixes {
		var out []string
		found := false
		for _, l := range lines {
			trimmed := strings.TrimLeft(l, " ")
			if trimmed != fix.line {
				out = append(out, l)
				continue
			}
			found = true
			indent := l[:len(l)-len(trimmed)]
			for _, w := range fix.with {
				out = append(out, indent+w)
			}
		}
		if !found && !bytes.Contains(crd, []byte(fix.with[0])) {
			return nil, fmt.Errorf("the CRD has no line %q to correct: the upstream doc comment changed; review upstreamDocFixes", fix.line)
		}
		lines = out
	}
	return []byte(strings.Join(lines, "\n")), nil
}
