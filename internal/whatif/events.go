package whatif

// The event queue: a binary min-heap of plain structs (no interface values,
// so a day of completions allocates nothing per event). Events at the same
// instant run in the order they were scheduled, which keeps runs
// deterministic.

type eventKind uint8

const (
	evCompletion     eventKind = iota // a request's last token
	evContainerStart                  // a pod's containers start: Pending -> Running
	evReady                           // the pod passes its readiness probe
	evScrape                          // the pod's /metrics is scraped
	evSync                            // the HPA controller reconciles
	evGraceEnd                        // a deleted pod's grace period ends
	evMinute                          // the latency timeline's one-minute window closes
)

type event struct {
	t    float64
	seq  uint64
	kind eventKind
	rep  int32
	// For completions: the request's user-visible TTFT, its time per output
	// token and its time in the queue, in seconds.
	ttft, tpot, wait float32
}

type eventQueue struct {
	h   []event
	seq uint64
}

func (q *eventQueue) len() int { return len(q.h) }

func (q *eventQueue) less(i, j int) bool {
	a, b := &q.h[i], &q.h[j]
	if a.t != b.t {
		return a.t < b.t
	}
	return a.seq < b.seq
}

func (q *eventQueue) push(e event) {
	q.seq++
	e.seq = q.seq
	q.h = append(q.h, e)
	i := len(q.h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !q.less(i, p) {
			break
		}
		q.h[i], q.h[p] = q.h[p], q.h[i]
		i = p
	}
}

func (q *eventQueue) peek() *event { return &q.h[0] }

func (q *eventQueue) pop() event {
	top := q.h[0]
	n := len(q.h) - 1
	q.h[0] = q.h[n]
	q.h = q.h[:n]
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && q.less(r, l) {
			m = r
		}
		if !q.less(m, i) {
			break
		}
		q.h[i], q.h[m] = q.h[m], q.h[i]
		i = m
	}
	return top
}
