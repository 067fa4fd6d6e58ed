// Package vllmsim is a stand-in for a vLLM server: it speaks enough of vLLM's
// OpenAI-compatible API (streaming included) and exports vLLM's scheduler
// metrics, so autoscaling can be exercised without a GPU.
//
// Its model of vLLM (engine.go; docs/vllm-sim-model.md has the calibration):
//   - continuous batching in steps: at most MaxNumSeqs requests run, the rest
//     wait in a FIFO queue; each step decodes one token of every running request
//     and computes chunks of new prompts, within MaxNumBatchedTokens tokens;
//   - a step lasts TimePerToken + TimePerTokenPerSeq per further decoding
//     request + PrefillTimePerToken per prompt token in it, so time to first
//     token and time per output token grow with the batch;
//   - the KV cache holds KVCacheTokens tokens: each running request's prompt and
//     output so far; vllm:kv_cache_usage_perc is the fraction in use;
//   - a request answers with completion_tokens = max_tokens (as with
//     ignore_eos) and prompt_tokens = words in the prompt, or token ids given.
package vllmsim

import (
	"context"
	"fmt"
	"time"
)

// Defaults of the stand-in; the vllm-sim flags use them.
const (
	DefaultAddr             = "127.0.0.1:8000" // vLLM serves on port 8000
	DefaultModel            = "google/gemma-3-1b-it"
	DefaultMaxNumSeqs       = 256 // vLLM's default --max-num-seqs
	DefaultMaxTokensDefault = 16
	DefaultFailStatus       = 500
	// vLLM's default step budget on GPUs under 70 GiB such as the L4, for the
	// OpenAI server (vllm-project/vllm, vllm/engine/arg_utils.py, get_batch_defaults).
	DefaultMaxNumBatchedTokens = 2048

	// The batch model's defaults are calibrated against a published vLLM
	// benchmark on one NVIDIA L4 (docs/vllm-sim-model.md).
	DefaultTimePerToken          = 5100 * time.Microsecond
	DefaultTimePerTokenPerSeq    = 40 * time.Microsecond
	DefaultPrefillTimePerToken   = 19 * time.Microsecond
	DefaultRequestOverhead       = 16 * time.Millisecond
	DefaultRequestOverheadPerSeq = 2 * time.Millisecond
	DefaultKVCacheTokens         = 1_000_000

	// The bounds of the time and count flags keep a step's length far from
	// overflowing: at most a minute plus a second per token or request.
	maxFixedTime    = time.Minute
	maxPerTokenTime = time.Second
	maxTokenCount   = 1 << 22
	// DefaultMaxModelLen is google/gemma-3-1b-it's context length, which vLLM's
	// --max-model-len defaults to.
	DefaultMaxModelLen = 32768
	// maxMaxModelLen bounds --max-model-len so that the longest answer the
	// stand-in builds (one word per token) stays a few megabytes.
	maxMaxModelLen = 1 << 20
)

// Config describes one simulated vLLM server.
type Config struct {
	// Model is the served model name. Requests must name it (or leave model
	// empty) and metrics carry it as the model_name label.
	Model string
	// MaxNumSeqs is how many requests run at once (vLLM's --max-num-seqs).
	MaxNumSeqs int
	// TimePerToken is the length of an engine step that decodes one request:
	// the time per output token of a request running alone.
	TimePerToken time.Duration
	// TimePerTokenPerSeq is what each further decoding request adds to a step.
	TimePerTokenPerSeq time.Duration
	// PrefillTimePerToken is what each prompt token computed in a step adds to it.
	PrefillTimePerToken time.Duration
	// MaxNumBatchedTokens is the token budget of a step (vLLM's
	// --max-num-batched-tokens): one per decoding request plus prompt chunks.
	MaxNumBatchedTokens int
	// KVCacheTokens is how many tokens the KV cache holds; at least MaxModelLen.
	KVCacheTokens int
	// RequestOverhead is the API server's time per request before the engine
	// sees it (parsing, tokenizing): it adds to the time to first token.
	RequestOverhead time.Duration
	// RequestOverheadPerSeq is what each running request adds to that time: the
	// API server's event loop also detokenizes and streams every running
	// request's output (vllm-project/vllm pull request #12287).
	RequestOverheadPerSeq time.Duration
	// MaxTokensDefault is the output length of a request that sets no max_tokens
	// (shortened to fit MaxModelLen).
	MaxTokensDefault int
	// MaxModelLen is the context length (vLLM's --max-model-len): prompt tokens
	// plus max_tokens may not exceed it, or the request gets a 400. It bounds what
	// one request can make the stand-in hold.
	MaxModelLen int
	// FailRate is the fraction (0-1) of requests answered with FailStatus.
	// Failures are spread evenly: of the first n requests, floor(n*FailRate) fail.
	FailRate float64
	// FailStatus is the HTTP status of a failed request (400-599).
	FailStatus int

	// Sleep waits d or until ctx ends and returns ctx's error in that case; the
	// engine calls it once per step. Nil means a real timer; tests replace it
	// to hold the engine between steps.
	Sleep func(ctx context.Context, d time.Duration) error
	// OnSchedule, when set, is called with the running and waiting counts after
	// every change. It runs under the scheduler's lock and must not block.
	OnSchedule func(running, waiting int)
}

// DefaultConfig returns the stand-in's defaults.
func DefaultConfig() Config {
	return Config{
		Model:                 DefaultModel,
		MaxNumSeqs:            DefaultMaxNumSeqs,
		TimePerToken:          DefaultTimePerToken,
		TimePerTokenPerSeq:    DefaultTimePerTokenPerSeq,
		PrefillTimePerToken:   DefaultPrefillTimePerToken,
		MaxNumBatchedTokens:   DefaultMaxNumBatchedTokens,
		KVCacheTokens:         DefaultKVCacheTokens,
		RequestOverhead:       DefaultRequestOverhead,
		RequestOverheadPerSeq: DefaultRequestOverheadPerSeq,
		MaxTokensDefault:      DefaultMaxTokensDefault,
		MaxModelLen:           DefaultMaxModelLen,
		FailStatus:            DefaultFailStatus,
	}
}

// Validate reports the first setting that cannot work, naming its flag.
func (c Config) Validate() error {
	switch {
	case c.Model == "":
		return fmt.Errorf("--model is empty; name the model to serve, e.g. %s", DefaultModel)
	case c.MaxNumSeqs < 1 || c.MaxNumSeqs > maxTokenCount:
		return fmt.Errorf("--max-num-seqs (%d) must be between 1 and %d", c.MaxNumSeqs, maxTokenCount)
	case c.MaxNumBatchedTokens < c.MaxNumSeqs || c.MaxNumBatchedTokens > maxTokenCount:
		// vLLM refuses a budget below --max-num-seqs: a full batch must be able to decode in one step.
		return fmt.Errorf("--max-num-batched-tokens (%d) must be between --max-num-seqs (%d) and %d",
			c.MaxNumBatchedTokens, c.MaxNumSeqs, maxTokenCount)
	case c.MaxTokensDefault < 1:
		return fmt.Errorf("--max-tokens-default (%d) must be at least 1", c.MaxTokensDefault)
	case c.MaxModelLen < 2 || c.MaxModelLen > maxMaxModelLen:
		return fmt.Errorf("--max-model-len (%d) must be between 2 and %d tokens", c.MaxModelLen, maxMaxModelLen)
	case c.KVCacheTokens < c.MaxModelLen || c.KVCacheTokens > maxTokenCount:
		// As vLLM, which will not start when one request of --max-model-len cannot fit its cache.
		return fmt.Errorf("--kv-cache-tokens (%d) must be between --max-model-len (%d) and %d",
			c.KVCacheTokens, c.MaxModelLen, maxTokenCount)
	case !(c.FailRate >= 0 && c.FailRate <= 1):
		return fmt.Errorf("--fail-rate (%g) must be a fraction between 0 and 1", c.FailRate)
	case c.FailStatus < 400 || c.FailStatus > 599:
		return fmt.Errorf("--fail-status (%d) must be an HTTP error status between 400 and 599", c.FailStatus)
	}
	for _, d := range []struct {
		flag     string
		v, limit time.Duration
	}{
		{"--time-per-token", c.TimePerToken, maxFixedTime},
		{"--time-per-token-per-seq", c.TimePerTokenPerSeq, maxPerTokenTime},
		{"--prefill-time-per-token", c.PrefillTimePerToken, maxPerTokenTime},
		{"--request-overhead", c.RequestOverhead, maxFixedTime},
		{"--request-overhead-per-seq", c.RequestOverheadPerSeq, maxPerTokenTime},
	} {
		if d.v < 0 || d.v > d.limit {
			return fmt.Errorf("%s (%s) must be between 0 and %s", d.flag, d.v, d.limit)
		}
	}
	return nil
}

func sleepTimer(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
