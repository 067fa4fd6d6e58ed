package whatif

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/vllm-hpa/vllm-hpa/internal/whatif/hpa"
)

// SLO is the latency objective the report measures requests against.
type SLO struct {
	// Percentile is 50, 90 or 99: the report says whether that percentile of
	// TTFT and TPOT stays within the bounds.
	Percentile int
	TTFT, TPOT float64 // seconds; 0 leaves that bound out
}

// Config is one simulated configuration.
type Config struct {
	Label   string
	Setup   *Setup
	Profile *Profile
	Traffic *Traffic
	Seed    uint64

	Backend        Backend
	ScrapeInterval time.Duration
	// IngestionDelay is how long after a scrape the sample is readable
	// through the adapter (adapter backend only).
	IngestionDelay time.Duration
	// AdapterWindow is how far back the adapter looks for a gauge's latest point.
	AdapterWindow time.Duration
	// RuleInterval delays a recorded GPU metric to the rule's next evaluation.
	RuleInterval time.Duration

	// Startup is a new pod's time from creation to ready; the last ModelLoad
	// of it the pod runs (loading the model, serving no metrics).
	Startup, ModelLoad time.Duration
	MaxNumSeqs         int
	Grace              time.Duration
	Routing            string
	InitialReplicas    int32
	// Warmup runs the traffic's first rate for this long before the
	// measured time, so that the HPA has settled when it starts.
	Warmup time.Duration

	SLO        SLO
	SyncPeriod time.Duration
	HPA        hpa.Options
}

// Routing policies for requests among ready pods.
const (
	// RoutingRandom is kube-proxy's iptables mode: each connection to a
	// Service picks a ready endpoint uniformly at random.
	RoutingRandom     = "random"
	RoutingRoundRobin = "round-robin"
	// RoutingLeast sends each request to the pod with the fewest requests
	// (running + waiting), as an inference-aware gateway would.
	RoutingLeast = "least"
)

type podState uint8

const (
	podPending podState = iota
	podLoading
	podReady
	podDraining
	podGone
)

type sample struct {
	at, visible float64
	vals        [maxMetrics]float64
}

const maxMetrics = 8

type replica struct {
	id       int32
	state    podState
	created  float64
	ready    float64
	gone     float64
	readyIdx int // position in sim.readyList, -1 when absent

	running int
	queue   []Request // FIFO: queue[head:]
	head    int

	busyAcc, busySince float64
	lastBusy, lastScr  float64

	samples []sample // scraped, not yet visible
	latest  sample
	hasLast bool
	offset  float64 // scrape phase
}

func (r *replica) waiting() int { return len(r.queue) - r.head }

type gaugeKind uint8

const (
	gaugeRunning gaugeKind = iota
	gaugeWaiting
	gaugeTable // interpolated from the profile at the running batch
	gaugeGPUBusy
)

type sim struct {
	cfg     Config
	model   *model
	ctl     *hpa.Controller
	spec    hpa.Spec
	gauges  []gaugeKind
	tables  [][]float64
	q       eventQueue
	reps    []*replica
	ready   []int32
	svc     *rand.Rand
	route   *rand.Rand
	rr      int
	now     float64
	desired int32

	window, delay, interval, rule float64

	res          *Result
	tr           *Traffic // the traffic with its warm-up
	from         float64  // when the measured time starts
	ttft, wait   histogram
	tpot         histogram
	minute       histogram
	sloOK        uint64
	sloTTFTOK    uint64
	capacity     float64
	readyChanges []readyChange
	pods         []hpa.Pod
}

type readyChange struct {
	t     float64
	ready int
}

// Run simulates one configuration over the traffic.
func Run(cfg Config) (*Result, error) {
	s, err := newSim(cfg)
	if err != nil {
		return nil, err
	}
	s.run()
	return s.finish(), nil
}

func newSim(cfg Config) (*sim, error) {
	spec, err := hpa.Defaulted(cfg.Setup.HPA)
	if err != nil {
		return nil, fmt.Errorf("%s: HorizontalPodAutoscaler %s: %v", cfg.Setup.Source, cfg.Setup.HPA.Name, err)
	}
	if len(spec.Metrics) > maxMetrics {
		return nil, fmt.Errorf("%s: HorizontalPodAutoscaler %s has %d metrics; the simulator takes at most %d", cfg.Setup.Source, cfg.Setup.HPA.Name, len(spec.Metrics), maxMetrics)
	}
	m, err := newModel(cfg.Profile, cfg.MaxNumSeqs)
	if err != nil {
		return nil, err
	}
	s := &sim{cfg: cfg, model: m, spec: spec, ctl: hpa.New(spec, cfg.HPA),
		svc:   rand.New(rand.NewPCG(cfg.Seed, 0x73657276696365)),
		route: rand.New(rand.NewPCG(cfg.Seed, 0x726f757465)),
		res:   &Result{Label: cfg.Label}}
	for i, g := range cfg.Setup.Gauges {
		switch {
		case g == GaugeRunning:
			s.gauges = append(s.gauges, gaugeRunning)
			s.tables = append(s.tables, nil)
		case g == GaugeWaiting:
			s.gauges = append(s.gauges, gaugeWaiting)
			s.tables = append(s.tables, nil)
		case m.gauges[g] != nil:
			s.gauges = append(s.gauges, gaugeTable)
			s.tables = append(s.tables, m.gauges[g])
		case strings.EqualFold(g, "dcgm_fi_dev_gpu_util") && m.gauges["DCGM_FI_DEV_GPU_UTIL"] != nil:
			s.gauges = append(s.gauges, gaugeTable)
			s.tables = append(s.tables, m.gauges["DCGM_FI_DEV_GPU_UTIL"])
		case strings.EqualFold(g, "dcgm_fi_dev_gpu_util"):
			s.gauges = append(s.gauges, gaugeGPUBusy)
			s.tables = append(s.tables, nil)
		default:
			return nil, fmt.Errorf("%s: HorizontalPodAutoscaler %s spec.metrics[%d] reads %q, which the profile did not measure; profile the server again with vllm-loadgen profile --gauge %s", cfg.Setup.Source, cfg.Setup.HPA.Name, i, g, g)
		}
	}
	s.interval = cfg.ScrapeInterval.Seconds()
	s.window = cfg.AdapterWindow.Seconds()
	if cfg.Backend == BackendAdapter {
		s.delay = cfg.IngestionDelay.Seconds()
		if len(s.gauges) > 0 && s.gauges[0] == gaugeGPUBusy || strings.EqualFold(cfg.Setup.Gauges[0], "dcgm_fi_dev_gpu_util") {
			s.rule = cfg.RuleInterval.Seconds()
		}
	}
	s.capacity = replicaCapacity(cfg.Profile, m, cfg.SLO)
	s.tr = cfg.Traffic.withWarmup(cfg.Warmup.Seconds())
	s.from = s.tr.Duration - cfg.Traffic.Duration
	return s, nil
}

// replicaCapacity is the request rate one replica serves within the SLO: the
// throughput of the busiest profile point (within max-num-seqs) whose
// latencies at the SLO's percentile meet it; the lightest point's when none does.
func replicaCapacity(p *Profile, m *model, slo SLO) float64 {
	best := 0.0
	for _, pt := range p.Points {
		if pt.running() > float64(m.maxSeqs)+0.5 || pt.waiting() > 0.5 {
			continue
		}
		if !meets(pt, slo) && best > 0 {
			continue
		}
		rps := pt.RequestsPerSecond
		if rps <= 0 {
			rps = pt.Concurrency / (pt.TTFT.P50 + float64(p.MaxTokens-1)*pt.TPOT.P50)
		}
		if meets(pt, slo) || best == 0 {
			if meets(pt, slo) {
				best = math.Max(best, rps)
			} else {
				best = rps
			}
		}
	}
	return best
}

func meets(pt ProfilePoint, slo SLO) bool {
	pick := func(p Percentiles) float64 {
		switch slo.Percentile {
		case 50:
			return p.P50
		case 99:
			return p.P99
		}
		return p.P90
	}
	if slo.TTFT > 0 && pick(pt.TTFT) > slo.TTFT {
		return false
	}
	if slo.TPOT > 0 && pick(pt.TPOT) > slo.TPOT {
		return false
	}
	return true
}

func (s *sim) run() {
	cfg := s.cfg
	dur := s.tr.Duration
	initial := cfg.InitialReplicas
	if initial == 0 && s.capacity > 0 {
		// Start in steady state: as many replicas as the first minute's load needs.
		initial = int32(math.Ceil(cfg.Traffic.MeanRate(0, 60) / s.capacity))
	}
	if initial < s.spec.MinReplicas {
		initial = s.spec.MinReplicas
	}
	if initial > s.spec.MaxReplicas {
		initial = s.spec.MaxReplicas
	}
	s.desired = initial
	for i := int32(0); i < initial; i++ {
		r := s.newReplica(0)
		r.state = podReady
		r.ready = 0
		s.addReady(r)
		// The run starts warm: an idle sample of each pod is already readable.
		r.latest, r.hasLast = sample{at: 0}, true
		s.scheduleScrape(r, 0)
	}
	s.readyChanged()
	s.q.push(event{t: 0, kind: evSync})
	s.q.push(event{t: s.from + 60, kind: evMinute})

	arr := newArrivals(s.tr, cfg.Seed)
	next, more := arr.next()
	for {
		if more && next.At >= dur {
			more = false
		}
		if more && (s.q.len() == 0 || next.At <= s.q.peek().t) {
			s.now = next.At
			s.arrive(next)
			next, more = arr.next()
			continue
		}
		if s.q.len() == 0 {
			break
		}
		e := s.q.pop()
		if e.t > dur && e.kind != evCompletion && e.kind != evGraceEnd {
			// After the traffic ends only the requests in flight finish.
			continue
		}
		s.now = e.t
		switch e.kind {
		case evCompletion:
			s.complete(e)
		case evContainerStart:
			if r := s.reps[e.rep]; r.state == podPending {
				r.state = podLoading
			}
		case evReady:
			if r := s.reps[e.rep]; r.state == podLoading {
				r.state = podReady
				r.ready = s.now
				s.addReady(r)
				s.readyChanged()
				s.scheduleScrape(r, s.now)
			}
		case evScrape:
			s.scrape(s.reps[e.rep])
		case evSync:
			s.sync()
			s.q.push(event{t: s.now + cfg.SyncPeriod.Seconds(), kind: evSync})
		case evGraceEnd:
			s.terminate(s.reps[e.rep])
		case evMinute:
			s.res.Latency = append(s.res.Latency, LatencyPoint{T: s.now - s.from, TTFTP90: s.minute.quantile(0.9), Requests: s.minute.n})
			s.minute.reset()
			s.q.push(event{t: s.now + 60, kind: evMinute})
		}
	}
	s.now = dur
}

func (s *sim) newReplica(t float64) *replica {
	r := &replica{id: int32(len(s.reps)), created: t, readyIdx: -1, gone: -1}
	// Each target gets a fixed scrape phase, as Prometheus spreads targets
	// over the interval by a hash of the target.
	h := uint64(r.id)*0x9E3779B97F4A7C15 + s.cfg.Seed
	r.offset = float64(h%1000) / 1000 * s.interval
	s.reps = append(s.reps, r)
	return r
}

func (s *sim) addReady(r *replica) {
	r.readyIdx = len(s.ready)
	s.ready = append(s.ready, r.id)
}

func (s *sim) removeReady(r *replica) {
	if r.readyIdx < 0 {
		return
	}
	last := s.ready[len(s.ready)-1]
	s.ready[r.readyIdx] = last
	s.reps[last].readyIdx = r.readyIdx
	s.ready = s.ready[:len(s.ready)-1]
	r.readyIdx = -1
}

// readyChanged records the ready count, on the measured clock.
func (s *sim) readyChanged() {
	s.readyChanges = append(s.readyChanges, readyChange{s.now - s.from, len(s.ready)})
}

// measuring is true once the warm-up is over.
func (s *sim) measuring() bool { return s.now >= s.from }

func (s *sim) scheduleScrape(r *replica, after float64) {
	k := math.Ceil((after - r.offset) / s.interval)
	t := r.offset + k*s.interval
	if t < after {
		t += s.interval
	}
	if t == after && after > 0 {
		t += s.interval
	}
	s.q.push(event{t: t, kind: evScrape, rep: r.id})
}

// arrive routes a request to a ready pod, as the Service would.
func (s *sim) arrive(req Request) {
	if s.measuring() {
		s.res.Requests++
	}
	if len(s.ready) == 0 {
		if s.measuring() {
			s.res.Rejected++
		}
		return
	}
	var r *replica
	switch s.cfg.Routing {
	case RoutingRoundRobin:
		s.rr++
		r = s.reps[s.ready[s.rr%len(s.ready)]]
	case RoutingLeast:
		best := -1
		for _, id := range s.ready {
			c := s.reps[id]
			if n := c.running + c.waiting(); best < 0 || n < best {
				best, r = n, c
			}
		}
	default:
		r = s.reps[s.ready[s.route.IntN(len(s.ready))]]
	}
	if r.running < s.model.maxSeqs {
		s.admit(r, req)
		return
	}
	if r.head > 0 && r.head == len(r.queue) {
		r.queue, r.head = r.queue[:0], 0
	}
	r.queue = append(r.queue, req)
}

// admit puts a request into the running batch and schedules its last token.
func (s *sim) admit(r *replica, req Request) {
	if r.running == 0 {
		r.busySince = s.now
	}
	r.running++
	b := r.running
	m := s.model
	ttft := m.ttft[b].at(s.svc.NormFloat64())
	tpot := m.tpot[b].at(s.svc.NormFloat64())
	out := float64(m.maxTokens)
	if req.PromptTokens > 0 {
		// Prefill time grows with the prompt; the profile measured promptTokens.
		ttft *= float64(req.PromptTokens) / float64(m.promptTokens)
		out = float64(req.OutputTokens)
	}
	wait := s.now - req.At
	end := s.now + ttft + math.Max(out-1, 0)*tpot
	s.q.push(event{t: end, kind: evCompletion, rep: r.id, ttft: float32(wait + ttft), tpot: float32(tpot), wait: float32(wait)})
}

func (s *sim) complete(e event) {
	r := s.reps[e.rep]
	if r.state == podGone {
		// The pod was killed at the end of its grace period with this request in flight.
		return
	}
	if s.measuring() {
		s.res.Completed++
		ttft, tpot := float64(e.ttft), float64(e.tpot)
		s.ttft.add(ttft)
		s.tpot.add(tpot)
		s.wait.add(float64(e.wait))
		s.minute.add(ttft)
		okT := s.cfg.SLO.TTFT <= 0 || ttft <= s.cfg.SLO.TTFT
		okP := s.cfg.SLO.TPOT <= 0 || tpot <= s.cfg.SLO.TPOT
		if okT && okP {
			s.sloOK++
		}
	}
	r.running--
	if r.running == 0 {
		r.busyAcc += s.now - r.busySince
	}
	if r.waiting() > 0 {
		next := r.queue[r.head]
		r.head++
		s.admit(r, next)
	}
	if r.state == podDraining && r.running == 0 && r.waiting() == 0 {
		s.terminate(r)
	}
}

// scrape takes the pod's gauges and queues the sample until the backend
// makes it readable.
func (s *sim) scrape(r *replica) {
	if r.state != podReady && r.state != podDraining {
		return
	}
	busy := r.busyAcc
	if r.running > 0 {
		busy += s.now - r.busySince
	}
	frac := 0.0
	if dt := s.now - r.lastScr; dt > 0 {
		frac = (busy - r.lastBusy) / dt
	}
	r.lastBusy, r.lastScr = busy, s.now
	smp := sample{at: s.now, visible: s.now + s.delay}
	if s.rule > 0 {
		// A recorded series exists from the rule's next evaluation, then is ingested.
		smp.visible = math.Ceil((s.now+s.delay)/s.rule)*s.rule + s.delay
	}
	for i, g := range s.gauges {
		switch g {
		case gaugeRunning:
			smp.vals[i] = float64(r.running)
		case gaugeWaiting:
			smp.vals[i] = float64(r.waiting())
		case gaugeTable:
			smp.vals[i] = s.tables[i][min(r.running, len(s.tables[i])-1)]
		case gaugeGPUBusy:
			smp.vals[i] = 100 * math.Min(1, frac)
		}
	}
	r.samples = append(r.samples, smp)
	s.q.push(event{t: s.now + s.interval, kind: evScrape, rep: r.id})
}

// sync is one HPA reconcile: read the metrics as the backend serves them
// now, decide, and scale the target.
func (s *sim) sync() {
	s.pods = s.pods[:0]
	for _, r := range s.reps {
		if r.state == podGone {
			continue
		}
		p := hpa.Pod{Deleting: r.state == podDraining, Pending: r.state == podPending}
		// The newest sample readable now.
		n := 0
		for n < len(r.samples) && r.samples[n].visible <= s.now {
			r.latest, r.hasLast = r.samples[n], true
			n++
		}
		if n > 0 {
			r.samples = append(r.samples[:0], r.samples[n:]...)
		}
		if r.state == podLoading || r.state == podReady || r.state == podDraining {
			fresh := r.hasLast && (s.window <= 0 || r.latest.at >= s.now-s.window)
			p.Metrics = make([]hpa.Sample, len(s.gauges))
			for i := range s.gauges {
				if fresh && (r.state == podReady || r.state == podDraining) {
					p.Metrics[i] = hpa.Sample{Present: true, Milli: milli(r.latest.vals[i])}
				}
			}
		}
		s.pods = append(s.pods, p)
	}
	d := s.ctl.Sync(time.Duration(s.now*float64(time.Second)), s.desired, s.pods)
	measuring := s.measuring()
	pt := TimelinePoint{T: s.now - s.from, Rate: s.tr.RateAt(s.now)}
	if s.now > 0 {
		pt.Rate = s.tr.MeanRate(s.now-s.cfg.SyncPeriod.Seconds(), s.now)
	}
	for _, u := range d.Usage {
		if u < 0 {
			pt.Metric = append(pt.Metric, math.NaN())
		} else {
			pt.Metric = append(pt.Metric, float64(u)/1000)
		}
	}
	if d.Rescaled {
		if d.Desired > d.Current {
			if measuring {
				s.res.ScaleUps++
			}
			for i := d.Current; i < d.Desired; i++ {
				s.createPod()
			}
		} else {
			if measuring {
				s.res.ScaleDowns++
			}
			s.deletePods(int(d.Current - d.Desired))
		}
		s.desired = d.Desired
	}
	if d.Err != nil && measuring {
		s.res.MetricErrors++
	}
	pt.Desired = s.desired
	pt.Ready = int32(len(s.ready))
	for _, r := range s.reps {
		if r.state != podGone && r.state != podDraining {
			pt.Pods++
		}
	}
	if measuring {
		s.res.MaxPods = max(s.res.MaxPods, pt.Pods)
		s.res.Timeline = append(s.res.Timeline, pt)
	}
}

// milli is the value the HPA reads: the adapter writes a double as a
// micro-unit Quantity (int64(v*1e6)), the HPA takes its MilliValue, which
// rounds up.
func milli(v float64) int64 {
	micro := int64(v * 1e6)
	m := micro / 1000
	if micro%1000 > 0 {
		m++
	}
	return m
}

func (s *sim) createPod() {
	r := s.newReplica(s.now)
	r.state = podPending
	load := math.Min(s.cfg.ModelLoad.Seconds(), s.cfg.Startup.Seconds())
	s.q.push(event{t: s.now + s.cfg.Startup.Seconds() - load, kind: evContainerStart, rep: r.id})
	s.q.push(event{t: s.now + s.cfg.Startup.Seconds(), kind: evReady, rep: r.id})
}

// deletePods removes n pods in the ReplicaSet's order: pods not yet running,
// then not ready, then ready; the newest first within each.
func (s *sim) deletePods(n int) {
	for _, want := range []podState{podPending, podLoading, podReady} {
		for i := len(s.reps) - 1; i >= 0 && n > 0; i-- {
			r := s.reps[i]
			if r.state != want {
				continue
			}
			n--
			if want != podReady {
				s.terminate(r)
				continue
			}
			s.removeReady(r)
			s.readyChanged()
			r.state = podDraining
			if r.running == 0 && r.waiting() == 0 {
				s.terminate(r)
			} else {
				s.q.push(event{t: s.now + s.cfg.Grace.Seconds(), kind: evGraceEnd, rep: r.id})
			}
		}
	}
}

// terminate ends a pod; requests still in it are lost.
func (s *sim) terminate(r *replica) {
	if r.state == podGone {
		return
	}
	if r.state == podReady {
		s.removeReady(r)
		s.readyChanged()
	}
	if s.measuring() {
		s.res.Aborted += uint64(r.running + r.waiting())
	}
	r.state = podGone
	r.gone = s.now
	r.queue, r.head, r.samples = nil, 0, nil
}
