// Package render runs vllm-hpa the way users do: the kustomize CLI pinned in
// the root module, `kustomize build --enable-alpha-plugins --enable-exec`, on
// a kustomization whose generators name a VLLMHPAConfig that execs the
// function binary.
package render

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// Tools are the two binaries a render needs.
type Tools struct {
	// Kustomize is the kustomize CLI (sigs.k8s.io/kustomize/kustomize/v5).
	Kustomize string
	// Function is the vllm-hpa KRM function binary.
	Function string
}

// ToolsFromEnv reads VLLMHPA_KUSTOMIZE and VLLMHPA_FN, which e2e/run.sh sets.
func ToolsFromEnv() (Tools, error) {
	t := Tools{Kustomize: os.Getenv("VLLMHPA_KUSTOMIZE"), Function: os.Getenv("VLLMHPA_FN")}
	if t.Kustomize == "" || t.Function == "" {
		return t, errors.New("VLLMHPA_KUSTOMIZE and VLLMHPA_FN are not set; run the suite with e2e/run.sh, which builds both")
	}
	return t, nil
}

// Build runs `kustomize build --enable-alpha-plugins --enable-exec dir`.
func (t Tools) Build(ctx context.Context, dir string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, t.Kustomize, "build", "--enable-alpha-plugins", "--enable-exec", dir)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w\n%s", dir, err, errOut.String())
	}
	return out.Bytes(), nil
}

// Config renders one VLLMHPAConfig as a generator next to the workload
// manifests, in a fresh kustomization under dir. configYAML must not carry
// the function annotation: Config adds it, pointing at t.Function.
func (t Tools) Config(ctx context.Context, dir, workloadYAML, configYAML string) ([]byte, error) {
	cfg := map[string]any{}
	if err := yaml.Unmarshal([]byte(configYAML), &cfg); err != nil {
		return nil, fmt.Errorf("parse VLLMHPAConfig: %w", err)
	}
	meta, _ := cfg["metadata"].(map[string]any)
	if meta == nil {
		return nil, errors.New("VLLMHPAConfig has no metadata")
	}
	annotations, _ := meta["annotations"].(map[string]any)
	if annotations == nil {
		annotations = map[string]any{}
	}
	// kustomize resolves a relative exec path against the kustomization
	// directory; an absolute path works from anywhere.
	annotations["config.kubernetes.io/function"] = "exec:\n  path: " + t.Function + "\n"
	meta["annotations"] = annotations
	annotated, err := yaml.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{
		"workload.yaml":      []byte(workloadYAML),
		"vllmhpa.yaml":       annotated,
		"kustomization.yaml": []byte("resources:\n- workload.yaml\ngenerators:\n- vllmhpa.yaml\n"),
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return nil, err
		}
	}
	return t.Build(ctx, dir)
}

// Objects splits a multi-document YAML (or JSON) stream into objects. A
// List is expanded into its items. Numbers stay integers where they are.
func Objects(stream []byte) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(stream), 4096)
	var objs []*unstructured.Unstructured
	for {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("decode rendered YAML: %w", err)
		}
		if len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
			continue
		}
		obj := &unstructured.Unstructured{}
		if err := obj.UnmarshalJSON(raw); err != nil {
			return nil, fmt.Errorf("decode rendered object: %w", err)
		}
		if !obj.IsList() {
			objs = append(objs, obj)
			continue
		}
		list, err := obj.ToList()
		if err != nil {
			return nil, err
		}
		for i := range list.Items {
			objs = append(objs, &list.Items[i])
		}
	}
}

// YAML joins objects into one multi-document stream.
func YAML(objs []*unstructured.Unstructured) ([]byte, error) {
	var docs []string
	for _, obj := range objs {
		doc, err := yaml.Marshal(obj.Object)
		if err != nil {
			return nil, err
		}
		docs = append(docs, string(doc))
	}
	return []byte(strings.Join(docs, "---\n")), nil
}

// Find returns the objects of one kind.
func Find(objs []*unstructured.Unstructured, apiVersion, kind string) []*unstructured.Unstructured {
	var found []*unstructured.Unstructured
	for _, obj := range objs {
		if obj.GetAPIVersion() == apiVersion && obj.GetKind() == kind {
			found = append(found, obj)
		}
	}
	return found
}

// TestTools returns the tools from the environment. Without them the test
// is skipped, unless VLLMHPA_E2E_REQUIRED is set (e2e/run.sh sets it), in
// which case it fails.
func TestTools(tb testing.TB) Tools {
	tb.Helper()
	t, err := ToolsFromEnv()
	if err != nil {
		if os.Getenv("VLLMHPA_E2E_REQUIRED") != "" {
			tb.Fatal(err)
		}
		tb.Skip(err)
	}
	return t
}
