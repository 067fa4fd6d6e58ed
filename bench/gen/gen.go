// Package gen writes deterministic KRM ResourceLists of realistic user objects
// and VLLMHPAConfigs, the inputs of the function's benchmarks. The same Package
// always yields the same bytes, so Go benchmarks and whole-process comparisons
// measure identical inputs.
package gen

import (
	"fmt"
	"strings"
)

// Strategy is the strategy of a generated config: "vllm" or "gpu".
type Strategy string

// The two strategies of VLLMHPAConfig.
const (
	VLLM Strategy = "vllm"
	GPU  Strategy = "gpu"
)

// Sizes are the numbers of user objects the benchmarks measure.
var Sizes = []int{1, 100, 1000, 10000}

// Package describes one ResourceList.
type Package struct {
	// Items is the number of user objects: Deployments with probes, env and
	// volumes, Services, ConfigMaps with multi-line data and objects of a custom
	// kind, in that rotation, with comments and kpt path annotations.
	Items int
	// FunctionConfig, when set, puts a config of that strategy in functionConfig,
	// as kustomize passes a generator.
	FunctionConfig Strategy
	// ItemConfigs puts one config per entry among the items, as in a kpt package.
	ItemConfigs []Strategy
	// MissingTargets leaves the vLLM servers the item configs scale out of the
	// package, as a kustomize namePrefix renames them away: each config then
	// gets the hint that names workloads of its namespace.
	MissingTargets bool
	// FlatConfigs adds that many small configs among the items, one line each,
	// scaling workloads the package lacks and leaving the scrape port out.
	FlatConfigs int
	// EmptyItems adds that many empty items ({}), the smallest an item can be.
	EmptyItems int
}

// Generator is kustomize's generator mode: a config as functionConfig, no items.
func Generator() Package { return Package{FunctionConfig: VLLM} }

// PassThrough is n user objects and one vllm config as functionConfig.
func PassThrough(n int) Package { return Package{Items: n, FunctionConfig: VLLM} }

// The input shapes that once cost time or output out of proportion to their
// size: measured by bench/cmd/compare, never timed in tests.

// ManyConfigs is n small configs and nothing else.
func ManyConfigs(n int) Package { return Package{FlatConfigs: n} }

// ConfigsInLargePackage is configs item configs, a third of them gpu, among
// items user objects that lack the workloads they scale.
func ConfigsInLargePackage(configs, items int) Package {
	p := Package{Items: items, MissingTargets: true}
	for i := range configs {
		s := VLLM
		if i%3 == 2 {
			s = GPU
		}
		p.ItemConfigs = append(p.ItemConfigs, s)
	}
	return p
}

// Empty is n empty items and a vllm config as functionConfig.
func Empty(n int) Package { return Package{EmptyItems: n, FunctionConfig: VLLM} }

// ResourceList returns the package as a config.kubernetes.io/v1 ResourceList.
// The first items are the vLLM servers the configs scale, one per config, as
// far as Items allows; the others rotate through the user object kinds.
func (p Package) ResourceList() []byte {
	var configs []string
	if p.FunctionConfig != "" {
		configs = append(configs, "model")
	}
	for i := range p.ItemConfigs {
		configs = append(configs, fmt.Sprintf("model-%d", i))
	}

	var b strings.Builder
	b.WriteString("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\n")
	if p.Items == 0 && len(p.ItemConfigs) == 0 && p.FlatConfigs == 0 && p.EmptyItems == 0 {
		b.WriteString("items: []\n")
	} else {
		b.WriteString("items:\n")
	}
	for i := range p.Items {
		doc := object(i)
		if i < len(configs) && !p.MissingTargets {
			doc = fmt.Sprintf(modelServer, configs[i])
		}
		writeIndented(&b, doc, "- ", "  ")
	}
	for i := range p.FlatConfigs {
		fmt.Fprintf(&b, flatConfig, i)
	}
	for range p.EmptyItems {
		b.WriteString("- {}\n")
	}
	for i, s := range p.ItemConfigs {
		writeIndented(&b, itemConfig(fmt.Sprintf("model-%d", i), s), "- ", "  ")
	}
	if p.FunctionConfig != "" {
		b.WriteString("functionConfig:\n")
		writeIndented(&b, functionConfig(p.FunctionConfig), "  ", "  ")
	}
	return []byte(b.String())
}

// writeIndented writes doc with first before its first line and rest before the
// others, which nests a column-0 document under a list item or a key.
func writeIndented(b *strings.Builder, doc, first, rest string) {
	for i, line := range strings.Split(strings.TrimSuffix(doc, "\n"), "\n") {
		if i == 0 {
			b.WriteString(first)
		} else if line != "" {
			b.WriteString(rest)
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
}

// object returns user object i; the kinds rotate so that every package of five
// or more objects holds each of them.
func object(i int) string {
	ns := i % 16
	switch i % 5 {
	case 0, 1:
		return fmt.Sprintf(deployment, i, ns, 1+i%4, i%30)
	case 2:
		return fmt.Sprintf(service, i, ns)
	case 3:
		return fmt.Sprintf(configMap, i, ns, 64+i%512)
	default:
		return fmt.Sprintf(custom, i, ns, 1+i%5)
	}
}

// Arguments: 1 index, 2 namespace number, 3 replicas, 4 minor version.
const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-%[1]d # the storefront backend
  namespace: team-%[2]d
  labels:
    app.kubernetes.io/name: app-%[1]d
    app.kubernetes.io/part-of: shop
    tier: backend
  annotations:
    internal.config.kubernetes.io/path: team-%[2]d/app-%[1]d.yaml
    internal.config.kubernetes.io/index: "0"
# Rolled out by CI on every merge; two replicas keep it up during a rollout.
spec:
  replicas: %[3]d
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      app.kubernetes.io/name: app-%[1]d
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 25%%, maxUnavailable: 0}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: app-%[1]d
        tier: backend
      annotations:
        prometheus.io/scrape: "true"
        prometheus.io/port: "9090"
    spec:
      serviceAccountName: app-%[1]d
      securityContext:
        runAsNonRoot: true
        fsGroup: 2000
      containers:
      - name: server
        image: registry.example.com/shop/app-%[1]d:v1.%[4]d.0
        args: ["--port=8080", "--metrics-port=9090", "--log-level=info"]
        env:
        - name: APP_NAME
          value: app-%[1]d
        - name: POD_NAMESPACE
          valueFrom:
            fieldRef: {fieldPath: metadata.namespace}
        - name: DATABASE_URL
          valueFrom:
            secretKeyRef: {name: app-%[1]d-db, key: url}
        ports:
        - {name: http, containerPort: 8080}
        - {name: metrics, containerPort: 9090}
        resources:
          requests: {cpu: 250m, memory: 256Mi}
          limits: {memory: 512Mi}
        # Ready once the caches are warm; live while the event loop answers.
        readinessProbe:
          httpGet: {path: /ready, port: http}
          periodSeconds: 5
        livenessProbe:
          httpGet:
            path: /healthz
            port: http
          initialDelaySeconds: 10
          failureThreshold: 3
        volumeMounts:
        - {name: config, mountPath: /etc/app, readOnly: true}
        - name: cache
          mountPath: /var/cache/app
      volumes:
      - name: config
        configMap:
          name: app-%[1]d-config
      - name: cache
        emptyDir: {sizeLimit: 1Gi}
`

// Arguments: 1 index, 2 namespace number.
const service = `apiVersion: v1
kind: Service
metadata:
  name: app-%[1]d
  namespace: team-%[2]d
  labels:
    app.kubernetes.io/name: app-%[1]d
    app.kubernetes.io/part-of: shop
  annotations:
    internal.config.kubernetes.io/path: team-%[2]d/app-%[1]d.yaml
    internal.config.kubernetes.io/index: "1"
spec:
  type: ClusterIP
  selector:
    app.kubernetes.io/name: app-%[1]d
  ports:
  - name: http
    port: 80
    targetPort: http # the container's named port
  - name: metrics
    port: 9090
    targetPort: metrics
`

// Arguments: 1 index, 2 namespace number, 3 cache size.
const configMap = `apiVersion: v1
kind: ConfigMap
metadata:
  name: app-%[1]d-config
  namespace: team-%[2]d
  annotations:
    internal.config.kubernetes.io/path: team-%[2]d/app-%[1]d-config.yaml
    internal.config.kubernetes.io/index: "0"
data:
  LOG_LEVEL: info
  FEATURE_FLAGS: "search,checkout,recommendations"
  app.yaml: |
    # Settings read at start-up; restart the pods to apply.
    server:
      port: 8080
      timeout: 30s
    cache:
      sizeMiB: %[3]d
      ttl: 5m
    features: [search, checkout, recommendations]
  nginx.conf: |
    server {
      listen 8080;
      location / {
        proxy_pass http://127.0.0.1:9000;
        proxy_set_header Host $host;
      }
    }
`

// Arguments: 1 index, 2 namespace number, 3 shards.
const custom = `apiVersion: cache.example.com/v1beta2
kind: RedisCluster
metadata:
  name: cache-%[1]d
  namespace: team-%[2]d
  annotations:
    internal.config.kubernetes.io/path: team-%[2]d/cache-%[1]d.yaml
    internal.config.kubernetes.io/index: "0"
spec:
  shards: %[3]d
  replicasPerShard: 2
  version: "7.2"
  persistence:
    enabled: true
    size: 10Gi
    storageClassName: premium-rwo
  # Keep cache pods off the GPU nodes.
  tolerations:
  - key: dedicated
    operator: Equal
    value: cache
    effect: NoSchedule
  resources:
    requests: {cpu: 500m, memory: 1Gi}
`

// Arguments: 1 config name.
const modelServer = `# A vLLM server on one NVIDIA L4; its config scales it.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: vllm-%[1]s
  namespace: team-0
  labels:
    app: vllm-%[1]s
  annotations:
    internal.config.kubernetes.io/path: models/vllm-%[1]s.yaml
    internal.config.kubernetes.io/index: "0"
spec:
  selector:
    matchLabels:
      app: vllm-%[1]s
  template:
    metadata:
      labels:
        app: vllm-%[1]s
    spec:
      nodeSelector:
        cloud.google.com/gke-accelerator: nvidia-l4
      containers:
      - name: vllm
        image: vllm/vllm-openai:v0.11.0
        args:
        - --model=google/gemma-3-1b-it
        - --port=8000
        - --max-num-seqs=64
        env:
        - name: HUGGING_FACE_HUB_TOKEN
          valueFrom:
            secretKeyRef: {name: hf-secret, key: hf_api_token}
        ports:
        - name: metrics # the OpenAI API and /metrics
          containerPort: 8000
        resources:
          requests: {cpu: "2", memory: 10Gi, nvidia.com/gpu: "1"}
          limits: {cpu: "2", memory: 10Gi, nvidia.com/gpu: "1"}
        startupProbe:
          httpGet: {path: /health, port: metrics}
          periodSeconds: 10
          failureThreshold: 120
        readinessProbe:
          httpGet: {path: /health, port: metrics}
          periodSeconds: 5
        volumeMounts:
        - {name: dshm, mountPath: /dev/shm}
      volumes:
      - name: dshm
        emptyDir: {medium: Memory, sizeLimit: 2Gi}
`

// Arguments: 1 index.
const flatConfig = "- {apiVersion: vllmhpa.dev/v1alpha1, kind: VLLMHPAConfig, metadata: {name: m-%[1]d, namespace: default}, " +
	"spec: {strategy: vllm, scaleTargetRef: {name: vllm-m-%[1]d}, maxReplicas: 3, podSelector: {app: vllm-m-%[1]d}}}\n"

// functionConfig is the config as kustomize hands a generator to it.
func functionConfig(s Strategy) string {
	return fmt.Sprintf(`apiVersion: vllmhpa.dev/v1alpha1
kind: VLLMHPAConfig
metadata:
  name: model
  namespace: team-0
  annotations:
    config.kubernetes.io/function: |
      exec:
        path: ../bin/vllm-hpa-fn
    config.kubernetes.io/local-config: "true"
    config.k8s.io/id: "1"
    internal.config.kubernetes.io/path: vllmhpa.yaml
    config.kubernetes.io/path: vllmhpa.yaml
%s`, spec(s, "model"))
}

// itemConfig is a config as it sits in a kpt package.
func itemConfig(name string, s Strategy) string {
	return fmt.Sprintf(`apiVersion: vllmhpa.dev/v1alpha1
kind: VLLMHPAConfig
metadata:
  name: %[1]s
  namespace: team-0
  annotations:
    config.kubernetes.io/local-config: "true"
    internal.config.kubernetes.io/path: autoscaling/%[1]s.yaml
    internal.config.kubernetes.io/index: "0"
%[2]s`, name, spec(s, name))
}

// spec targets the vLLM server of config name.
func spec(s Strategy, name string) string {
	if s == GPU {
		return fmt.Sprintf(`spec:
  strategy: gpu
  scaleTargetRef: {name: vllm-%s}
  maxReplicas: 3
`, name)
	}
	return fmt.Sprintf(`spec:
  strategy: vllm
  scaleTargetRef:
    name: vllm-%[1]s
  maxReplicas: 5
  metric:
    name: vllm:num_requests_waiting
    targetAverageValue: "4"
  podSelector:
    app: vllm-%[1]s
  scrape:
    port: metrics
`, name)
}
