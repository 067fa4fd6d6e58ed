package v1alpha1

import (
	"bytes"
	"strings"
	"testing"
)

// TestCRDStatesTheControllersDefaults: the scale-up defaults are 4 pods or 100%
// per 15 seconds, as the HPA controller applies them, and tolerance says which
// clusters honour it, wherever the CRD's descriptions are shown.
func TestCRDStatesTheControllersDefaults(t *testing.T) {
	if bytes.Contains(CRD, []byte("per 60 seconds")) {
		t.Error(`the CRD still says "per 60 seconds"; the scale-up policies' period is 15 seconds`)
	}
	for _, want := range []string{"4 pods per 15 seconds", "double the number of pods per 15 seconds", "Kubernetes 1.35 and later honour it"} {
		if !bytes.Contains(CRD, []byte(want)) {
			t.Errorf("the CRD does not say %q", want)
		}
	}
}

func TestFixUpstreamDocs(t *testing.T) {
	upstream := "    description: |-\n      scaleUp is scaling policy for scaling Up.\n        * increase no more than 4 pods per 60 seconds\n        * double the number of pods per 60 seconds\n" +
		"      tolerance:\n        description: |-\n          set, the default cluster-wide tolerance is applied (by default 10%).\n"
	fixed, err := FixUpstreamDocs([]byte(upstream))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(fixed), "        * increase no more than 4 pods per 15 seconds\n") ||
		!strings.Contains(string(fixed), "          Kubernetes 1.35 and later honour it") {
		t.Errorf("not corrected in place, indentation kept:\n%s", fixed)
	}
	again, err := FixUpstreamDocs(fixed)
	if err != nil || !bytes.Equal(again, fixed) {
		t.Errorf("a second pass changed the CRD (err %v):\n%s", err, again)
	}
	if _, err := FixUpstreamDocs([]byte("description: reworded upstream\n")); err == nil {
		t.Error("a CRD whose upstream comments changed passed uncorrected")
	}
}
