package v1alpha1

import _ "embed"

// CRD is the CustomResourceDefinition of VLLMHPAConfig that controller-gen writes
// from the kubebuilder markers on these types (make generate). Its
// openAPIV3Schema is the one schema of the config: the function validates
// configs against it, and the editor JSON Schema, the KRMFunctionDefinition and
// the field reference in docs/api.md are generated from it.
//
//go:embed vllmhpa.dev_vllmhpaconfigs.yaml
var CRD []byte
