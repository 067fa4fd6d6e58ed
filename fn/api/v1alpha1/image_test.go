package v1alpha1

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// TestAdapterImage shows which spec.adapter.image values are taken: the kubelet's
// reference syntax, pinned to one build by a tag other than latest or a digest.
func TestAdapterImage(t *testing.T) {
	digest := "sha256:" + strings.Repeat("ab", 32)
	cases := []struct {
		image   string
		wantErr string // "" when the image is accepted
	}{
		{DefaultAdapterImage, ""},
		{"gcr.io/gke-release/custom-metrics-stackdriver-adapter@" + digest, ""},
		{"gcr.io/gke-release/custom-metrics-stackdriver-adapter:v0.16.9-gke.0@" + digest, ""},
		{"registry.example.com:5000/mirror/adapter:v0.16.9", ""},
		{"adapter:v1", ""},
		{"gcr.io/gke-release/custom-metrics-stackdriver-adapter:latest@" + digest, ""},
		{"gcr.io/gke-release/custom-metrics-stackdriver-adapter:latest", "uses the tag latest"},
		{"gcr.io/gke-release/custom-metrics-stackdriver-adapter", "has no tag or digest"},
		{"gcr.io/gke-release/Custom-Metrics:v1", "is not a container image reference"},
		{"gcr.io/adapter@sha256:abc", "is not a container image reference"},
		{"gcr.io/adapter:v1 --privileged", "is not a container image reference"},
		{"gcr.io/adapter:" + strings.Repeat("v", 129), "is not a container image reference"},
	}
	for _, tc := range cases {
		errs := validateAdapterImage(field.NewPath("spec", "adapter", "image"), tc.image)
		switch {
		case tc.wantErr == "" && len(errs) > 0:
			t.Errorf("%q refused: %s", tc.image, errs[0])
		case tc.wantErr != "" && len(errs) == 0:
			t.Errorf("%q accepted, want an error containing %q", tc.image, tc.wantErr)
		case tc.wantErr != "" && (!strings.Contains(errs[0].Detail, tc.wantErr) || errs[0].Field != "spec.adapter.image"):
			t.Errorf("%q: %s, want spec.adapter.image and %q", tc.image, errs[0], tc.wantErr)
		}
	}
}
