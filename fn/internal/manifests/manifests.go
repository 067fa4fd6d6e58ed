// Package manifests turns validated VLLMHPAConfigs into the Kubernetes objects that
// autoscale their workloads. It is pure: no I/O, no clock, same input same output.
package manifests

import (
	"cmp"
	"slices"

	"github.com/vllm-hpa/vllm-hpa/fn/api/v1alpha1"
)

// Object is one desired object with the configs that want it.
type Object struct {
	// Value is the typed object (a k8s.io/api struct or a gmp struct).
	Value any
	// Owners are the configs that want the object, as "namespace/name", sorted.
	// Per-model objects have one owner; cluster-wide objects have every config
	// that needs them.
	Owners []string
	// File is the base name of the file the object belongs in, next to the config
	// of its first owner.
	File string
}

// Build returns every object the configs need, per-model objects first in config
// order, then the cluster-wide objects once. Configs must be defaulted and valid.
func Build(configs []*v1alpha1.VLLMHPAConfig) []Object {
	configs = slices.SortedFunc(slices.Values(configs), func(a, b *v1alpha1.VLLMHPAConfig) int {
		return cmp.Compare(Key(a), Key(b))
	})
	var out, adapter, dcgm []Object
	var adapterOwners, dcgmOwners []string
	var adapterConfig, dcgmConfig *v1alpha1.VLLMHPAConfig
	for _, c := range configs {
		key := Key(c)
		file := "vllmhpa-" + c.Name + ".yaml"
		for _, v := range BuildMetricSource(c) {
			out = append(out, Object{Value: v, Owners: []string{key}, File: file})
		}
		out = append(out, Object{Value: BuildHPA(c), Owners: []string{key}, File: file})
		if !*c.Spec.ClusterResources || !c.UsesAdapter() {
			continue
		}
		if adapterConfig == nil {
			adapterConfig = c
		}
		adapterOwners = append(adapterOwners, key)
		if c.Spec.Strategy == v1alpha1.StrategyGPU {
			if dcgmConfig == nil {
				dcgmConfig = c
			}
			dcgmOwners = append(dcgmOwners, key)
		}
	}
	if adapterConfig != nil {
		for _, v := range BuildAdapter(adapterConfig.Spec.Adapter) {
			adapter = append(adapter, Object{Value: v, Owners: adapterOwners, File: AdapterFile})
		}
		for _, v := range BuildWorkloadIdentity(adapterConfig.Spec.Adapter) {
			adapter = append(adapter, Object{Value: v, Owners: adapterOwners, File: WorkloadIdentityFile})
		}
	}
	if len(dcgmOwners) > 0 {
		for _, v := range BuildDCGM(dcgmConfig.Spec.GPU.Source) {
			dcgm = append(dcgm, Object{Value: v, Owners: dcgmOwners, File: DCGMFile})
		}
	}
	return append(append(out, adapter...), dcgm...)
}

// Key identifies a config as "namespace/name", the value of the ownership annotation.
func Key(c *v1alpha1.VLLMHPAConfig) string { return c.Namespace + "/" + c.Name }
