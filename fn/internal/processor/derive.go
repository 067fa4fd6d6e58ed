package processor

import (
	"fmt"
	"strconv"

	"github.com/kptdev/krm-functions-sdk/go/fn"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/vllm-hpa/vllm-hpa/fn/api/v1alpha1"
	"github.com/vllm-hpa/vllm-hpa/fn/internal/workload"
)

// metricsPortName is the container port name the function looks for first.
const metricsPortName = "metrics"

// derive fills what the user left out of a defaulted config from its workload
// (none when the workload is not in the input) and reports each derived value.
// What the user gave is never overwritten.
func derive(p *prepared) fn.Results {
	src, c, w := p.src, p.config, p.workload
	if c.Spec.Strategy != v1alpha1.StrategyVLLM {
		return nil
	}
	var results fn.Results
	if w == nil {
		if !p.given.ScrapePort {
			results = append(results, src.Note(fn.Warning, scrapePortPath, nil, fmt.Sprintf(
				"is not set and %s %s is not in the function's input, so vLLM's default port %d is scraped; "+
					"set it, or let the function read the workload (kpt, or a kustomize transformers: entry)",
				c.Spec.ScaleTargetRef.Kind, c.Spec.ScaleTargetRef.Name, v1alpha1.DefaultScrapePort)))
		}
		return results
	}
	if !p.given.PodSelector && len(w.Selector) > 0 {
		c.Spec.PodSelector = w.Selector
		results = append(results, src.Note(fn.Info, podSelectorPath, v1alpha1.FormatSelector(w.Selector), fmt.Sprintf(
			"taken from %s (%s): %s", w.Describe(), w.SelectorField, v1alpha1.FormatSelector(w.Selector))))
	}
	if !p.given.ScrapePort {
		port, why := derivePort(w)
		c.Spec.Scrape.Port = &port
		results = append(results, src.Note(fn.Info, scrapePortPath, port.String(), fmt.Sprintf(
			"set to %s for %s: %s", port.String(), w.Describe(), why)))
	}
	return append(results, resolvePortNumber(p)...)
}

// derivePort picks the port vLLM serves /metrics on: a container port named
// metrics, else the --port argument, else vLLM's default.
func derivePort(w *workload.Workload) (intstr.IntOrString, string) {
	c := w.VLLMContainer()
	if c == nil {
		return intstr.FromInt32(v1alpha1.DefaultScrapePort), "vLLM's default port, as no container can be told to run vLLM"
	}
	for _, p := range c.Ports {
		if p.Name == metricsPortName {
			return intstr.FromString(metricsPortName), fmt.Sprintf("container %s has a port named %s", c.Name, metricsPortName)
		}
	}
	if v, ok := w.VLLMFlag("--port"); ok {
		if n, err := strconv.Atoi(v); err == nil {
			return intstr.FromInt(n), fmt.Sprintf("container %s runs vLLM with --port %d", c.Name, n)
		}
	}
	return intstr.FromInt32(v1alpha1.DefaultScrapePort), fmt.Sprintf("vLLM's default port, as container %s has no port named %s and no --port", c.Name, metricsPortName)
}
