package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"
)

const usageText = `vllm-loadgen: send OpenAI chat-completions load to a vLLM server and
summarise latency, errors and throughput.

Usage:
  vllm-loadgen [flags]
  vllm-loadgen profile [flags]    measure a server at each concurrency level
                                  and write a VLLMServerProfile (profile --help)

Open loop (default): --rate requests per second, whatever the server does;
a request due while --max-in-flight requests are unanswered is dropped and
counted, never queued, so any --rate ends at --duration. Closed loop:
--concurrency workers, each sending its next request when the previous one
is answered. When --duration ends, requests in flight get --drain to finish,
then are canceled.

A progress line on stderr refreshes every second (plain lines every 10s when
stderr is not a terminal; none with --quiet). Ctrl-C (SIGINT) or SIGTERM ends
the run, cancels requests in flight and prints the summary; a second Ctrl-C
quits at once.

In --output json, a gauge that is NaN or infinite is null (JSON has no such
numbers); counts stop at 9223372036854775807 rather than wrap.

Ramps (--ramp): ` + RampSyntax + `
Without --duration a ramp ends the run when it ends; a longer --duration
holds the last value.

Examples:
  vllm-loadgen --rate 1                                  # the tutorial's looper
  vllm-loadgen --ramp 1:60s,8:180s,1:120s --watch-metrics http://localhost:8081/metrics
  vllm-loadgen --concurrency 4 --duration 2m --output json

Flags (one or two dashes):
`

// Options are vllm-loadgen's command-line settings.
type Options struct {
	Run           Config
	WatchURLs     []string
	WatchInterval time.Duration
	JSON          bool
	Quiet         bool
}

// ParseFlags reads vllm-loadgen's command line.
func ParseFlags(args []string, output io.Writer) (Options, error) {
	var (
		o           Options
		rate        float64
		concurrency int
		ramp        string
		watch       string
		outputFmt   string
	)
	fs := flag.NewFlagSet("vllm-loadgen", flag.ContinueOnError)
	fs.SetOutput(output)
	fs.Usage = func() {
		fmt.Fprint(output, usageText)
		fs.PrintDefaults()
	}
	fs.StringVar(&o.Run.URL, "url", DefaultURL, "base URL of the server; requests go to URL/v1/chat/completions")
	fs.StringVar(&o.Run.Model, "model", DefaultModel, "model name sent in each request")
	fs.StringVar(&o.Run.Prompt, "prompt", DefaultPrompt, "user message sent in each request")
	fs.IntVar(&o.Run.MaxTokens, "max-tokens", 0, "max_tokens of each request; 0 leaves it to the server")
	fs.Float64Var(&rate, "rate", 1, "requests per second (open loop); 0 sends nothing, e.g. to only --watch-metrics")
	fs.IntVar(&concurrency, "concurrency", 0, "run closed loop with this many workers instead of a --rate")
	fs.IntVar(&o.Run.MaxInFlight, "max-in-flight", DefaultMaxInFlight, "most requests awaiting an answer at once; more are dropped")
	fs.DurationVar(&o.Run.Duration, "duration", 0, "how long to run, e.g. 5m; 0 runs until Ctrl-C (or the --ramp's end)")
	fs.DurationVar(&o.Run.Drain, "drain", DefaultDrain, "after --duration, how long requests in flight may finish before they are canceled")
	fs.StringVar(&ramp, "ramp", "", "change the rate (or workers) over time; see Ramps above")
	fs.DurationVar(&o.Run.Timeout, "timeout", DefaultTimeout, "how long one request may take")
	fs.StringVar(&watch, "watch-metrics", "", "comma-separated vLLM /metrics URLs to print running/waiting/KV-cache gauges from")
	fs.DurationVar(&o.WatchInterval, "watch-interval", 5*time.Second, "how often --watch-metrics scrapes")
	fs.StringVar(&outputFmt, "output", "text", "summary format on stdout: text or json")
	fs.BoolVar(&o.Quiet, "quiet", false, "no progress lines on stderr")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q; vllm-loadgen takes flags only (see --help)", fs.Arg(0))
	}
	rateSet := false
	fs.Visit(func(f *flag.Flag) { rateSet = rateSet || f.Name == "rate" })

	base, err := parseHTTPURL("--url", o.Run.URL)
	if err != nil {
		return o, err
	}
	o.Run.URL = strings.TrimRight(base.String(), "/")

	switch {
	case o.Run.MaxTokens < 0:
		return o, fmt.Errorf("--max-tokens (%d) must not be negative; use 0 to leave it to the server", o.Run.MaxTokens)
	case math.IsNaN(rate) || math.IsInf(rate, 0) || rate < 0:
		return o, fmt.Errorf("--rate (%g) must be a number of requests per second, 0 or more", rate)
	case concurrency < 0:
		return o, fmt.Errorf("--concurrency (%d) must not be negative", concurrency)
	case rateSet && concurrency > 0:
		return o, errors.New("--rate and --concurrency both set; choose open loop (--rate) or closed loop (--concurrency)")
	case o.Run.MaxInFlight < 1:
		return o, fmt.Errorf("--max-in-flight (%d) must be at least 1", o.Run.MaxInFlight)
	case o.Run.Duration < 0:
		return o, fmt.Errorf("--duration (%s) must not be negative; use 0 to run until Ctrl-C", o.Run.Duration)
	case o.Run.Timeout <= 0:
		return o, fmt.Errorf("--timeout (%s) must be positive", o.Run.Timeout)
	case o.Run.Drain <= 0:
		return o, fmt.Errorf("--drain (%s) must be positive", o.Run.Drain)
	case o.WatchInterval <= 0:
		return o, fmt.Errorf("--watch-interval (%s) must be positive", o.WatchInterval)
	case outputFmt != "text" && outputFmt != "json":
		return o, fmt.Errorf("--output %q is not text or json", outputFmt)
	}
	o.JSON = outputFmt == "json"

	o.Run.ClosedLoop = concurrency > 0
	if o.Run.ClosedLoop {
		o.Run.Schedule = Constant(float64(concurrency))
	} else {
		o.Run.Schedule = Constant(rate)
	}
	if ramp != "" {
		if o.Run.Schedule, err = ParseRamp(ramp); err != nil {
			return o, err
		}
		if o.Run.Duration == 0 {
			o.Run.Duration = o.Run.Schedule.Total()
		}
	}
	if peak := math.Round(o.Run.Schedule.Max()); o.Run.ClosedLoop && peak > float64(o.Run.MaxInFlight) {
		return o, fmt.Errorf("closed loop asks for %g workers but --max-in-flight is %d; raise --max-in-flight", peak, o.Run.MaxInFlight)
	}

	if watch != "" {
		for _, raw := range strings.Split(watch, ",") {
			u, err := parseHTTPURL("--watch-metrics", strings.TrimSpace(raw))
			if err != nil {
				return o, err
			}
			if u.Path == "" || u.Path == "/" {
				u.Path = "/metrics"
			}
			o.WatchURLs = append(o.WatchURLs, u.String())
		}
	}
	return o, nil
}

func parseHTTPURL(flagName, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%s %q is not an http(s) URL such as http://localhost:8081", flagName, raw)
	}
	return u, nil
}

// Main runs vllm-loadgen with args until its duration ends or SIGINT/SIGTERM
// arrives, prints the summary and returns the exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "profile" {
		return ProfileMain(args[1:], stdout, stderr)
	}
	o, err := ParseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "vllm-loadgen: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		// After the first signal the default action returns: a second Ctrl-C
		// ends the process even if a request refuses to be canceled.
		<-ctx.Done()
		stop()
	}()
	return run(ctx, o, stdout, stderr, isTerminal(stderr))
}

func run(ctx context.Context, o Options, stdout, stderr io.Writer, terminal bool) int {
	rec := NewRecorder()
	con := &console{w: stderr, live: terminal}
	con.print(describe(o))

	background, stopBackground := context.WithCancel(ctx)
	var wg sync.WaitGroup
	start := time.Now()
	if len(o.WatchURLs) > 0 {
		client := &http.Client{}
		wg.Go(func() {
			Watch(background, RealClock{}, o.WatchInterval, client, o.WatchURLs, func(samples []MetricsSample) {
				rec.setMetrics(samples)
				var b strings.Builder
				fmt.Fprintf(&b, "[%5.0fs] metrics\n", time.Since(start).Seconds())
				writeMetricsTable(&b, samples)
				con.print(b.String())
			})
		})
	}
	if !o.Quiet {
		wg.Go(func() { showProgress(background, o, rec, con, start) })
	}

	summary, err := Run(ctx, o.Run, rec)
	stopBackground()
	wg.Wait()
	con.close()
	if err != nil {
		fmt.Fprintf(stderr, "vllm-loadgen: %v\n", err)
		return 1
	}
	if o.JSON {
		if err := json.NewEncoder(stdout).Encode(summary); err != nil {
			fmt.Fprintf(stderr, "vllm-loadgen: write summary: %v\n", err)
			return 1
		}
		return 0
	}
	summary.WriteText(stdout)
	return 0
}

func describe(o Options) string {
	mode := "open loop"
	unit := "req/s"
	if o.Run.ClosedLoop {
		mode, unit = "closed loop", "workers"
	}
	level := fmt.Sprintf("%g %s", o.Run.Schedule.At(0), unit)
	if len(o.Run.Schedule) > 1 || o.Run.Schedule[0].From != o.Run.Schedule[0].To {
		level = fmt.Sprintf("ramp over %s (peak %g %s)", o.Run.Schedule.Total(), o.Run.Schedule.Max(), unit)
	}
	until := "until Ctrl-C"
	if o.Run.Duration > 0 {
		until = "for " + o.Run.Duration.String()
	}
	return fmt.Sprintf("vllm-loadgen: POST %s/v1/chat/completions model %s, %s, %s, max %d in flight, %s",
		o.Run.URL, o.Run.Model, mode, level, o.Run.MaxInFlight, until)
}

// showProgress refreshes the status line every second on a terminal, every 10s otherwise.
func showProgress(ctx context.Context, o Options, rec *Recorder, con *console, start time.Time) {
	every := 10 * time.Second
	if con.live {
		every = time.Second
	}
	unit := "req/s"
	if o.Run.ClosedLoop {
		unit = "workers"
	}
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-ticker.C:
			elapsed := now.Sub(start)
			p := rec.Progress()
			con.setStatus(fmt.Sprintf("[%5.0fs] %.1f %s | sent %d | in flight %d | ok %d | errors %d | dropped %d",
				elapsed.Seconds(), o.Run.Schedule.At(elapsed), unit, p.Sent, p.InFlight, p.OK, p.Errors, p.Dropped))
		}
	}
}
