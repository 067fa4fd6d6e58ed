package rules

import (
	"fmt"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/relabel"
)

// GPU is one GPU as GKE's managed DCGM exporter reports it.
type GPU struct {
	Node, ExporterPod, Index string
	// Namespace and Pod name the workload using the GPU; both are empty for
	// an idle GPU, for which the exporter sets no exported_* labels at all.
	Namespace, Pod string
	Util           float64
}

// ExporterSeries returns what Prometheus stores when job scrapes the
// exporter pods of gpus: the series' own namespace/pod name the exporter pod
// in gke-managed-system, and the workload's identity arrives renamed to
// exported_namespace/exported_pod/exported_container. Besides utilisation
// there is a frame-buffer series per GPU, as the exporter has many metrics.
func ExporterSeries(job string, gpus []GPU) []Series {
	var out []Series
	for i, g := range gpus {
		l := map[string]string{
			"job":        job,
			"instance":   fmt.Sprintf("10.8.%d.12:9400", i),
			"namespace":  "gke-managed-system",
			"pod":        g.ExporterPod,
			"container":  "dcgm-exporter",
			"gpu":        g.Index,
			"device":     "nvidia" + g.Index,
			"UUID":       fmt.Sprintf("GPU-%s-%s", g.Node, g.Index),
			"modelName":  "NVIDIA L4",
			"Hostname":   g.Node,
			"project_id": "example-project",
			"location":   "us-central1",
			"cluster":    "inference",
		}
		if g.Pod != "" {
			l["exported_namespace"], l["exported_pod"], l["exported_container"] = g.Namespace, g.Pod, "vllm"
		}
		out = append(out,
			Series{Labels: with(l, "__name__", "DCGM_FI_DEV_GPU_UTIL"), Value: g.Util},
			Series{Labels: with(l, "__name__", "DCGM_FI_DEV_FB_USED"), Value: 15000})
	}
	return out
}

// Scrape applies metric relabeling to scraped series and returns the kept ones.
func Scrape(series []Series, relabeling []*relabel.Config) []Series {
	var kept []Series
	for _, s := range series {
		if lset, keep := Relabel(labels.FromMap(s.Labels), relabeling); keep {
			kept = append(kept, Series{Labels: lset.Map(), Value: s.Value})
		}
	}
	return kept
}

func with(m map[string]string, k, v string) map[string]string {
	c := map[string]string{k: v}
	for key, val := range m {
		c[key] = val
	}
	return c
}
