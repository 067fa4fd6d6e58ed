// Package workload reads the workload an autoscaler targets from the package,
// so the function can derive what the config leaves out and catch the mistakes
// that would let everything apply and nothing scale.
package workload

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/kptdev/krm-functions-sdk/go/fn"
	corev1 "k8s.io/api/core/v1"

	"github.com/vllm-hpa/vllm-hpa/fn/api/v1alpha1"
	"github.com/vllm-hpa/vllm-hpa/fn/internal/inventory"
	"github.com/vllm-hpa/vllm-hpa/fn/internal/manifests"
)

// LeaderWorkerSet labels: every pod of a group carries the set's name; the leader
// is worker 0. The HPA averages over leaders only (the set's status.hpaPodSelector),
// and only the leader serves vLLM's API and /metrics.
const (
	lwsNameLabel        = "leaderworkerset.sigs.k8s.io/name"
	lwsWorkerIndexLabel = "leaderworkerset.sigs.k8s.io/worker-index"
)

// Workload is the scale target as found among the items.
type Workload struct {
	Object *fn.KubeObject
	// Selector holds the labels that pick the pods the HPA averages over (and the
	// PodMonitoring must scrape).
	Selector map[string]string
	// PodLabels are the labels of the pod template that serves vLLM.
	PodLabels map[string]string
	// Pod is the spec of the pods that serve vLLM.
	Pod corev1.PodSpec
	// SelectorField is where Selector was read from, for messages.
	SelectorField string

	// vllm and flags are the vLLM container and its flags, read once: several
	// configs may name one workload, and its arguments may be long.
	vllm      *corev1.Container
	vllmFound bool
	flags     map[string]string
}

// Describe names the workload as "Kind namespace/name".
func (w *Workload) Describe() string {
	return fmt.Sprintf("%s %s/%s", w.Object.GetKind(), namespaceOf(w.Object), w.Object.GetName())
}

// Find returns the workload the config targets, or nil when it is not among the
// items (kustomize generator mode only sees the config).
func Find(inv *inventory.Inventory, namespace string, ref v1alpha1.ScaleTargetRef) (*Workload, error) {
	if found := inv.Lookup(manifests.NewID(ref.APIVersion, ref.Kind, namespace, ref.Name)); len(found) > 0 {
		return read(found[0].Object)
	}
	return nil, nil
}

func read(obj *fn.KubeObject) (*Workload, error) {
	w := &Workload{Object: obj}
	template := []string{"spec", "template"}
	switch obj.GetKind() {
	case "LeaderWorkerSet":
		template = []string{"spec", "leaderWorkerTemplate", "leaderTemplate"}
		if _, found, _ := obj.NestedSubObject(template...); !found {
			template = []string{"spec", "leaderWorkerTemplate", "workerTemplate"}
		}
		w.Selector = map[string]string{lwsNameLabel: obj.GetName(), lwsWorkerIndexLabel: "0"}
		w.SelectorField = "the LeaderWorkerSet's leader pods"
	default:
		sel, _, err := obj.NestedStringMap("spec", "selector", "matchLabels")
		if err != nil {
			return nil, fmt.Errorf("%s %s: spec.selector.matchLabels: %w", obj.GetKind(), obj.GetName(), err)
		}
		w.Selector = sel
		w.SelectorField = "spec.selector.matchLabels"
	}
	var tmpl corev1.PodTemplateSpec
	sub, found, err := obj.NestedSubObject(template...)
	if err == nil && found {
		err = sub.As(&tmpl)
	}
	if err != nil {
		return nil, fmt.Errorf("%s %s: %s is not a pod template: %w", obj.GetKind(), obj.GetName(), strings.Join(template, "."), err)
	}
	w.PodLabels = tmpl.Labels
	w.Pod = tmpl.Spec
	if obj.GetKind() == "LeaderWorkerSet" {
		// The controller adds the set's labels to every pod it creates.
		w.PodLabels = merge(w.PodLabels, w.Selector)
	}
	return w, nil
}

// VLLMContainer returns the container that runs vLLM: the one whose image or
// command names vllm, else the only container; nil when none can be told apart.
func (w *Workload) VLLMContainer() *corev1.Container {
	if w.vllmFound {
		return w.vllm
	}
	w.vllmFound = true
	for i, c := range w.Pod.Containers {
		if strings.Contains(c.Image, "vllm") || strings.Contains(strings.Join(append(c.Command, c.Args...), " "), "vllm") {
			w.vllm = &w.Pod.Containers[i]
			return w.vllm
		}
	}
	if len(w.Pod.Containers) == 1 {
		w.vllm = &w.Pod.Containers[0]
	}
	return w.vllm
}

// VLLMFlag returns the value of a command-line flag of the vLLM container
// (--port=8000, --port 8000, or inside a shell string; the first one given)
// and whether it is set. The flags are read once.
func (w *Workload) VLLMFlag(name string) (string, bool) {
	if w.flags == nil {
		w.flags = map[string]string{}
		if c := w.VLLMContainer(); c != nil {
			words := commandWords(c)
			for i, word := range words {
				key, value, inline := strings.Cut(word, "=")
				if !inline {
					if i+1 >= len(words) {
						continue
					}
					value = words[i+1]
				}
				if _, seen := w.flags[key]; !seen {
					w.flags[key] = strings.Trim(value, `"'`)
				}
			}
		}
	}
	v, ok := w.flags[name]
	return v, ok
}

// VLLMIntFlag returns an integer flag of the vLLM container, or def when it is
// not set or not a number.
func (w *Workload) VLLMIntFlag(name string, def int) int {
	if v, ok := w.VLLMFlag(name); ok {
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
	}
	return def
}

// commandWords splits a container's command and arguments into words.
func commandWords(c *corev1.Container) []string {
	var words []string
	for _, s := range append(append([]string{}, c.Command...), c.Args...) {
		words = append(words, strings.Fields(s)...)
	}
	return words
}

// RequestsGPU reports whether any container of the pod asks for an NVIDIA GPU.
func (w *Workload) RequestsGPU() bool {
	for _, c := range append(append([]corev1.Container{}, w.Pod.InitContainers...), w.Pod.Containers...) {
		for _, list := range []corev1.ResourceList{c.Resources.Requests, c.Resources.Limits} {
			if q, ok := list["nvidia.com/gpu"]; ok && q.Sign() > 0 {
				return true
			}
		}
	}
	return false
}

// RemoveReplicas deletes spec.replicas from the workload and returns the value it
// had, or "" when it had none.
func (w *Workload) RemoveReplicas() (string, error) {
	v, found, err := w.Object.NestedInt64("spec", "replicas")
	if err != nil || !found {
		return "", err
	}
	if _, err := w.Object.RemoveNestedField("spec", "replicas"); err != nil {
		return "", err
	}
	return strconv.FormatInt(v, 10), nil
}

// namespaceOf is an item's namespace, "default" when it names none (as kubectl
// would apply it, and as kustomize passes resources of a kustomization without
// namespace:).
func namespaceOf(obj *fn.KubeObject) string {
	if ns := obj.GetNamespace(); ns != "" {
		return ns
	}
	return v1alpha1.DefaultNamespace
}

func merge(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// MaxCandidates bounds the workloads Candidates names.
const MaxCandidates = 5

// Candidates names, for a config whose target is not among the items, the
// first MaxCandidates workloads of the target's kind in its namespace, in
// name order (so the same input names the same ones, whatever the item order),
// and says how many more there are: kustomize renames resources (namePrefix,
// nameSuffix) before it runs transformers, so the target may be there under a
// new name. The function's own objects are never candidates.
func Candidates(inv *inventory.Inventory, namespace string, ref v1alpha1.ScaleTargetRef) (names []string, more int) {
	id := manifests.NewID(ref.APIVersion, ref.Kind, namespace, ref.Name)
	for _, e := range inv.OfKind(id.Group, id.Kind, id.Namespace) {
		if !e.Generated() && !manifests.IsClusterWide(e.ID) {
			names = append(names, e.ID.Name)
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	if len(names) > MaxCandidates {
		return names[:MaxCandidates], len(names) - MaxCandidates
	}
	return names, 0
}
