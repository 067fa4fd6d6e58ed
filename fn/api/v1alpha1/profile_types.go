package v1alpha1

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ProfileKind is the kind of a measured server profile.
const ProfileKind = "VLLMServerProfile"

// VLLMServerProfile is a measurement of one vLLM server under closed-loop load:
// for each number of concurrent requests, the throughput, the latency
// percentiles and the mean of the server's gauges. `vllm-loadgen profile` writes
// it; an SLO in a VLLMHPAConfig reads it to pick a target. It is local
// configuration and is never applied to a cluster.
//
// +kubebuilder:resource:path=vllmserverprofiles,scope=Namespaced
// +kubebuilder:metadata:annotations="config.kubernetes.io/local-config=true"
type VLLMServerProfile struct {
	metav1.TypeMeta `json:",inline"`
	// Standard object metadata. metadata.name is what a config's
	// spec.slo.profileRef names.
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the measurement.
	Spec VLLMServerProfileSpec `json:"spec"`
}

// VLLMServerProfileSpec is what was measured, on what, and how the server behaved.
type VLLMServerProfileSpec struct {
	// model is the served model name, as the server's /v1/models reported it,
	// e.g. google/gemma-3-1b-it.
	// +required
	// +kubebuilder:validation:MinLength=1
	Model string `json:"model"`

	// accelerator names the hardware the server ran on, e.g. nvidia-l4, as the
	// person who measured it said. It is informational.
	// +optional
	Accelerator string `json:"accelerator,omitempty"`

	// workload is the shape of every request sent during the measurement.
	// +required
	Workload ProfileWorkload `json:"workload"`

	// points are the measurements, one per concurrency level, in the order they
	// were taken (increasing concurrency when measured with the defaults).
	// +required
	// +kubebuilder:validation:MinItems=1
	// +listType=atomic
	Points []ProfilePoint `json:"points"`
}

// ProfileWorkload is the request shape of a profile: every request has the same
// prompt length and asks for the same number of output tokens.
type ProfileWorkload struct {
	// promptTokens is the length of every prompt, in tokens.
	// +required
	// +kubebuilder:validation:Minimum=1
	PromptTokens int32 `json:"promptTokens"`

	// maxTokens is the max_tokens of every request, in tokens. Requests are sent
	// with ignore_eos, so each generates exactly this many.
	// +required
	// +kubebuilder:validation:Minimum=1
	MaxTokens int32 `json:"maxTokens"`
}

// ProfilePoint is the server's behaviour while a fixed number of requests was
// kept in flight (each client sends its next request when the previous one is
// answered) for one measurement step, after a warm-up.
type ProfilePoint struct {
	// concurrency is the number of requests kept in flight.
	// +required
	// +kubebuilder:validation:Minimum=1
	Concurrency int32 `json:"concurrency"`

	// requests is the number of requests that completed successfully during the
	// step: the sample the rates and percentiles are computed from.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Requests int64 `json:"requests,omitempty"`

	// errors is the number of requests that failed during the step (an HTTP
	// error, a broken stream or a timeout). Failed requests count in no other field.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Errors int64 `json:"errors,omitempty"`

	// requestsPerSecond is requests divided by the step's length, in requests
	// per second.
	// +required
	// +kubebuilder:validation:Minimum=0
	RequestsPerSecond Decimal `json:"requestsPerSecond"`

	// outputTokensPerSecond is the output tokens of those requests (their
	// usage.completion_tokens) divided by the step's length, in tokens per second.
	// +required
	// +kubebuilder:validation:Minimum=0
	OutputTokensPerSecond Decimal `json:"outputTokensPerSecond"`

	// ttft is the time to first token: from sending a request to receiving its
	// first streamed token. Absent when no request completed in the step.
	// +optional
	TTFT *LatencyPercentiles `json:"ttft,omitempty"`

	// tpot is the time per output token after the first: for each request,
	// (time of its last token - time of its first token) / (output tokens - 1).
	// Absent when no completed request had two tokens or more.
	// +optional
	TPOT *LatencyPercentiles `json:"tpot,omitempty"`

	// gauges is the mean of each vLLM gauge over the scrapes of the server's
	// /metrics during the step, keyed by metric name (vllm:num_requests_running,
	// vllm:num_requests_waiting, vllm:kv_cache_usage_perc and any other asked
	// for). A scrape's value is the sum of the gauge's series, as the custom
	// metrics adapter reports a pod. A gauge the server never exported is absent.
	// +optional
	Gauges map[string]Decimal `json:"gauges,omitempty"`
}

// LatencyPercentiles are nearest-rank percentiles of a latency over the
// requests of a step: pN is the smallest measured value that at least N% of the
// requests did not exceed. Each is a Go duration string such as 80ms or 1.25s,
// kept to three significant digits.
type LatencyPercentiles struct {
	// p50 is the median.
	// +required
	P50 metav1.Duration `json:"p50"`
	// p90 is the 90th percentile.
	// +required
	P90 metav1.Duration `json:"p90"`
	// p99 is the 99th percentile.
	// +required
	P99 metav1.Duration `json:"p99"`
}

// Decimal is a measured number written as a plain JSON or YAML number, such as
// 3.1 or 790. It keeps the number's decimal text because controller-gen rejects
// float fields in a CRD; Float64 reads it.
//
// +kubebuilder:validation:Type=number
type Decimal string

// DecimalOf is f rounded to four significant digits, in plain notation
// (12350, 0.1123). f must be finite.
func DecimalOf(f float64) Decimal {
	if f == 0 || math.IsNaN(f) || math.IsInf(f, 0) {
		return "0"
	}
	rounded, err := strconv.ParseFloat(strconv.FormatFloat(f, 'g', 4, 64), 64)
	if err != nil {
		return "0"
	}
	return Decimal(strconv.FormatFloat(rounded, 'f', -1, 64))
}

// Float64 is the number d holds.
func (d Decimal) Float64() (float64, error) {
	f, err := strconv.ParseFloat(string(d), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%q is not a finite number", string(d))
	}
	return f, nil
}

// MarshalJSON writes d as a JSON number.
func (d Decimal) MarshalJSON() ([]byte, error) {
	if _, err := d.Float64(); err != nil {
		return nil, err
	}
	return json.Marshal(json.Number(d))
}

// UnmarshalJSON accepts a JSON number, or a string that holds one: YAML
// decoders of the Kubernetes family (sigs.k8s.io/yaml) hand a YAML number to a
// string-kinded Go type as a JSON string.
func (d *Decimal) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		b = []byte(s)
	}
	if len(b) == 0 || !(b[0] == '-' || (b[0] >= '0' && b[0] <= '9')) {
		return fmt.Errorf("want a number, got %s", b)
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("want a number, got %s", b)
	}
	if _, err := Decimal(n).Float64(); err != nil {
		return err
	}
	*d = Decimal(n.String())
	return nil
}
