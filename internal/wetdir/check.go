package wetdir

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/openapi"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// reservedPrefixes are label and annotation prefixes Config Sync writes itself;
// a source that sets them fights Config Sync over the object.
var reservedPrefixes = []string{"configsync.gke.io/", "configmanagement.gke.io/"}

// serverFields are set by the API server; committed to Git they make every sync
// a diff, or are refused outright.
var serverFields = []string{"creationTimestamp", "uid", "resourceVersion", "generation", "ownerReferences", "managedFields"}

// customScopes says which custom kinds the project emits are namespaced; the
// built-in kinds come from kyaml's copy of the Kubernetes OpenAPI document.
var customScopes = map[string]bool{
	"monitoring.googleapis.com/PodMonitoring":         true,
	"monitoring.googleapis.com/Rules":                 true,
	"monitoring.googleapis.com/ClusterPodMonitoring":  false,
	"monitoring.googleapis.com/ClusterRules":          false,
	"monitoring.googleapis.com/ClusterNodeMonitoring": false,
	"monitoring.googleapis.com/GlobalRules":           false,
}

// Check returns every way the objects break the rules Config Sync applies to an
// unstructured repository: a status, a namespace missing on a namespaced object or
// set on a cluster-scoped one, a Config Sync label or annotation, a local-config
// object (meant for functions, never for a cluster), server-set metadata, a
// Kustomization, and two objects with one group, kind, namespace and name.
func Check(objects []*yaml.RNode) []error {
	var errs []error
	seen := map[string]bool{}
	for _, obj := range objects {
		what := describe(obj)
		fail := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("%s: %s", what, fmt.Sprintf(format, args...)))
		}
		if obj.GetKind() == "Kustomization" {
			fail("a Kustomization is not an object Config Sync can sync; render it (kustomize build) and write the output instead")
			continue
		}
		if obj.Field("status") != nil {
			fail("has a status; remove it, the cluster writes status")
		}
		for _, f := range serverFields {
			if v, _ := obj.Pipe(yaml.Lookup("metadata", f)); v != nil {
				fail("has metadata.%s, which the API server sets; remove it", f)
			}
		}
		namespaced, known := isNamespaced(obj)
		switch ns := obj.GetNamespace(); {
		case !known:
			fail("the scope of %s is unknown, so its namespace cannot be checked; add it to wetdir's customScopes", groupKind(obj))
		case namespaced && ns == "":
			fail("is namespaced but has no metadata.namespace; set it explicitly (Config Sync would otherwise pick one for it)")
		case !namespaced && ns != "":
			fail("is cluster-scoped but has metadata.namespace %q; remove it", ns)
		}
		for _, kv := range []struct {
			field string
			keys  map[string]string
		}{{"labels", obj.GetLabels()}, {"annotations", obj.GetAnnotations()}} {
			for k, v := range kv.keys {
				for _, p := range reservedPrefixes {
					if strings.HasPrefix(k, p) {
						fail("sets metadata.%s %s, which Config Sync owns; remove it", kv.field, k)
					}
				}
				if k == "config.kubernetes.io/local-config" && v == "true" {
					fail("is local configuration (config.kubernetes.io/local-config: \"true\"), input to a function and never applied; leave it out of the wet directory")
				}
			}
		}
		id := groupKind(obj) + "|" + obj.GetNamespace() + "|" + obj.GetName()
		if seen[id] {
			fail("appears twice; Config Sync refuses duplicate objects, keep one")
		}
		seen[id] = true
	}
	return errs
}

// CheckDir returns the files under dir that Config Sync would not treat as plain
// YAML: a kustomization file makes it render the directory with kustomize instead.
func CheckDir(dir string) []error {
	var errs []error
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			errs = append(errs, err)
			return nil
		}
		switch d.Name() {
		case "kustomization.yaml", "kustomization.yml", "Kustomization":
			errs = append(errs, fmt.Errorf("%s: a wet directory holds no kustomization file; Config Sync would run kustomize on it", p))
		}
		return nil
	})
	return errs
}

func isNamespaced(obj *yaml.RNode) (namespaced, known bool) {
	gk := groupKind(obj)
	if namespaced, known := customScopes[gk]; known {
		return namespaced, true
	}
	// Scope belongs to the group and kind, not the version, and kyaml's built-in
	// schema (Kubernetes 1.21) lacks newer versions such as autoscaling/v2: ask it
	// about the object's version, then the versions it may know the kind by.
	group, _, _ := strings.Cut(gk, "/")
	for _, v := range []string{versionOf(obj), "v1", "v1beta1", "v2beta2", "v2beta1", "v1beta2"} {
		apiVersion := v
		if group != "" {
			apiVersion = group + "/" + v
		}
		if namespaced, known := openapi.IsNamespaceScoped(yaml.TypeMeta{APIVersion: apiVersion, Kind: obj.GetKind()}); known {
			return namespaced, true
		}
	}
	return false, false
}

func versionOf(obj *yaml.RNode) string {
	av := obj.GetApiVersion()
	return av[strings.LastIndex(av, "/")+1:]
}

func groupKind(obj *yaml.RNode) string {
	group, _, found := strings.Cut(obj.GetApiVersion(), "/")
	if !found {
		group = "" // the core group: apiVersion v1
	}
	return group + "/" + obj.GetKind()
}

func describe(obj *yaml.RNode) string {
	if ns := obj.GetNamespace(); ns != "" {
		return fmt.Sprintf("%s %s/%s", obj.GetKind(), ns, obj.GetName())
	}
	return fmt.Sprintf("%s %s", obj.GetKind(), obj.GetName())
}
