package rules

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/util/teststorage"
)

// Series is one series and its latest value.
type Series struct {
	Labels map[string]string
	Value  float64
}

// Evaluator evaluates expressions with the Prometheus query engine over
// series the caller supplies, the way a rule evaluator sees the scraped data
// at one evaluation.
type Evaluator struct {
	mu     sync.Mutex
	engine *promql.Engine
	db     *teststorage.TestStorage
	now    int64 // logical time of the latest input, in milliseconds
}

// evalStep separates successive inputs by more than the engine's 5m lookback,
// so each evaluation sees exactly the series of its own input.
const evalStep = 10 * time.Minute

// NewEvaluator opens an empty in-memory TSDB. Close it after use.
func NewEvaluator() (*Evaluator, error) {
	db, err := teststorage.NewWithError()
	if err != nil {
		return nil, err
	}
	engine := promql.NewEngine(promql.EngineOpts{MaxSamples: 1_000_000, Timeout: 30 * time.Second})
	return &Evaluator{engine: engine, db: db}, nil
}

// Close releases the TSDB.
func (e *Evaluator) Close() error {
	return e.db.Close()
}

// Evaluate stores input as the current samples and evaluates expr as an
// instant query over them.
func (e *Evaluator) Evaluate(ctx context.Context, expr string, input []Series) ([]Series, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.now += evalStep.Milliseconds()
	app := e.db.Appender(ctx)
	for _, s := range input {
		if _, err := app.Append(0, labels.FromMap(s.Labels), e.now, s.Value); err != nil {
			_ = app.Rollback()
			return nil, fmt.Errorf("store %v: %w", s.Labels, err)
		}
	}
	if err := app.Commit(); err != nil {
		return nil, err
	}
	q, err := e.engine.NewInstantQuery(ctx, e.db, nil, expr, time.UnixMilli(e.now))
	if err != nil {
		return nil, fmt.Errorf("query %q: %w", expr, err)
	}
	defer q.Close()
	vec, err := q.Exec(ctx).Vector()
	if err != nil {
		return nil, fmt.Errorf("evaluate %q: %w", expr, err)
	}
	out := make([]Series, 0, len(vec))
	for _, s := range vec {
		out = append(out, Series{Labels: s.Metric.Map(), Value: s.F})
	}
	return out, nil
}
