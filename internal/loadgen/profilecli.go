package loadgen

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vllm-hpa/vllm-hpa/fn/api/v1alpha1"
)

const profileUsage = `vllm-loadgen profile: measure a vLLM server once, for an SLO to pick the
autoscaling target from.

Usage:
  vllm-loadgen profile --url URL [--concurrency 1,2,4,...] [--step 60s] [--warmup 10s]
      [--prompt-tokens 512] [--max-tokens 256] [--gauge NAME]... [--accelerator nvidia-l4]
      [-o profile.yaml] [--plot profile.png]

At each concurrency level in turn, that many clients each send a streamed
/v1/completions request and the next one as soon as it is answered (closed
loop). Prompts are --prompt-tokens random token ids (no two share a prefix, so
the prefix cache does not flatter the numbers) and every answer is exactly
--max-tokens long (ignore_eos). After --warmup the level is measured for
--step: requests/s and output tokens/s of the requests completed in the step;
time to first token (TTFT) and time per output token after the first (TPOT,
(last token - first token) / (tokens - 1) per request) at p50/p90/p99; and the
mean over the step of each gauge scraped from --metrics-url every
--scrape-interval: vllm:num_requests_running, vllm:num_requests_waiting,
vllm:kv_cache_usage_perc and every --gauge (a scrape's value is the sum of the
gauge's series, as the custom metrics adapter reports a pod).

Percentiles are nearest-rank: pN is the smallest measured value that at
least N% of the requests did not exceed.

The result is a VLLMServerProfile (vllmhpa.dev/v1alpha1, a local-config
object) on stdout or in -o; --plot draws latency, throughput and gauges
against concurrency as a PNG. A progress line per level goes to stderr.
Ctrl-C (SIGINT) or SIGTERM stops the run and writes the levels measured so far.

Flags (one or two dashes):
`

// Bounds of the profile's flags: each keeps one run's goroutines, requests
// and output a size a laptop holds.
const (
	maxProfileConcurrency = 4096
	maxProfileLevels      = 64
	maxProfileTokens      = 1 << 20
)

// ProfileOptions are the command-line settings of vllm-loadgen profile.
type ProfileOptions struct {
	Run    ProfileConfig
	Output string // file, or "-" for stdout
	Plot   string // PNG file, or "" for none
}

var (
	defaultConcurrency = []int{1, 2, 4, 8, 16, 32, 64}
	metricNameRE       = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
)

// ParseProfileFlags reads the command line of vllm-loadgen profile.
func ParseProfileFlags(args []string, output io.Writer) (ProfileOptions, error) {
	o := ProfileOptions{Run: ProfileConfig{Gauges: slices.Clone(ProfileGauges)}}
	var concurrency, metricsURL string
	var gauges []string
	fs := flag.NewFlagSet("vllm-loadgen profile", flag.ContinueOnError)
	fs.SetOutput(output)
	fs.Usage = func() {
		fmt.Fprint(output, profileUsage)
		fs.PrintDefaults()
	}
	fs.StringVar(&o.Run.URL, "url", DefaultURL, "base URL of the server; requests go to URL/v1/completions")
	fs.StringVar(&metricsURL, "metrics-url", "", "Prometheus /metrics URL of the same server (default URL/metrics)")
	fs.StringVar(&o.Run.Model, "model", "", "model name to request (default: the first model of URL/v1/models)")
	fs.StringVar(&concurrency, "concurrency", joinInts(defaultConcurrency), "comma-separated concurrency levels, measured in this order")
	fs.DurationVar(&o.Run.Step, "step", 60*time.Second, "how long each level is measured")
	fs.DurationVar(&o.Run.Warmup, "warmup", 10*time.Second, "how long each level runs before it is measured")
	fs.IntVar(&o.Run.PromptTokens, "prompt-tokens", 512, "prompt length of every request, in tokens")
	fs.IntVar(&o.Run.MaxTokens, "max-tokens", 256, "output length of every request, in tokens")
	fs.Func("gauge", "another gauge to average over each step, e.g. vllm:num_preemptions (repeatable)", func(s string) error {
		gauges = append(gauges, s)
		return nil
	})
	fs.StringVar(&o.Run.Accelerator, "accelerator", "", "the server's accelerator, recorded in the profile, e.g. nvidia-l4")
	fs.StringVar(&o.Run.Name, "name", "", "metadata.name of the profile (default: from the model and --accelerator)")
	fs.StringVar(&o.Output, "o", "-", "file to write the profile to; - is stdout")
	fs.StringVar(&o.Output, "output", "-", "same as -o")
	fs.StringVar(&o.Plot, "plot", "", "also draw the profile as a PNG into this file")
	fs.DurationVar(&o.Run.ScrapeInterval, "scrape-interval", time.Second, "how often --metrics-url is scraped during a step")
	fs.DurationVar(&o.Run.Timeout, "timeout", 5*time.Minute, "how long one request may take")
	fs.Func("seed", "seed of the random prompts, for a run that sends the same prompts again (default 1)", func(s string) error {
		v, err := strconv.ParseUint(s, 10, 64)
		o.Run.Seed = v
		return err
	})
	o.Run.Seed = 1
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q; vllm-loadgen profile takes flags only (see --help)", fs.Arg(0))
	}

	base, err := parseHTTPURL("--url", o.Run.URL)
	if err != nil {
		return o, err
	}
	o.Run.URL = strings.TrimRight(base.String(), "/")
	o.Run.MetricsURL = o.Run.URL + "/metrics"
	if metricsURL != "" {
		u, err := parseHTTPURL("--metrics-url", metricsURL)
		if err != nil {
			return o, err
		}
		o.Run.MetricsURL = u.String()
	}
	if o.Run.Concurrency, err = parseLevels(concurrency); err != nil {
		return o, err
	}
	for _, g := range gauges {
		if !metricNameRE.MatchString(g) {
			return o, fmt.Errorf("--gauge %q is not a Prometheus metric name such as vllm:num_preemptions", g)
		}
		if !slices.Contains(o.Run.Gauges, g) {
			o.Run.Gauges = append(o.Run.Gauges, g)
		}
	}
	switch {
	case o.Run.Step <= 0:
		return o, fmt.Errorf("--step (%s) must be positive, e.g. 60s", o.Run.Step)
	case o.Run.Warmup < 0:
		return o, fmt.Errorf("--warmup (%s) must not be negative", o.Run.Warmup)
	case o.Run.PromptTokens < 1 || o.Run.PromptTokens > maxProfileTokens:
		return o, fmt.Errorf("--prompt-tokens (%d) must be between 1 and %d", o.Run.PromptTokens, maxProfileTokens)
	case o.Run.MaxTokens < 1 || o.Run.MaxTokens > maxProfileTokens:
		return o, fmt.Errorf("--max-tokens (%d) must be between 1 and %d", o.Run.MaxTokens, maxProfileTokens)
	case o.Run.ScrapeInterval <= 0:
		return o, fmt.Errorf("--scrape-interval (%s) must be positive", o.Run.ScrapeInterval)
	case o.Run.Timeout <= 0:
		return o, fmt.Errorf("--timeout (%s) must be positive", o.Run.Timeout)
	case o.Output == "":
		return o, errors.New("-o is empty; give a file, or - for stdout")
	case o.Plot != "" && !strings.EqualFold(filepath.Ext(o.Plot), ".png"):
		return o, fmt.Errorf("--plot %q does not end in .png; the plot is a PNG image", o.Plot)
	}
	return o, nil
}

func parseLevels(s string) ([]int, error) {
	var levels []int
	for _, part := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil || n < 1 || n > maxProfileConcurrency {
			return nil, fmt.Errorf("--concurrency %q: %q is not a whole number between 1 and %d; want levels such as 1,2,4,8",
				s, strings.TrimSpace(part), maxProfileConcurrency)
		}
		if slices.Contains(levels, n) {
			return nil, fmt.Errorf("--concurrency %q gives %d twice; each level is measured once", s, n)
		}
		levels = append(levels, n)
	}
	if len(levels) > maxProfileLevels {
		return nil, fmt.Errorf("--concurrency has %d levels, more than %d", len(levels), maxProfileLevels)
	}
	return levels, nil
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

// ProfileMain runs vllm-loadgen profile and returns the exit code: 0 when
// every level was measured, 1 on an error, 2 on bad flags, 130 when a signal
// cut the run short (the levels measured by then are written).
func ProfileMain(args []string, stdout, stderr io.Writer) int {
	o, err := ParseProfileFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "vllm-loadgen profile: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second Ctrl-C ends the process at once
	}()
	return runProfile(ctx, o, stdout, stderr)
}

func runProfile(ctx context.Context, o ProfileOptions, stdout, stderr io.Writer) int {
	if o.Run.Clock == nil {
		o.Run.Clock = RealClock{}
	}
	if o.Run.Client == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = slices.Max(o.Run.Concurrency) + 1 // a connection per client, and the scrape
		o.Run.Client = &http.Client{Transport: t}
	}
	levels := len(o.Run.Concurrency)
	total := time.Duration(levels) * (o.Run.Step + o.Run.Warmup)
	fmt.Fprintf(stderr, "vllm-loadgen profile: %s, concurrency %s, each %s warm-up + %s measured (about %s), "+
		"prompts of %d tokens, answers of %d\n", o.Run.URL, joinInts(o.Run.Concurrency), o.Run.Warmup, o.Run.Step, total,
		o.Run.PromptTokens, o.Run.MaxTokens)

	prof, err := Profile(ctx, o.Run, func(line string) { fmt.Fprintln(stderr, line) })
	code := 0
	switch {
	case err != nil && ctx.Err() == nil:
		fmt.Fprintf(stderr, "vllm-loadgen profile: %v\n", err)
		return 1
	case err != nil:
		code = 130
		if prof == nil || len(prof.Spec.Points) == 0 {
			fmt.Fprintln(stderr, "vllm-loadgen profile: interrupted before the first level was measured; nothing written")
			return code
		}
		fmt.Fprintf(stderr, "vllm-loadgen profile: interrupted; writing the %d of %d levels measured\n", len(prof.Spec.Points), levels)
	}
	for _, p := range prof.Spec.Points {
		if p.Requests == 0 {
			fmt.Fprintf(stderr, "vllm-loadgen profile: warning: no request completed at concurrency %d; "+
				"lengthen --step or check the server\n", p.Concurrency)
		}
	}
	if err := writeProfile(o, prof, stdout); err != nil {
		fmt.Fprintf(stderr, "vllm-loadgen profile: %v\n", err)
		return 1
	}
	return code
}

func writeProfile(o ProfileOptions, prof *v1alpha1.VLLMServerProfile, stdout io.Writer) error {
	y, err := MarshalProfile(prof)
	if err != nil {
		return err
	}
	if o.Plot != "" {
		png, err := PlotProfile(prof)
		if err != nil {
			return fmt.Errorf("--plot: %w", err)
		}
		if err := writeFileAtomic(o.Plot, png); err != nil {
			return fmt.Errorf("--plot: %w", err)
		}
	}
	if o.Output == "-" {
		_, err := stdout.Write(y)
		return err
	}
	return writeFileAtomic(o.Output, y)
}

// writeFileAtomic writes data to a temporary file beside path and renames it
// over path, so that a reader never sees half a file.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}
