package hpa

import (
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// Each case is computed by hand from the upstream rules the package cites.

func ready(vals ...float64) []Pod {
	var pods []Pod
	for _, v := range vals {
		pods = append(pods, Pod{Metrics: []Sample{{Present: true, Milli: int64(v * 1000)}}})
	}
	return pods
}

func missing(n int) []Pod { return make([]Pod, n) }

func pending(n int) []Pod {
	pods := make([]Pod, n)
	for i := range pods {
		pods[i].Pending = true
	}
	return pods
}

func cat(groups ...[]Pod) []Pod {
	var all []Pod
	for _, g := range groups {
		all = append(all, g...)
	}
	return all
}

// hpaWith builds an autoscaling/v2 HPA on one Pods metric and defaults it as
// the API server would.
func hpaWith(t *testing.T, minR, maxR int32, target string, b *autoscalingv2.HorizontalPodAutoscalerBehavior) Spec {
	t.Helper()
	q := resource.MustParse(target)
	h := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "h"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			MinReplicas: &minR, MaxReplicas: maxR, Behavior: b,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
				Metric: autoscalingv2.MetricIdentifier{Name: "m"},
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: &q},
			}}},
		},
	}
	s, err := Defaulted(h)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// noWindows is a behavior with no stabilization either way, so a case sees
// the replica calculator alone.
func noWindows() *autoscalingv2.HorizontalPodAutoscalerBehavior {
	return &autoscalingv2.HorizontalPodAutoscalerBehavior{
		ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptr.To(int32(0))},
	}
}

func sec(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

func TestReplicaCalculator(t *testing.T) {
	cases := []struct {
		name    string
		current int32
		target  string
		pods    []Pod
		want    int32
		wantErr bool
	}{
		// avg(20,10,30) = 20 against 15: ratio 1.333, ceil(1.333 x 3) = 4.
		{"scale up on the average", 3, "15", ready(20, 10, 30), 4, false},
		// avg 16.5 against 15 is a ratio of exactly 1.1: within the tolerance.
		{"ratio at 1+tolerance holds", 3, "15", ready(16.5, 16.5, 16.5), 3, false},
		// avg 16.6: ratio 1.1067 > 1.1, ceil(3.32) = 4.
		{"ratio just past the tolerance scales", 3, "15", ready(16.6, 16.6, 16.6), 4, false},
		// avg 13.5: ratio 0.9 is within (1 - 0.1).
		{"ratio at 1-tolerance holds", 3, "15", ready(13.5, 13.5, 13.5), 3, false},
		// avg 6 against 10 over 5 pods: ceil(0.6 x 5) = 3.
		{"scale down on the average", 5, "10", ready(6, 6, 6, 6, 6), 3, false},
		// Usage is an integer average of milli-values: (1+1+2)/3 = 1.333 -> 1333m.
		// Against 1: ratio 1.333, ceil(4.0) = 4.
		{"milli-unit integer average", 3, "1", ready(1, 1, 2), 4, false},
		// Scale-up with a pod that has no value yet: it counts as 0.
		// ratio 2 > 1; new usage (20+20+0)/3 = 13.333 -> ratio 1.333; ceil(4.0) = 4.
		{"missing pod counts 0 on a scale-up", 3, "10", cat(ready(20, 20), missing(1)), 4, false},
		// Scale-down with a missing pod: it counts as the target.
		// ratio 0.5; new usage (5+5+10)/3 = 6.666 -> 6666m; ceil(0.6666 x 3) = 2.
		{"missing pod counts the target on a scale-down", 3, "10", cat(ready(5, 5), missing(1)), 2, false},
		// Missing pod that would turn the direction: ratio 1.2 > 1, but
		// (12+12+0)/3 = 8 -> ratio 0.8 < 1: no change.
		{"missing pod that reverses the direction holds", 3, "10", cat(ready(12, 12), missing(1)), 3, false},
		// Pending pods on a scale-up count as 0: (20+20+0+0)/4 = 10, ratio 1: hold.
		// This is why pods still starting damp further scale-ups.
		{"pending pods damp a scale-up", 4, "10", cat(ready(20, 20), pending(2)), 4, false},
		// With 3 pending: (30+30)/5 = 12 -> ratio 1.2, ceil(6.0) = 6.
		{"pending pods count 0 on a scale-up", 5, "10", cat(ready(30, 30), pending(3)), 6, false},
		// Pending pods on a scale-down are left out: ceil(0.5 x 2) = 1.
		{"pending pods are ignored on a scale-down", 4, "10", cat(ready(5, 5), pending(2)), 1, false},
		// A pod being deleted is ignored altogether.
		{"deleting pods are ignored", 3, "10", cat(ready(20, 20), []Pod{{Deleting: true, Metrics: []Sample{{true, 100000}}}}), 4, false},
		{"no pod reports: error, no change", 3, "10", missing(3), 3, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := New(hpaWith(t, 1, 100, tc.target, noWindows()), DefaultOptions())
			d := c.Sync(0, tc.current, tc.pods)
			if (d.Err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", d.Err, tc.wantErr)
			}
			if d.Desired != tc.want {
				t.Errorf("desired = %d, want %d", d.Desired, tc.want)
			}
		})
	}
}

type step struct {
	at      float64 // seconds
	current int32
	pods    []Pod
	want    int32
}

func runSteps(t *testing.T, c *Controller, steps []step) {
	t.Helper()
	for i, s := range steps {
		d := c.Sync(sec(s.at), s.current, s.pods)
		if d.Desired != s.want {
			t.Fatalf("sync %d at %gs: desired = %d, want %d (err %v)", i, s.at, d.Desired, s.want, d.Err)
		}
	}
}

func TestScaleDownStabilization(t *testing.T) {
	// The function's default: a 300 s scale-down window. The first sync
	// records the current 5 as a recommendation; a low metric recommends 3,
	// but the highest recommendation of the last 300 s wins until it ages out.
	b := &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptr.To(int32(300))}}
	c := New(hpaWith(t, 1, 10, "10", b), DefaultOptions())
	low := ready(6, 6, 6, 6, 6)
	runSteps(t, c, []step{
		{0, 5, low, 5},
		{150, 5, low, 5},
		{299, 5, low, 5},
		// A recommendation counts while it is after now - 300 s: the 5 of 0 s
		// no longer does at 300 s.
		{300, 5, low, 3},
		// ceil(0.6 x 3) = 2, but the 3s recommended at 150 s and 300 s hold it.
		{316, 3, ready(6, 6, 6), 3},
		{599, 3, ready(6, 6, 6), 3},
		{600, 3, ready(6, 6, 6), 2},
	})
}

func TestScaleDownWindowKeepsHighestRecommendation(t *testing.T) {
	b := &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptr.To(int32(60))}}
	c := New(hpaWith(t, 1, 10, "10", b), DefaultOptions())
	runSteps(t, c, []step{
		{0, 4, ready(10, 10, 10, 10), 4},  // records 4 (initial) and 4
		{15, 4, ready(20, 20, 20, 20), 8}, // scale up: ceil(2 x 4) = 8, within 4 pods / 100% per 15 s
		{30, 8, ready(5, 5, 5, 5, 5, 5, 5, 5), 8},
		{74, 8, ready(5, 5, 5, 5, 5, 5, 5, 5), 8},
		{75, 8, ready(5, 5, 5, 5, 5, 5, 5, 5), 4}, // the 8 of 15 s is no longer after now - 60 s
	})
}

func TestScaleUpStabilization(t *testing.T) {
	// A scale-up window takes the lowest recommendation of its window.
	b := &autoscalingv2.HorizontalPodAutoscalerBehavior{
		ScaleUp:   &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptr.To(int32(30))},
		ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptr.To(int32(0))},
	}
	c := New(hpaWith(t, 1, 10, "10", b), DefaultOptions())
	runSteps(t, c, []step{
		{0, 2, ready(10, 10), 2},
		{15, 2, ready(20, 20), 2}, // recommends 4; the 2s of 0 s are in the window
		{29, 2, ready(20, 20), 2},
		{30, 2, ready(20, 20), 4}, // the 2s of 0 s are no longer after now - 30 s
	})
}

func TestScaleUpPolicies(t *testing.T) {
	opt := DefaultOptions()
	hot := func(n int) []Pod {
		v := make([]float64, n)
		for i := range v {
			v[i] = 100
		}
		return ready(v...)
	}
	t.Run("default: the larger of 4 pods and 100% per 15 s", func(t *testing.T) {
		c := New(hpaWith(t, 1, 100, "10", noWindows()), opt)
		runSteps(t, c, []step{
			{0, 2, hot(2), 6},   // max(2+4, 2x2) = 6
			{15, 6, hot(6), 12}, // the event at 0 s is not after the cutoff 0: max(6+4, 12) = 12
			{30, 12, hot(12), 24},
		})
	})
	t.Run("Pods 1 per 60 s", func(t *testing.T) {
		b := noWindows()
		b.ScaleUp = &autoscalingv2.HPAScalingRules{Policies: []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PodsScalingPolicy, Value: 1, PeriodSeconds: 60}}}
		c := New(hpaWith(t, 1, 100, "10", b), opt)
		runSteps(t, c, []step{
			{0, 2, hot(2), 3},
			{15, 3, hot(3), 3}, // 1 pod added in the last 60 s: the period started at 2, 2+1 = 3
			{45, 3, hot(3), 3},
			{60, 3, hot(3), 4}, // the event at 0 s left the period
		})
	})
	t.Run("selectPolicy Min", func(t *testing.T) {
		b := noWindows()
		b.ScaleUp = &autoscalingv2.HPAScalingRules{SelectPolicy: ptr.To(autoscalingv2.MinChangePolicySelect)}
		c := New(hpaWith(t, 1, 100, "10", b), opt)
		runSteps(t, c, []step{{0, 2, hot(2), 4}}) // min(2+4, 2x2) = 4
	})
	t.Run("selectPolicy Disabled", func(t *testing.T) {
		b := noWindows()
		b.ScaleUp = &autoscalingv2.HPAScalingRules{SelectPolicy: ptr.To(autoscalingv2.DisabledPolicySelect)}
		c := New(hpaWith(t, 1, 100, "10", b), opt)
		runSteps(t, c, []step{{0, 2, hot(2), 2}})
	})
	t.Run("no behavior: max(2x, 4) per sync", func(t *testing.T) {
		c := New(hpaWith(t, 1, 100, "10", nil), opt)
		runSteps(t, c, []step{{0, 1, hot(1), 4}, {15, 4, hot(4), 8}})
	})
	t.Run("maxReplicas caps", func(t *testing.T) {
		c := New(hpaWith(t, 1, 5, "10", noWindows()), opt)
		runSteps(t, c, []step{{0, 2, hot(2), 5}})
	})
}

func TestScaleDownPolicies(t *testing.T) {
	cold := func(n int) []Pod {
		v := make([]float64, n)
		for i := range v {
			v[i] = 1
		}
		return ready(v...)
	}
	t.Run("Percent 50 per 60 s", func(t *testing.T) {
		b := noWindows()
		b.ScaleDown.Policies = []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PercentScalingPolicy, Value: 50, PeriodSeconds: 60}}
		c := New(hpaWith(t, 1, 100, "10", b), DefaultOptions())
		runSteps(t, c, []step{
			{0, 10, cold(10), 5}, // int(10 x 0.5) = 5
			{15, 5, cold(5), 5},  // the period started at 10: 10 x 0.5 = 5, no lower
			{60, 5, cold(5), 2},  // int(5 x 0.5) = 2
			{75, 2, cold(2), 2},  // period started at 5: int(2.5) = 2
			{120, 2, cold(2), 1}, // int(1) = 1, the minimum
		})
	})
	t.Run("minReplicas floors", func(t *testing.T) {
		c := New(hpaWith(t, 3, 100, "10", noWindows()), DefaultOptions())
		runSteps(t, c, []step{{0, 10, cold(10), 3}})
	})
	t.Run("below minReplicas: raised without metrics", func(t *testing.T) {
		c := New(hpaWith(t, 3, 100, "10", noWindows()), DefaultOptions())
		runSteps(t, c, []step{{0, 1, missing(1), 3}})
	})
	t.Run("above maxReplicas: lowered without metrics", func(t *testing.T) {
		c := New(hpaWith(t, 1, 4, "10", noWindows()), DefaultOptions())
		runSteps(t, c, []step{{0, 9, missing(9), 4}})
	})
	t.Run("selectPolicy Disabled", func(t *testing.T) {
		b := noWindows()
		b.ScaleDown.SelectPolicy = ptr.To(autoscalingv2.DisabledPolicySelect)
		c := New(hpaWith(t, 1, 100, "10", b), DefaultOptions())
		runSteps(t, c, []step{{0, 10, cold(10), 10}})
	})
}

func TestTolerance(t *testing.T) {
	// ratio 1.06: inside the default 10%, outside a behavior's 5%.
	pods := ready(10.6, 10.6, 10.6, 10.6)
	c := New(hpaWith(t, 1, 100, "10", noWindows()), DefaultOptions())
	runSteps(t, c, []step{{0, 4, pods, 4}})

	b := noWindows()
	b.ScaleUp = &autoscalingv2.HPAScalingRules{Tolerance: ptr.To(resource.MustParse("0.05"))}
	c = New(hpaWith(t, 1, 100, "10", b), DefaultOptions())
	runSteps(t, c, []step{{0, 4, pods, 5}}) // ceil(1.06 x 4) = 5

	// Without the HPAConfigurableTolerance gate the field is ignored.
	opt := DefaultOptions()
	opt.ConfigurableTolerance = false
	c = New(hpaWith(t, 1, 100, "10", b), opt)
	runSteps(t, c, []step{{0, 4, pods, 4}})

	// The controller flag applies to both directions.
	opt = DefaultOptions()
	opt.Tolerance = 0.01
	c = New(hpaWith(t, 1, 100, "10", noWindows()), opt)
	runSteps(t, c, []step{{0, 4, pods, 5}})
}

func TestSeveralMetrics(t *testing.T) {
	two := func(a, b float64) Pod {
		return Pod{Metrics: []Sample{{true, int64(a * 1000)}, {true, int64(b * 1000)}}}
	}
	q := resource.MustParse("10")
	h := &autoscalingv2.HorizontalPodAutoscaler{Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
		MaxReplicas: 100, Behavior: noWindows(),
		Metrics: []autoscalingv2.MetricSpec{
			{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{Metric: autoscalingv2.MetricIdentifier{Name: "a"}, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: &q}}},
			{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{Metric: autoscalingv2.MetricIdentifier{Name: "b"}, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: &q}}},
		},
	}}
	s, err := Defaulted(h)
	if err != nil {
		t.Fatal(err)
	}
	// a proposes ceil(0.5 x 2) = 1, b proposes ceil(2 x 2) = 4: the largest wins.
	c := New(s, DefaultOptions())
	runSteps(t, c, []step{{0, 2, []Pod{two(5, 20), two(5, 20)}, 4}})

	// b fails on every pod, a would scale down: the HPA holds.
	c = New(s, DefaultOptions())
	failB := Pod{Metrics: []Sample{{true, 5000}, {}}}
	d := c.Sync(0, 2, []Pod{failB, failB})
	if d.Desired != 2 || d.Err == nil {
		t.Fatalf("desired %d err %v; want a hold at 2 with an error", d.Desired, d.Err)
	}
	// b fails, a would scale up: it scales.
	c = New(s, DefaultOptions())
	hotA := Pod{Metrics: []Sample{{true, 20000}, {}}}
	runSteps(t, c, []step{{0, 2, []Pod{hotA, hotA}, 4}})
}

func TestDefaultedBehavior(t *testing.T) {
	s := hpaWith(t, 1, 10, "4", &autoscalingv2.HorizontalPodAutoscalerBehavior{
		ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptr.To(int32(300))},
	})
	up := s.Behavior.ScaleUp
	if *up.StabilizationWindowSeconds != 0 || *up.SelectPolicy != autoscalingv2.MaxChangePolicySelect || len(up.Policies) != 2 {
		t.Errorf("scaleUp defaults = %+v", up)
	}
	down := s.Behavior.ScaleDown
	if *down.StabilizationWindowSeconds != 300 || len(down.Policies) != 1 || down.Policies[0].Value != 100 {
		t.Errorf("scaleDown defaults = %+v", down)
	}
}
