// Package hpa is the Horizontal Pod Autoscaler's decision rule for Pods
// metrics, written from kube-controller-manager's source so that a simulation
// takes the decisions a real cluster would take on the same metric values.
//
// Sources read (kubernetes/kubernetes, pkg/controller/podautoscaler):
//   - horizontal.go: reconcileAutoscaler, computeReplicasForMetrics,
//     normalizeDesiredReplicas[WithBehaviors], stabilizeRecommendation[WithBehaviors],
//     convertDesiredReplicasWithBehaviorRate, calculateScale{Up,Down}Limit*,
//     storeScaleEvent, markScaleEventsOutdated, tolerancesForHpa;
//   - replica_calculator.go: calcPlainMetricReplicas, groupPods, Tolerances.isWithin;
//   - metrics/utilization.go: GetMetricUsageRatio (integer milli-unit average);
//   - pkg/apis/autoscaling/v2/defaults.go: the behavior the API server fills in.
//
// Time is virtual: every call names "now", and nothing here reads a clock.
package hpa

import (
	"errors"
	"math"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
)

// Controller flags of kube-controller-manager that change decisions, with
// their upstream defaults.
const (
	// DefaultSyncPeriod is --horizontal-pod-autoscaler-sync-period.
	DefaultSyncPeriod = 15 * time.Second
	// DefaultTolerance is --horizontal-pod-autoscaler-tolerance.
	DefaultTolerance = 0.1
	// DefaultDownscaleStabilization is
	// --horizontal-pod-autoscaler-downscale-stabilization, used when a
	// behavior leaves scaleDown.stabilizationWindowSeconds unset.
	DefaultDownscaleStabilization = 5 * time.Minute
)

// Pod is what the controller sees of one pod that matches the target's selector.
type Pod struct {
	// Deleting: the pod has a deletion timestamp; the controller ignores it.
	Deleting bool
	// Pending: the pod's phase is Pending (no node yet, image pulling). The
	// controller removes its metric and, on a scale-up, counts it as 0.
	Pending bool
	// Metrics holds one value per metric of the HPA, in spec order, as the
	// metrics API serves it; a pod absent from the answer has Present false.
	Metrics []Sample
}

// Sample is one pod's value of one metric, in milli-units, as the HPA reads a
// custom metric (Quantity.MilliValue).
type Sample struct {
	Present bool
	Milli   int64
}

// Decision is the result of one sync.
type Decision struct {
	// Current is scale.spec.replicas when the sync started.
	Current int32
	// Desired is the replica count the sync wrote (Current when it did not scale).
	Desired int32
	// Rescaled is true when the sync changed the scale.
	Rescaled bool
	// Usage is the average of each metric over the pods that reported it
	// (milli-units), as the HPA status shows it; -1 where the metric failed.
	Usage []int64
	// Err is set when no metric gave a usable value; the HPA then does not scale.
	Err error
}

// Metric is one Pods metric of an HPA with an AverageValue target.
type Metric struct {
	Name        string
	TargetMilli int64
}

// Spec is the part of an autoscaling/v2 HPA that decides replica counts, with
// the API server's defaults applied (see Defaulted).
type Spec struct {
	MinReplicas int32
	MaxReplicas int32
	Metrics     []Metric
	// Behavior is nil when the HPA has none: the controller then uses the
	// legacy rules (a fixed scale-up limit, the controller's downscale window).
	Behavior *autoscalingv2.HorizontalPodAutoscalerBehavior
}

// Options are kube-controller-manager's HPA flags.
type Options struct {
	Tolerance              float64
	DownscaleStabilization time.Duration
	// ConfigurableTolerance is the HPAConfigurableTolerance feature gate
	// (alpha in 1.33, beta from 1.35): without it behavior.*.tolerance is ignored.
	ConfigurableTolerance bool
}

// DefaultOptions are the controller's defaults on a current cluster.
func DefaultOptions() Options {
	return Options{Tolerance: DefaultTolerance, DownscaleStabilization: DefaultDownscaleStabilization, ConfigurableTolerance: true}
}

type recommendation struct {
	replicas int32
	at       time.Duration
}

type scaleEvent struct {
	change   int32
	at       time.Duration
	outdated bool
}

// Controller holds one HPA's memory between syncs: its recent
// recommendations and scale events, as the upstream controller keeps them.
type Controller struct {
	spec Spec
	opt  Options

	recommendations []recommendation
	scaleUpEvents   []scaleEvent
	scaleDownEvents []scaleEvent
}

// New returns a controller for spec, which must already be defaulted.
func New(spec Spec, opt Options) *Controller {
	return &Controller{spec: spec, opt: opt}
}

// Spec returns the HPA spec the controller runs.
func (c *Controller) Spec() Spec { return c.spec }

// ErrNoMetrics is the error of a sync in which no pod reported the metric.
var ErrNoMetrics = errors.New("did not receive metrics for targeted pods (pods might be unready)")

// Sync runs one reconcile of the HPA at virtual time now, with the target's
// scale.spec.replicas and the pods it selects.
func (c *Controller) Sync(now time.Duration, specReplicas int32, pods []Pod) Decision {
	current := specReplicas
	if len(c.recommendations) == 0 {
		// recordInitialRecommendation
		c.recommendations = append(c.recommendations, recommendation{current, now})
	}
	d := Decision{Current: current, Desired: current, Usage: make([]int64, len(c.spec.Metrics))}
	minReplicas := c.spec.MinReplicas
	var desired int32
	switch {
	case current == 0:
		// Scaling is disabled while the target has no replicas (no scale-to-zero here).
		return d
	case current > c.spec.MaxReplicas:
		desired = c.spec.MaxReplicas
	case current < minReplicas:
		desired = minReplicas
	default:
		metricDesired, err := c.computeReplicasForMetrics(current, pods, d.Usage)
		if err != nil {
			d.Err = err
			return d
		}
		desired = metricDesired
		if c.spec.Behavior == nil {
			desired = c.normalizeDesiredReplicas(now, current, desired, minReplicas)
		} else {
			desired = c.normalizeDesiredReplicasWithBehaviors(now, current, desired, minReplicas)
		}
	}
	if desired != current {
		c.storeScaleEvent(now, current, desired)
		d.Desired = desired
		d.Rescaled = true
	}
	return d
}

// computeReplicasForMetrics takes the largest proposal of the metrics that
// worked; if any failed and the rest would scale down, it does not scale.
func (c *Controller) computeReplicasForMetrics(current int32, pods []Pod, usage []int64) (int32, error) {
	var replicas int32
	invalid := 0
	var firstErr error
	tol := c.tolerances()
	for i, m := range c.spec.Metrics {
		proposal, u, err := calcPlainMetricReplicas(pods, i, current, m.TargetMilli, tol)
		usage[i] = u
		if err != nil {
			usage[i] = -1
			if invalid == 0 {
				firstErr = err
			}
			invalid++
			continue
		}
		if replicas == 0 || proposal > replicas {
			replicas = proposal
		}
	}
	if invalid >= len(c.spec.Metrics) || (invalid > 0 && replicas < current) {
		if firstErr == nil {
			firstErr = errors.New("the HPA has no metrics")
		}
		return 0, firstErr
	}
	return replicas, nil
}

// Tolerances are the scale-down and scale-up tolerances on the usage ratio.
type Tolerances struct{ Down, Up float64 }

func (t Tolerances) isWithin(ratio float64) bool {
	return 1.0-t.Down <= ratio && ratio <= 1.0+t.Up
}

// tolerances is tolerancesForHpa: the controller's flag, overridden per
// direction by behavior.*.tolerance when the feature gate is on.
func (c *Controller) tolerances() Tolerances {
	t := Tolerances{c.opt.Tolerance, c.opt.Tolerance}
	b := c.spec.Behavior
	if b == nil || !c.opt.ConfigurableTolerance {
		return t
	}
	if b.ScaleDown != nil && b.ScaleDown.Tolerance != nil {
		t.Down = b.ScaleDown.Tolerance.AsApproximateFloat64()
	}
	if b.ScaleUp != nil && b.ScaleUp.Tolerance != nil {
		t.Up = b.ScaleUp.Tolerance.AsApproximateFloat64()
	}
	return t
}

// calcPlainMetricReplicas proposes a replica count from metric i of the pods.
// It returns the proposal and the average usage (milli-units).
func calcPlainMetricReplicas(pods []Pod, i int, current int32, target int64, tol Tolerances) (int32, int64, error) {
	// groupPods: deleted pods are ignored, pending pods are "unready", pods
	// without a value are "missing"; only CPU looks at readiness.
	var ready, unready, missing int
	var total int64
	for _, p := range pods {
		switch {
		case p.Deleting:
			continue
		case p.Pending:
			unready++
			continue
		case i >= len(p.Metrics) || !p.Metrics[i].Present:
			missing++
			continue
		}
		ready++
		total += p.Metrics[i].Milli
	}
	if len(pods) == 0 {
		return 0, 0, errors.New("no pods returned by selector while calculating replica count")
	}
	if ready == 0 {
		return 0, 0, ErrNoMetrics
	}
	// GetMetricUsageRatio: an integer average of milli-values.
	usage := total / int64(ready)
	ratio := float64(usage) / float64(target)

	scaleUpWithUnready := unready > 0 && ratio > 1.0
	if !scaleUpWithUnready && missing == 0 {
		if tol.isWithin(ratio) {
			return current, usage, nil
		}
		return int32(math.Ceil(ratio * float64(ready))), usage, nil
	}

	n := ready
	if missing > 0 {
		if ratio < 1.0 {
			// On a scale-down a pod without a metric counts as exactly at target.
			total += int64(missing) * target
			n += missing
		} else if ratio > 1.0 {
			// On a scale-up it counts as 0.
			n += missing
		}
	}
	if scaleUpWithUnready {
		n += unready
	}
	newUsage := total / int64(n)
	newRatio := float64(newUsage) / float64(target)

	if tol.isWithin(newRatio) || (ratio < 1.0 && newRatio > 1.0) || (ratio > 1.0 && newRatio < 1.0) {
		// Too small a change, or the pods without a value would reverse the direction.
		return current, usage, nil
	}
	replicas := int32(math.Ceil(newRatio * float64(n)))
	if (newRatio < 1.0 && replicas > current) || (newRatio > 1.0 && replicas < current) {
		return current, usage, nil
	}
	return replicas, usage, nil
}

// normalizeDesiredReplicas is the rule for an HPA without behavior: the
// highest recommendation of the controller's downscale window, then
// min/max and a scale-up limit of max(2x, 4) per sync.
func (c *Controller) normalizeDesiredReplicas(now time.Duration, current, desired, minReplicas int32) int32 {
	stabilized := c.stabilizeRecommendation(now, desired)
	limit := int32(math.Max(2*float64(current), 4))
	maxAllowed := c.spec.MaxReplicas
	if maxAllowed > limit {
		maxAllowed = limit
	}
	switch {
	case stabilized < minReplicas:
		return minReplicas
	case stabilized > maxAllowed:
		return maxAllowed
	}
	return stabilized
}

func (c *Controller) stabilizeRecommendation(now time.Duration, desired int32) int32 {
	max := desired
	cutoff := now - c.opt.DownscaleStabilization
	old := -1
	for i, r := range c.recommendations {
		if r.at < cutoff {
			old = i
		} else if r.replicas > max {
			max = r.replicas
		}
	}
	c.record(old, desired, now)
	return max
}

func (c *Controller) record(old int, desired int32, now time.Duration) {
	if old >= 0 {
		c.recommendations[old] = recommendation{desired, now}
	} else {
		c.recommendations = append(c.recommendations, recommendation{desired, now})
	}
}

// normalizeDesiredReplicasWithBehaviors stabilizes (lowest recommendation of
// the scale-up window, highest of the scale-down window), then applies the
// scaling policies' rate limits and min/max.
func (c *Controller) normalizeDesiredReplicasWithBehaviors(now time.Duration, current, desired, minReplicas int32) int32 {
	up := c.spec.Behavior.ScaleUp
	down := c.spec.Behavior.ScaleDown
	downWindow := c.opt.DownscaleStabilization
	if down.StabilizationWindowSeconds != nil {
		downWindow = time.Duration(*down.StabilizationWindowSeconds) * time.Second
	}
	upWindow := time.Duration(*up.StabilizationWindowSeconds) * time.Second

	// stabilizeRecommendationWithBehaviors
	upRec, downRec := desired, desired
	upCutoff, downCutoff := now-upWindow, now-downWindow
	old := -1
	for i, r := range c.recommendations {
		if r.at > upCutoff {
			upRec = min(r.replicas, upRec)
		}
		if r.at > downCutoff {
			downRec = max(r.replicas, downRec)
		}
		if r.at < upCutoff && r.at < downCutoff {
			old = i
		}
	}
	stabilized := current
	if stabilized < upRec {
		stabilized = upRec
	}
	if stabilized > downRec {
		stabilized = downRec
	}
	c.record(old, desired, now)

	// convertDesiredReplicasWithBehaviorRate
	switch {
	case stabilized > current:
		limit := scaleUpLimit(now, current, c.scaleUpEvents, c.scaleDownEvents, up)
		if limit < current {
			limit = current
		}
		maxAllowed := c.spec.MaxReplicas
		if maxAllowed > limit {
			maxAllowed = limit
		}
		if stabilized > maxAllowed {
			return maxAllowed
		}
	case stabilized < current:
		limit := scaleDownLimit(now, current, c.scaleUpEvents, c.scaleDownEvents, down)
		if limit > current {
			limit = current
		}
		minAllowed := minReplicas
		if minAllowed < limit {
			minAllowed = limit
		}
		if stabilized < minAllowed {
			return minAllowed
		}
	}
	return stabilized
}

// changeInPeriod sums the replica changes of events newer than period.
func changeInPeriod(now time.Duration, periodSeconds int32, events []scaleEvent) int32 {
	cutoff := now - time.Duration(periodSeconds)*time.Second
	var n int32
	for _, e := range events {
		if e.at > cutoff {
			n += e.change
		}
	}
	return n
}

func selectPolicy(r *autoscalingv2.HPAScalingRules) autoscalingv2.ScalingPolicySelect {
	if r.SelectPolicy == nil {
		return autoscalingv2.MaxChangePolicySelect
	}
	return *r.SelectPolicy
}

func scaleUpLimit(now time.Duration, current int32, ups, downs []scaleEvent, r *autoscalingv2.HPAScalingRules) int32 {
	var result int32
	pick := func(a, b int32) int32 { return max(a, b) }
	switch selectPolicy(r) {
	case autoscalingv2.DisabledPolicySelect:
		return current
	case autoscalingv2.MinChangePolicySelect:
		result = math.MaxInt32
		pick = func(a, b int32) int32 { return min(a, b) }
	default:
		result = math.MinInt32
	}
	for _, p := range r.Policies {
		start := current - changeInPeriod(now, p.PeriodSeconds, ups) + changeInPeriod(now, p.PeriodSeconds, downs)
		var proposed int32
		switch p.Type {
		case autoscalingv2.PodsScalingPolicy:
			proposed = start + p.Value
		case autoscalingv2.PercentScalingPolicy:
			// Rounded up, or a small target could never grow.
			proposed = int32(math.Ceil(float64(start) * (1 + float64(p.Value)/100)))
		}
		result = pick(result, proposed)
	}
	return result
}

func scaleDownLimit(now time.Duration, current int32, ups, downs []scaleEvent, r *autoscalingv2.HPAScalingRules) int32 {
	var result int32
	pick := func(a, b int32) int32 { return min(a, b) }
	switch selectPolicy(r) {
	case autoscalingv2.DisabledPolicySelect:
		return current
	case autoscalingv2.MinChangePolicySelect:
		result = math.MinInt32
		pick = func(a, b int32) int32 { return max(a, b) }
	default:
		result = math.MaxInt32
	}
	for _, p := range r.Policies {
		start := current - changeInPeriod(now, p.PeriodSeconds, ups) + changeInPeriod(now, p.PeriodSeconds, downs)
		var proposed int32
		switch p.Type {
		case autoscalingv2.PodsScalingPolicy:
			proposed = start - p.Value
		case autoscalingv2.PercentScalingPolicy:
			proposed = int32(float64(start) * (1 - float64(p.Value)/100))
		}
		result = pick(result, proposed)
	}
	return result
}

// storeScaleEvent remembers a rescale for the policies' periods, reusing a
// slot that has aged past the longest period, as upstream does.
func (c *Controller) storeScaleEvent(now time.Duration, prev, next int32) {
	b := c.spec.Behavior
	if b == nil {
		return
	}
	if next > prev {
		c.scaleUpEvents = storeEvent(c.scaleUpEvents, now, next-prev, longestPeriod(b.ScaleUp))
	} else {
		c.scaleDownEvents = storeEvent(c.scaleDownEvents, now, prev-next, longestPeriod(b.ScaleDown))
	}
}

func storeEvent(events []scaleEvent, now time.Duration, change, longest int32) []scaleEvent {
	cutoff := now - time.Duration(longest)*time.Second
	old := -1
	for i := range events {
		if events[i].at < cutoff {
			events[i].outdated = true
		}
		if events[i].outdated {
			old = i
		}
	}
	e := scaleEvent{change: change, at: now}
	if old >= 0 {
		events[old] = e
		return events
	}
	return append(events, e)
}

func longestPeriod(r *autoscalingv2.HPAScalingRules) int32 {
	var longest int32
	for _, p := range r.Policies {
		longest = max(longest, p.PeriodSeconds)
	}
	return longest
}
