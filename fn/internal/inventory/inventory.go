// Package inventory reads the items of a ResourceList once: the identity,
// ownership and place in the package of each, indexed for the lookups the
// function makes. Every later step asks the inventory instead of scanning the
// items again, so a run costs time in proportion to items plus configs.
package inventory

import (
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/kptdev/krm-functions-sdk/go/fn"
	"sigs.k8s.io/kustomize/kyaml/kio/kioutil"

	"github.com/vllm-hpa/vllm-hpa/fn/internal/manifests"
)

const (
	// OwnerAnnotation marks a generated object with the configs that want it, as
	// "namespace/name" joined by commas. app.kubernetes.io/managed-by is not used:
	// Config Sync overwrites it.
	OwnerAnnotation = "vllmhpa.dev/generated-by"
	// ManagedAnnotation set to "false" (any letter case) on an object hands it to
	// the user: the function neither replaces nor removes it.
	ManagedAnnotation = "vllmhpa.dev/managed"
)

// Entry is one item as the function reads it.
type Entry struct {
	Object *fn.KubeObject
	// Position is the item's place in the input.
	Position int
	ID       manifests.ID
	// Owners are the configs the ownership annotation names, as written.
	Owners []string
	// Managed is the value of the managed annotation, "" when it is absent.
	Managed string
	// Path and Index place the item in the package: the kpt annotations, or the
	// legacy ones an older orchestrator writes; "" and -1 when absent.
	Path  string
	Index int
}

// Inventory is every item of a ResourceList, read once.
type Inventory struct {
	// Items are the items, in input order.
	Items fn.KubeObjects
	// entries are the items that are objects or have a place in the package;
	// at maps each item to its entry, -1 for one that has neither (an empty
	// mapping), which costs no more than its place in at.
	entries []Entry
	at      []int32
	byID    map[manifests.ID][]int32
	// byKind lists the items of each kind and namespace, in input order.
	byKind map[kindKey][]int32
}

type kindKey struct{ group, kind, namespace string }

// New reads items.
func New(items fn.KubeObjects) *Inventory {
	inv := &Inventory{
		Items:   items,
		at:      make([]int32, len(items)),
		entries: make([]Entry, 0, len(items)),
		byID:    map[manifests.ID][]int32{},
		byKind:  map[kindKey][]int32{},
	}
	for i, item := range items {
		inv.at[i] = -1
		// Values are read as written, so that an unquoted managed: false counts.
		annotations, _, _ := item.NestedStringMap("metadata", "annotations")
		kind := item.GetKind()
		if kind == "" && len(annotations) == 0 {
			continue // nothing refers to it and it has no place: it passes through
		}
		e := Entry{Object: item, Position: i, Index: -1}
		e.Path = firstOf(annotations, kioutil.PathAnnotation, kioutil.LegacyPathAnnotation)
		if s := firstOf(annotations, kioutil.IndexAnnotation, kioutil.LegacyIndexAnnotation); s != "" {
			if n, err := strconv.Atoi(s); err == nil && n >= 0 {
				e.Index = n
			}
		}
		n := int32(len(inv.entries))
		inv.at[i] = n
		if kind != "" {
			e.ID = manifests.NewID(item.GetAPIVersion(), kind, item.GetNamespace(), item.GetName())
			if owners := annotations[OwnerAnnotation]; owners != "" {
				e.Owners = ParseOwners(owners)
			}
			e.Managed = annotations[ManagedAnnotation]
			inv.byID[e.ID] = append(inv.byID[e.ID], n)
			k := kindKey{e.ID.Group, e.ID.Kind, e.ID.Namespace}
			inv.byKind[k] = append(inv.byKind[k], n)
		}
		inv.entries = append(inv.entries, e)
	}
	return inv
}

// Entry returns the entry of items[i], nil for an item that is neither an
// object nor placed in the package.
func (inv *Inventory) Entry(i int) *Entry {
	if n := inv.at[i]; n >= 0 {
		return &inv.entries[n]
	}
	return nil
}

// Entries returns the entries, in input order.
func (inv *Inventory) Entries() []Entry { return inv.entries }

// Lookup returns the items of identity id, in input order.
func (inv *Inventory) Lookup(id manifests.ID) []*Entry {
	var out []*Entry
	for _, n := range inv.byID[id] {
		out = append(out, &inv.entries[n])
	}
	return out
}

// OfKind returns the items of a kind in a namespace, in input order.
func (inv *Inventory) OfKind(group, kind, namespace string) []*Entry {
	var out []*Entry
	for _, n := range inv.byKind[kindKey{group, kind, namespace}] {
		out = append(out, &inv.entries[n])
	}
	return out
}

// Generated reports whether the entry is an object the function generated: at
// an identity it emits, and naming as owner a config that may emit it.
func (e *Entry) Generated() bool {
	return slices.ContainsFunc(e.Owners, func(o string) bool { return manifests.Generates(o, e.ID) })
}

// File is the entry's path, cleaned, for comparing paths written differently.
func (e *Entry) File() string {
	if e.Path == "" {
		return ""
	}
	return path.Clean(e.Path)
}

// ParseOwners splits an ownership annotation into its configs, sorted, without
// blanks or repeats.
func ParseOwners(value string) []string {
	var owners []string
	for _, o := range strings.Split(value, ",") {
		if o = strings.TrimSpace(o); o != "" {
			owners = append(owners, o)
		}
	}
	slices.Sort(owners)
	return slices.Compact(owners)
}

func firstOf(m map[string]string, keys ...string) string {
	for _, k := range keys {
		if v := m[k]; v != "" {
			return v
		}
	}
	return ""
}
