package config

import (
	"strings"
	"testing"

	"github.com/kptdev/krm-functions-sdk/go/fn"
)

// TestDuplicateKeys feeds configs as kpt streams them (annotations added, the
// object moved down) and checks the field and the lines of the file named.
func TestDuplicateKeys(t *testing.T) {
	cases := []struct {
		name, input string
		want        []string // result messages
	}{
		{
			name: "kpt added the annotations: key",
			// The file: apiVersion, kind, metadata, name, spec, then maxReplicas on lines 6 and 7.
			input: `apiVersion: config.kubernetes.io/v1
kind: ResourceList
items:
- apiVersion: v1
  kind: Service
  metadata: {name: vllm}
- apiVersion: vllmhpa.dev/v1alpha1
  kind: VLLMHPAConfig
  metadata:
    name: a
    annotations:
      config.kubernetes.io/index: '0'
      config.kubernetes.io/path: 'a.yaml'
      internal.config.kubernetes.io/index: '0'
      internal.config.kubernetes.io/path: 'a.yaml'
      config.k8s.io/id: '2'
  spec:
    maxReplicas: 5
    maxReplicas: 6
`,
			want: []string{"spec.maxReplicas: Duplicate value: set twice (a.yaml, lines 6 and 7); keep one"},
		},
		{
			name: "head comment, the user's annotation kept, a list",
			// The file: two comment lines, then the object; type on lines 13 and 15.
			input: `apiVersion: config.kubernetes.io/v1
kind: ResourceList
items: []
functionConfig:
  # Line one of the file.
  # Line two.
  apiVersion: vllmhpa.dev/v1alpha1
  kind: VLLMHPAConfig
  metadata:
    name: a
    annotations:
      config.kubernetes.io/local-config: "true"
      internal.config.kubernetes.io/path: 'dir/a.yaml'
      internal.config.kubernetes.io/index: '0'
  spec:
    behavior:
      scaleUp:
        policies:
        - type: Pods
          value: 2
          type: Percent
`,
			want: []string{"spec.behavior.scaleUp.policies[0].type: Duplicate value: set twice (dir/a.yaml, lines 13 and 15); keep one"},
		},
		{
			name: "second object of its file: no lines",
			input: `apiVersion: config.kubernetes.io/v1
kind: ResourceList
items:
- apiVersion: vllmhpa.dev/v1alpha1
  kind: VLLMHPAConfig
  metadata:
    name: a
    annotations:
      internal.config.kubernetes.io/path: 'a.yaml'
      internal.config.kubernetes.io/index: '1'
  spec: {strategy: vllm, strategy: gpu}
`,
			want: []string{"spec.strategy: Duplicate value: set twice; keep one"},
		},
		{
			name: "ConfigMap functionConfig without a file",
			input: `apiVersion: config.kubernetes.io/v1
kind: ResourceList
items: []
functionConfig:
  apiVersion: v1
  kind: ConfigMap
  metadata: {name: c}
  data: {name: a, name: b}
`,
			want: []string{"data.name: Duplicate value: set twice; keep one"},
		},
		{
			name: "merge keys and other kinds are not configs' duplicates",
			input: `apiVersion: config.kubernetes.io/v1
kind: ResourceList
items:
- apiVersion: v1
  kind: Service
  metadata: {name: s, name: t}
- apiVersion: vllmhpa.dev/v1alpha1
  kind: VLLMHPAConfig
  metadata: {name: a}
  base: &b {x: 1}
  other: &o {y: 1}
  spec:
    <<: *b
    <<: *o
`,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rl, err := fn.ParseResourceList([]byte(c.input))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range DuplicateKeys(rl) {
				got = append(got, r.Message)
				if r.Severity != fn.Error || r.Field == nil || !strings.HasPrefix(r.Message, r.Field.Path+": ") {
					t.Errorf("result %+v: want an error naming its field", r)
				}
			}
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}
