package whatif

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vllm-hpa/vllm-hpa/internal/whatif/hpa"
)

// Defaults of the simulated world. Each is a figure from a source, so a
// reader can check it and replace it with a measurement of their own.
const (
	// DefaultStartup is a new vLLM pod's time from creation to ready when
	// the cluster must add a GPU node first. Cold start is the sum of node
	// provisioning ("minutes" for a GPU node: ai.wmx.dev/architecture/lessons/cold-start),
	// pulling a vLLM image of 10-20 GB (dev.to/manikandan_t_6d72e32ac4e8,
	// "The GPU Cold Starts Nobody Warns You About") and vLLM's own start,
	// which is CPU-bound (weights, torch.compile, CUDA graphs; arXiv 2606.07362
	// "Breaking the Ice: Analyzing Cold Start Latency in vLLM"); NVIDIA puts a
	// single-GPU vLLM cold start on Kubernetes at "several minutes". We take
	// 2 min node + 1 min image + 1 min engine: 4 min.
	DefaultStartup = 4 * time.Minute
	// DefaultModelLoad is the part of the start-up after the container
	// starts: the pod runs but serves no metrics until vLLM is up.
	DefaultModelLoad = time.Minute
	// DefaultIngestionDelay is the time from a GMP scrape to the sample being
	// readable from Cloud Monitoring: "a few seconds" for a new point of an
	// existing series (cloud.google.com/monitoring/api/v3/latency-n-retention),
	// rounded up to cover the collector's export batching.
	DefaultIngestionDelay = 10 * time.Second
	// AdapterWindow: the Stackdriver adapter reads a gauge with
	// ALIGN_NEXT_OLDER over the last 5 minutes, i.e. its newest point no
	// older than that (k8s-stackdriver custom-metrics-stackdriver-adapter:
	// adapter.go rateInterval 5m, translator/query_builder.go).
	AdapterWindow = 5 * time.Minute
	// DefaultScrapeInterval is the PodMonitoring interval the function emits.
	DefaultScrapeInterval = 15 * time.Second
	// DefaultMaxNumSeqs is vLLM's --max-num-seqs on GPUs under 70 GiB
	// (vllm engine/arg_utils.py), used when the target's args do not say.
	DefaultMaxNumSeqs = 256
	// DefaultGrace is Kubernetes' terminationGracePeriodSeconds.
	DefaultGrace = 30 * time.Second
)

const usageText = `vllm-hpa-whatif: replay traffic against generated autoscaling before deploying it.

Reads rendered manifests (the HPA, its target Deployment, the scrape that
feeds it) from -f files or stdin, a server profile (--profile, a
VLLMServerProfile written by vllm-loadgen profile) and a traffic shape, then
simulates in virtual time: Poisson arrivals, each replica as the profiled
server (continuous batching up to --max-num-seqs, a queue beyond), pod
start-up, the metric pipeline of the backend, and the HPA controller's
upstream algorithm. Prints what users would have seen and what it cost.

Usage:
  vllm-hpa-whatif --profile PROFILE [-f MANIFESTS]... [--traffic SHAPE | --trace FILE] [flags]

Traffic (--traffic): ` + TrafficSyntax + `
--trace FILE: CSV of time,rate (a rate from each time on; time in seconds or
90s) or a request log time,prompt_tokens,output_tokens.

Examples:
  kustomize build --enable-alpha-plugins --enable-exec . | vllm-hpa-whatif --profile examples/profiles/gemma-3-1b-l4.yaml
  vllm-hpa-whatif -f a.yaml -f b.yaml --compare --profile p.yaml --traffic bursty --plot out.png
  vllm-hpa-whatif -f out.yaml --profile p.yaml --backend adapter,gke --compare --output json

Flags (one or two dashes):
`

type fileList []string

func (f *fileList) String() string     { return strings.Join(*f, ",") }
func (f *fileList) Set(v string) error { *f = append(*f, v); return nil }

// Options are the parsed command line.
type Options struct {
	Files       []string
	ProfilePath string
	Traffic     string
	TracePath   string
	Duration    time.Duration
	Seed        uint64
	Backends    []Backend
	HPAName     string
	Compare     bool
	PlotPath    string
	JSON        bool

	ScrapeInterval, IngestionDelay, Startup, ModelLoad time.Duration
	MaxNumSeqs                                         int
	Routing                                            string
	InitialReplicas                                    int
	Warmup                                             time.Duration
	SLO                                                SLO
	SyncPeriod                                         time.Duration
	HPA                                                hpa.Options
	set                                                map[string]bool
}

// ParseFlags reads the command line. Every error names the flag, the value and the fix.
func ParseFlags(args []string, output io.Writer) (*Options, error) {
	o := &Options{set: map[string]bool{}}
	var files fileList
	var backend, outputFmt string
	var sloTTFT, sloTPOT time.Duration
	var tolerance float64
	fs := flag.NewFlagSet("vllm-hpa-whatif", flag.ContinueOnError)
	fs.SetOutput(output)
	fs.Usage = func() {
		fmt.Fprint(output, usageText)
		fs.PrintDefaults()
	}
	fs.Var(&files, "f", "rendered manifests (YAML stream or ResourceList); repeat to --compare several; none or - reads stdin")
	fs.StringVar(&o.ProfilePath, "profile", "", "VLLMServerProfile file (required)")
	fs.StringVar(&o.Traffic, "traffic", "step", "traffic shape; see Traffic above")
	fs.StringVar(&o.TracePath, "trace", "", "replay a CSV trace instead of --traffic")
	fs.DurationVar(&o.Duration, "duration", 0, "simulated time; 0 takes the traffic's own length")
	fs.Uint64Var(&o.Seed, "seed", 1, "random seed; the same seed gives the same output, byte for byte")
	fs.StringVar(&backend, "backend", "", "adapter or gke (comma-separated to --compare both); default: what the HPA's metric name says")
	fs.StringVar(&o.HPAName, "hpa", "", "the HPA to simulate when the manifests hold several")
	fs.BoolVar(&o.Compare, "compare", false, "run every -f file (and --backend) on the same traffic, side by side")
	fs.StringVar(&o.PlotPath, "plot", "", "write the timeline as a PNG to this file")
	fs.StringVar(&outputFmt, "output", "table", "table or json")
	fs.DurationVar(&o.ScrapeInterval, "scrape-interval", 0, "scrape interval; default: the PodMonitoring's, else 15s")
	fs.DurationVar(&o.IngestionDelay, "ingestion-delay", DefaultIngestionDelay, "adapter backend: scrape to readable in Cloud Monitoring")
	fs.DurationVar(&o.Startup, "startup", DefaultStartup, "new pod: creation to ready (GPU node, image pull, model load)")
	fs.DurationVar(&o.ModelLoad, "model-load", DefaultModelLoad, "the end of --startup during which the pod runs without metrics")
	fs.IntVar(&o.MaxNumSeqs, "max-num-seqs", 0, "vLLM's batch limit; default: the target's --max-num-seqs, else 256")
	fs.StringVar(&o.Routing, "routing", RoutingRandom, "how the Service spreads requests: random (kube-proxy), round-robin, least")
	fs.DurationVar(&o.Warmup, "warmup", 15*time.Minute, "hold the traffic's first rate this long before the measured time, unmeasured, so the HPA has settled")
	fs.IntVar(&o.InitialReplicas, "initial-replicas", 0, "ready replicas at the start; 0: what the first minute's load needs at the profile's capacity (within min/max)")
	fs.DurationVar(&sloTTFT, "slo-ttft", 500*time.Millisecond, "SLO bound on time to first token; 0 drops it")
	fs.DurationVar(&sloTPOT, "slo-tpot", 50*time.Millisecond, "SLO bound on time per output token; 0 drops it")
	fs.IntVar(&o.SLO.Percentile, "slo-percentile", 90, "the SLO's percentile: 50, 90 or 99")
	fs.DurationVar(&o.SyncPeriod, "sync-period", hpa.DefaultSyncPeriod, "kube-controller-manager --horizontal-pod-autoscaler-sync-period")
	fs.Float64Var(&tolerance, "tolerance", hpa.DefaultTolerance, "kube-controller-manager --horizontal-pod-autoscaler-tolerance")
	fs.DurationVar(&o.HPA.DownscaleStabilization, "downscale-stabilization", hpa.DefaultDownscaleStabilization, "kube-controller-manager --horizontal-pod-autoscaler-downscale-stabilization")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	fs.Visit(func(f *flag.Flag) { o.set[f.Name] = true })
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q; pass manifests with -f %s", fs.Arg(0), fs.Arg(0))
	}
	o.Files = files
	o.JSON = outputFmt == "json"
	o.SLO.TTFT, o.SLO.TPOT = sloTTFT.Seconds(), sloTPOT.Seconds()
	o.HPA.Tolerance = tolerance
	o.HPA.ConfigurableTolerance = true
	for _, b := range strings.Split(backend, ",") {
		switch b {
		case "":
		case string(BackendAdapter), string(BackendGKE):
			o.Backends = append(o.Backends, Backend(b))
		default:
			return nil, fmt.Errorf("--backend %q: unknown backend %q; use adapter, gke, or adapter,gke with --compare", backend, b)
		}
	}
	switch {
	case o.ProfilePath == "":
		return nil, errors.New("--profile is required: a VLLMServerProfile, e.g. --profile examples/profiles/gemma-3-1b-l4.yaml (vllm-loadgen profile writes one)")
	case outputFmt != "table" && outputFmt != "json":
		return nil, fmt.Errorf("--output %q: use table or json", outputFmt)
	case o.TracePath != "" && o.set["traffic"]:
		return nil, fmt.Errorf("--trace %s and --traffic %s both set; give one", o.TracePath, o.Traffic)
	case o.Duration < 0:
		return nil, fmt.Errorf("--duration (%s) must not be negative; 0 takes the traffic's length", o.Duration)
	case o.Duration > 0 && o.Duration < time.Minute:
		return nil, fmt.Errorf("--duration (%s) is under a minute; the HPA syncs every 15s, give it at least 1m", o.Duration)
	case o.set["scrape-interval"] && o.ScrapeInterval <= 0:
		return nil, fmt.Errorf("--scrape-interval (%s) must be positive, e.g. 15s", o.ScrapeInterval)
	case o.IngestionDelay < 0:
		return nil, fmt.Errorf("--ingestion-delay (%s) must not be negative", o.IngestionDelay)
	case o.Startup < 0:
		return nil, fmt.Errorf("--startup (%s) must not be negative, e.g. 4m", o.Startup)
	case o.ModelLoad < 0 || o.ModelLoad > o.Startup:
		return nil, fmt.Errorf("--model-load (%s) must be between 0 and --startup (%s)", o.ModelLoad, o.Startup)
	case o.set["max-num-seqs"] && (o.MaxNumSeqs < 1 || o.MaxNumSeqs > 65536):
		return nil, fmt.Errorf("--max-num-seqs (%d) must be between 1 and 65536", o.MaxNumSeqs)
	case o.Routing != RoutingRandom && o.Routing != RoutingRoundRobin && o.Routing != RoutingLeast:
		return nil, fmt.Errorf("--routing %q: use random, round-robin or least", o.Routing)
	case o.Warmup < 0:
		return nil, fmt.Errorf("--warmup (%s) must not be negative; 0 measures from a cold start", o.Warmup)
	case o.InitialReplicas < 0:
		return nil, fmt.Errorf("--initial-replicas (%d) must not be negative; 0 starts with what the first minute's load needs", o.InitialReplicas)
	case sloTTFT < 0 || sloTPOT < 0:
		return nil, errors.New("--slo-ttft and --slo-tpot must not be negative; 0 drops a bound")
	case o.SLO.Percentile != 50 && o.SLO.Percentile != 90 && o.SLO.Percentile != 99:
		return nil, fmt.Errorf("--slo-percentile (%d) must be 50, 90 or 99", o.SLO.Percentile)
	case o.SyncPeriod < time.Second:
		return nil, fmt.Errorf("--sync-period (%s) must be at least 1s; upstream's default is 15s", o.SyncPeriod)
	case math.IsNaN(tolerance) || tolerance < 0 || tolerance >= 1:
		return nil, fmt.Errorf("--tolerance (%g) must be at least 0 and below 1; upstream's default is 0.1", tolerance)
	case o.HPA.DownscaleStabilization < 0:
		return nil, fmt.Errorf("--downscale-stabilization (%s) must not be negative", o.HPA.DownscaleStabilization)
	}
	if !o.Compare && (len(o.Files) > 1 || len(o.Backends) > 1) {
		return nil, fmt.Errorf("%d manifest files and %d backends given; add --compare to run them side by side", max(1, len(o.Files)), max(1, len(o.Backends)))
	}
	stdin := 0
	for _, f := range o.Files {
		if f == "-" {
			stdin++
		}
	}
	if stdin > 1 {
		return nil, errors.New("-f - given more than once; stdin can be read once")
	}
	return o, nil
}

// Main is the command: it returns the exit code (0 ok, 1 failed, 2 bad usage).
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var help bytes.Buffer
	o, err := ParseFlags(args, &help)
	if errors.Is(err, flag.ErrHelp) {
		stdout.Write(help.Bytes())
		return 0
	}
	if err != nil {
		if help.Len() > 0 {
			// The flag package's own message (unknown flag, bad number): keep
			// its first line and point at --help.
			line, _, _ := strings.Cut(help.String(), "\n")
			fmt.Fprintf(stderr, "vllm-hpa-whatif: %s; see vllm-hpa-whatif --help\n", line)
		} else {
			fmt.Fprintf(stderr, "vllm-hpa-whatif: %v\n", err)
		}
		return 2
	}
	results, err := RunOptions(o, stdin, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "vllm-hpa-whatif: %v\n", err)
		return 1
	}
	var out bytes.Buffer
	if o.JSON {
		err = WriteJSON(&out, results)
	} else {
		err = WriteTable(&out, results)
	}
	if err != nil {
		fmt.Fprintf(stderr, "vllm-hpa-whatif: %v\n", err)
		return 1
	}
	if o.PlotPath != "" {
		var png bytes.Buffer
		if err := WritePlot(&png, results, o.SLO); err != nil {
			fmt.Fprintf(stderr, "vllm-hpa-whatif: --plot %s: %v\n", o.PlotPath, err)
			return 1
		}
		if err := os.WriteFile(o.PlotPath, png.Bytes(), 0o644); err != nil {
			fmt.Fprintf(stderr, "vllm-hpa-whatif: --plot %s: %v; choose a writable path\n", o.PlotPath, err)
			return 1
		}
	}
	stdout.Write(out.Bytes())
	return 0
}

// RunOptions loads every input and runs each configuration.
func RunOptions(o *Options, stdin io.Reader, stderr io.Writer) ([]*Result, error) {
	data, err := os.ReadFile(o.ProfilePath)
	if err != nil {
		return nil, fmt.Errorf("--profile %s: %v", o.ProfilePath, unwrapPath(err))
	}
	prof, err := ParseProfile(data)
	if err != nil {
		return nil, fmt.Errorf("--profile %s: %v", o.ProfilePath, err)
	}
	var tr *Traffic
	if o.TracePath != "" {
		f, err := os.Open(o.TracePath)
		if err != nil {
			return nil, fmt.Errorf("--trace %s: %v", o.TracePath, unwrapPath(err))
		}
		defer f.Close()
		if tr, err = ParseTrace(o.TracePath, f); err != nil {
			return nil, err
		}
	} else if tr, err = ParseTraffic(o.Traffic, o.Seed); err != nil {
		return nil, err
	}
	if o.Duration > 0 {
		tr.Truncate(o.Duration.Seconds())
	}

	files := o.Files
	if len(files) == 0 {
		files = []string{"-"}
	}
	backends := o.Backends
	if len(backends) == 0 {
		backends = []Backend{""}
	}
	var stdinData []byte
	var results []*Result
	for _, file := range files {
		var data []byte
		source := file
		if file == "-" {
			source = "stdin"
			if stdinData == nil {
				if stdinData, err = io.ReadAll(stdin); err != nil {
					return nil, fmt.Errorf("stdin: %v", err)
				}
			}
			data = stdinData
		} else if data, err = os.ReadFile(file); err != nil {
			return nil, fmt.Errorf("-f %s: %v", file, unwrapPath(err))
		}
		for _, b := range backends {
			setup, err := ReadSetup(source, bytes.NewReader(data), o.HPAName, b)
			if err != nil {
				return nil, err
			}
			cfg := o.config(setup, prof, tr)
			label := uniqueName(source, files)
			if len(backends) > 1 || len(files) == 1 {
				label = string(cfg.Backend)
				if len(files) > 1 {
					label = uniqueName(source, files) + " " + label
				}
			}
			cfg.Label = label
			if cfg.MaxNumSeqs > int(math.Ceil(prof.largest())) && !o.JSON {
				fmt.Fprintf(stderr, "vllm-hpa-whatif: note: max-num-seqs %d is above the profile's largest running batch (%g); latency past it is extrapolated from the last two points\n", cfg.MaxNumSeqs, prof.largest())
			}
			res, err := Run(cfg)
			if err != nil {
				return nil, err
			}
			res.Assumptions = assumptions(cfg, prof)
			results = append(results, res)
		}
	}
	return results, nil
}

func (p *Profile) largest() float64 {
	v := 0.0
	for _, pt := range p.Points {
		v = math.Max(v, pt.running())
	}
	return v
}

// config resolves every setting: a flag the user set, else the manifests, else the default.
func (o *Options) config(s *Setup, p *Profile, tr *Traffic) Config {
	c := Config{Setup: s, Profile: p, Traffic: tr, Seed: o.Seed, Backend: s.Backend,
		IngestionDelay: o.IngestionDelay, AdapterWindow: AdapterWindow, RuleInterval: s.RuleInterval,
		Startup: o.Startup, ModelLoad: o.ModelLoad, Routing: o.Routing, InitialReplicas: int32(o.InitialReplicas), Warmup: o.Warmup,
		SLO: o.SLO, SyncPeriod: o.SyncPeriod, HPA: o.HPA}
	c.ScrapeInterval = firstPositive(o.ScrapeInterval, s.ScrapeInterval, DefaultScrapeInterval)
	c.MaxNumSeqs = o.MaxNumSeqs
	if c.MaxNumSeqs == 0 {
		c.MaxNumSeqs = s.MaxNumSeqs
	}
	if c.MaxNumSeqs == 0 {
		c.MaxNumSeqs = DefaultMaxNumSeqs
	}
	c.Grace = firstPositive(s.Grace, DefaultGrace)
	return c
}

func firstPositive(ds ...time.Duration) time.Duration {
	for _, d := range ds {
		if d > 0 {
			return d
		}
	}
	return 0
}

func assumptions(c Config, p *Profile) Assumptions {
	a := Assumptions{Source: c.Setup.Source, HPA: c.Setup.HPA.Name, Backend: string(c.Backend),
		ScrapeInterval: c.ScrapeInterval.String(), Startup: c.Startup.String(), MaxNumSeqs: c.MaxNumSeqs,
		Routing: c.Routing, Traffic: c.Traffic.Name, Seed: c.Seed, ProfileLargestB: p.largest()}
	a.IngestionDelay = "none"
	if c.Backend == BackendAdapter {
		a.IngestionDelay = c.IngestionDelay.String()
	}
	for i, m := range c.Setup.HPA.Spec.Metrics {
		a.Metrics = append(a.Metrics, c.Setup.Gauges[i])
		if m.Pods != nil && m.Pods.Target.AverageValue != nil {
			a.Targets = append(a.Targets, m.Pods.Target.AverageValue.String())
			a.TargetValues = append(a.TargetValues, m.Pods.Target.AverageValue.AsApproximateFloat64())
		}
	}
	var bounds []string
	if c.SLO.TTFT > 0 {
		bounds = append(bounds, "TTFT<="+fmtDur(c.SLO.TTFT))
	}
	if c.SLO.TPOT > 0 {
		bounds = append(bounds, "TPOT<="+fmtDur(c.SLO.TPOT))
	}
	a.SLO = fmt.Sprintf("p%d %s", c.SLO.Percentile, strings.Join(bounds, " "))
	return a
}

// uniqueName is the shortest trailing part of path that tells it from the
// other files: "vllm/expected.yaml" beside "gpu/expected.yaml".
func uniqueName(path string, all []string) string {
	parts := strings.Split(filepath.ToSlash(path), "/")
	for n := 1; n <= len(parts); n++ {
		name := strings.Join(parts[len(parts)-n:], "/")
		clash := false
		for _, other := range all {
			if other != path && (other == name || strings.HasSuffix(filepath.ToSlash(other), "/"+name)) {
				clash = true
			}
		}
		if !clash {
			return name
		}
	}
	return path
}

// unwrapPath drops the path an *os.PathError repeats.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
