package vllmsim

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"
)

const usageHeader = `vllm-sim: a stand-in for a vLLM server, for trying autoscaling without a GPU.

Serves POST /v1/chat/completions, POST /v1/completions (both streamed with
"stream": true), GET /v1/models, GET /health and GET /metrics (vLLM's metric
names, label model_name).

Model (docs/vllm-sim-model.md): continuous batching in engine steps. At most
--max-num-seqs requests run, the rest wait in a FIFO queue
(vllm:num_requests_waiting). Each step decodes one token of every running
request and computes prompt chunks of new ones, within --max-num-batched-tokens
tokens, and lasts
  --time-per-token + --time-per-token-per-seq x (decoding requests - 1)
                   + --prefill-time-per-token x prompt tokens in the step,
so latency grows with the batch. A request first spends --request-overhead
plus --request-overhead-per-seq x running requests in the API server. The KV
cache holds --kv-cache-tokens tokens (every running request's prompt and
output so far; vllm:kv_cache_usage_perc is the fraction used); when it is
full the newest request is preempted and recomputed later.
Defaults are calibrated on a published vLLM benchmark of a small model on one
NVIDIA L4.

A request answers with completion_tokens = max_tokens and prompt_tokens =
words in the prompt (or token ids given). A prompt of --max-model-len tokens
or more, or prompt tokens plus max_tokens above it, gets a 400 with vLLM's
message. SIGTERM or SIGINT stops accepting connections and lets requests in
flight finish (up to --shutdown-timeout).

Flags (one or two dashes):
`

// Options are the command-line settings of vllm-sim.
type Options struct {
	Addr            string
	ShutdownTimeout time.Duration
	Config          Config
}

// ParseFlags reads vllm-sim's command line.
func ParseFlags(args []string, output io.Writer) (Options, error) {
	o := Options{Config: DefaultConfig()}
	fs := flag.NewFlagSet("vllm-sim", flag.ContinueOnError)
	fs.SetOutput(output)
	fs.Usage = func() {
		fmt.Fprint(output, usageHeader)
		fs.PrintDefaults()
	}
	fs.StringVar(&o.Addr, "addr", DefaultAddr, "address to listen on, host:port (port 0 picks a free port)")
	fs.StringVar(&o.Config.Model, "model", o.Config.Model, "served model name (metrics label model_name)")
	fs.IntVar(&o.Config.MaxNumSeqs, "max-num-seqs", o.Config.MaxNumSeqs, "requests that run at once; the rest wait")
	fs.DurationVar(&o.Config.TimePerToken, "time-per-token", o.Config.TimePerToken, "length of an engine step decoding one request: time per output token at batch 1")
	fs.DurationVar(&o.Config.TimePerTokenPerSeq, "time-per-token-per-seq", o.Config.TimePerTokenPerSeq, "what each further decoding request adds to a step")
	fs.DurationVar(&o.Config.PrefillTimePerToken, "prefill-time-per-token", o.Config.PrefillTimePerToken, "what each prompt token computed in a step adds to it")
	fs.IntVar(&o.Config.MaxNumBatchedTokens, "max-num-batched-tokens", o.Config.MaxNumBatchedTokens, "token budget of a step: one per decoding request plus prompt chunks")
	fs.IntVar(&o.Config.KVCacheTokens, "kv-cache-tokens", o.Config.KVCacheTokens, "tokens the KV cache holds; at least --max-model-len")
	fs.DurationVar(&o.Config.RequestOverhead, "request-overhead", o.Config.RequestOverhead, "API server time per request before the engine; adds to the time to first token")
	fs.DurationVar(&o.Config.RequestOverheadPerSeq, "request-overhead-per-seq", o.Config.RequestOverheadPerSeq, "what each running request adds to --request-overhead")
	fs.IntVar(&o.Config.MaxTokensDefault, "max-tokens-default", o.Config.MaxTokensDefault, "output tokens of a request without max_tokens")
	fs.IntVar(&o.Config.MaxModelLen, "max-model-len", o.Config.MaxModelLen, "context length: prompt tokens + max_tokens above it get a 400, as in vLLM")
	fs.Float64Var(&o.Config.FailRate, "fail-rate", 0, "fraction (0-1) of requests answered with --fail-status, spread evenly")
	fs.IntVar(&o.Config.FailStatus, "fail-status", o.Config.FailStatus, "HTTP status of a failed request")
	fs.DurationVar(&o.ShutdownTimeout, "shutdown-timeout", 30*time.Second, "how long requests in flight may finish after SIGTERM")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q; vllm-sim takes flags only (see --help)", fs.Arg(0))
	}
	if o.ShutdownTimeout < 0 {
		return o, fmt.Errorf("--shutdown-timeout (%s) must not be negative", o.ShutdownTimeout)
	}
	return o, o.Config.Validate()
}

// Main runs vllm-sim with args until SIGTERM or SIGINT and returns the exit code.
func Main(args []string, stderr io.Writer) int {
	o, err := ParseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "vllm-sim: %v\n", err)
		return 2
	}
	srv, err := New(o.Config)
	if err != nil {
		fmt.Fprintf(stderr, "vllm-sim: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err = srv.Serve(ctx, o.Addr, o.ShutdownTimeout, func(addr string) {
		c := o.Config
		fmt.Fprintf(stderr, "vllm-sim: serving %s on http://%s (max-num-seqs %d, step %s + %s per further request + %s per prompt token)\n",
			c.Model, addr, c.MaxNumSeqs, c.TimePerToken, c.TimePerTokenPerSeq, c.PrefillTimePerToken)
	})
	if err != nil {
		fmt.Fprintf(stderr, "vllm-sim: %v\n", err)
		return 1
	}
	fmt.Fprintln(stderr, "vllm-sim: stopped")
	return 0
}

func listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on --addr %s: %w; pick a free port or stop what holds it", addr, err)
	}
	return ln, nil
}
