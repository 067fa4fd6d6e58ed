// Package vllmsim is a stand-in for a vLLM server: it speaks enough of vLLM's
// OpenAI-compatible API and exports vLLM's scheduler metrics, so autoscaling can
// be exercised without a GPU.
//
// Its model of vLLM:
//   - at most MaxNumSeqs requests run at once; the rest wait in a FIFO queue;
//   - a running request takes TimePerToken * max_tokens, then answers with
//     completion_tokens = max_tokens and prompt_tokens = words in the prompt;
//   - KV-cache usage is running / MaxNumSeqs: every sequence is assumed to hold
//     an equal share of the cache, so a full batch means a full cache.
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
	DefaultTimePerToken     = 20 * time.Millisecond
	DefaultMaxTokensDefault = 16
	DefaultFailStatus       = 500
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
	// TimePerToken is how long one output token takes once a request runs.
	TimePerToken time.Duration
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

	// Sleep waits d or until ctx ends and returns ctx's error in that case.
	// Nil means a real timer; tests replace it to hold requests open.
	Sleep func(ctx context.Context, d time.Duration) error
	// OnSchedule, when set, is called with the running and waiting counts after
	// every change. It runs under the scheduler's lock and must not block.
	OnSchedule func(running, waiting int)
}

// DefaultConfig returns the stand-in's defaults.
func DefaultConfig() Config {
	return Config{
		Model:            DefaultModel,
		MaxNumSeqs:       DefaultMaxNumSeqs,
		TimePerToken:     DefaultTimePerToken,
		MaxTokensDefault: DefaultMaxTokensDefault,
		MaxModelLen:      DefaultMaxModelLen,
		FailStatus:       DefaultFailStatus,
	}
}

// Validate reports the first setting that cannot work, naming its flag.
func (c Config) Validate() error {
	switch {
	case c.Model == "":
		return fmt.Errorf("--model is empty; name the model to serve, e.g. %s", DefaultModel)
	case c.MaxNumSeqs < 1:
		return fmt.Errorf("--max-num-seqs (%d) must be at least 1", c.MaxNumSeqs)
	case c.TimePerToken < 0:
		return fmt.Errorf("--time-per-token (%s) must not be negative", c.TimePerToken)
	case c.MaxTokensDefault < 1:
		return fmt.Errorf("--max-tokens-default (%d) must be at least 1", c.MaxTokensDefault)
	case c.MaxModelLen < 2 || c.MaxModelLen > maxMaxModelLen:
		return fmt.Errorf("--max-model-len (%d) must be between 2 and %d tokens", c.MaxModelLen, maxMaxModelLen)
	case !(c.FailRate >= 0 && c.FailRate <= 1):
		return fmt.Errorf("--fail-rate (%g) must be a fraction between 0 and 1", c.FailRate)
	case c.FailStatus < 400 || c.FailStatus > 599:
		return fmt.Errorf("--fail-status (%d) must be an HTTP error status between 400 and 599", c.FailStatus)
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
