package schema

import (
	"context"
	"encoding/json"
	"testing"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation"
	schemavalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"sigs.k8s.io/yaml"

	"github.com/vllm-hpa/vllm-hpa/fn/api/v1alpha1"
)

// crd is the embedded CRD as the API server reads it: v1, defaulted, converted
// to the internal version its validation works on.
func crd(t *testing.T) *apiextensions.CustomResourceDefinition {
	t.Helper()
	var v1 apiextensionsv1.CustomResourceDefinition
	if err := yaml.UnmarshalStrict(v1alpha1.CRD, &v1); err != nil {
		t.Fatal(err)
	}
	apiextensionsv1.SetObjectDefaults_CustomResourceDefinition(&v1)
	var internal apiextensions.CustomResourceDefinition
	if err := apiextensionsv1.Convert_v1_CustomResourceDefinition_To_apiextensions_CustomResourceDefinition(&v1, &internal, nil); err != nil {
		t.Fatal(err)
	}
	return &internal
}

// TestCRDIsAccepted runs the API server's CRD validation, structural-schema rules
// included, so `kubectl apply -f` of the CRD (for kubectl explain) succeeds.
func TestCRDIsAccepted(t *testing.T) {
	for _, err := range validation.ValidateCustomResourceDefinition(context.Background(), crd(t)) {
		t.Error(err)
	}
}

// TestCRDAdmitsConfigs validates configs against the CRD's schema as the API server
// would: a targetAverageValue may be a number such as 0.8, not only an integer or
// a string.
func TestCRDAdmitsConfigs(t *testing.T) {
	validator, _, err := schemavalidation.NewSchemaValidator(crd(t).Spec.Validation.OpenAPIV3Schema)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, config string
		valid        bool
	}{
		{"fraction target", `{"metric": {"targetAverageValue": 0.8}}`, true},
		{"integer target", `{"metric": {"targetAverageValue": 4}}`, true},
		{"string target", `{"metric": {"targetAverageValue": "500m"}}`, true},
		{"named port", `{"scrape": {"port": "metrics"}}`, true},
		{"behavior", `{"behavior": {"scaleUp": {"policies": [{"type": "Pods", "value": 4, "periodSeconds": 60}]}}}`, true},
		{"unknown strategy", `{"strategy": "cpu"}`, false},
		{"zero minReplicas", `{"minReplicas": 0}`, false},
		{"policy without period", `{"behavior": {"scaleUp": {"policies": [{"type": "Pods", "value": 4}]}}}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := map[string]any{"strategy": "vllm", "scaleTargetRef": map[string]any{"name": "vllm-gemma"}, "maxReplicas": 5}
			if err := json.Unmarshal([]byte(tc.config), &spec); err != nil {
				t.Fatal(err)
			}
			obj := map[string]any{"apiVersion": v1alpha1.APIVersion, "kind": v1alpha1.Kind, "metadata": map[string]any{"name": "gemma"}, "spec": spec}
			res := validator.Validate(obj)
			if res.IsValid() != tc.valid {
				t.Errorf("valid = %v, want %v: %v", res.IsValid(), tc.valid, res.Errors)
			}
		})
	}
}
