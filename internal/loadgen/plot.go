package loadgen

import (
	"bytes"
	"fmt"
	"image/color"
	"maps"
	"math"
	"slices"
	"strconv"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/vllm-hpa/vllm-hpa/fn/api/v1alpha1"
)

// PlotProfile draws the profile as a PNG: six panels against concurrency (on
// a log scale, one tick per level): TTFT and TPOT percentiles, output tokens/s,
// requests/s, the running and waiting gauges, and KV-cache usage.
func PlotProfile(prof *v1alpha1.VLLMServerProfile) ([]byte, error) {
	points := prof.Spec.Points
	if len(points) == 0 {
		return nil, fmt.Errorf("the profile has no points to draw")
	}
	levels := make([]float64, len(points))
	for i, p := range points {
		levels[i] = float64(p.Concurrency)
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	latency := func(get func(v1alpha1.ProfilePoint) *v1alpha1.LatencyPercentiles) []series {
		var out []series
		for _, q := range []struct {
			name string
			pick func(*v1alpha1.LatencyPercentiles) float64
		}{
			{"p50", func(l *v1alpha1.LatencyPercentiles) float64 { return ms(l.P50.Duration) }},
			{"p90", func(l *v1alpha1.LatencyPercentiles) float64 { return ms(l.P90.Duration) }},
			{"p99", func(l *v1alpha1.LatencyPercentiles) float64 { return ms(l.P99.Duration) }},
		} {
			out = append(out, collect(q.name, points, func(p v1alpha1.ProfilePoint) (float64, bool) {
				l := get(p)
				if l == nil {
					return 0, false
				}
				return q.pick(l), true
			}))
		}
		return out
	}
	decimal := func(name string, get func(v1alpha1.ProfilePoint) (v1alpha1.Decimal, bool)) series {
		return collect(name, points, func(p v1alpha1.ProfilePoint) (float64, bool) {
			d, ok := get(p)
			if !ok {
				return 0, false
			}
			f, err := d.Float64()
			return f, err == nil
		})
	}
	gauge := func(name string) series {
		return decimal(name, func(p v1alpha1.ProfilePoint) (v1alpha1.Decimal, bool) {
			d, ok := p.Gauges[name]
			return d, ok
		})
	}
	var gaugeNames []string
	for _, p := range points {
		gaugeNames = append(gaugeNames, slices.Collect(maps.Keys(p.Gauges))...)
	}
	slices.Sort(gaugeNames)
	gaugeNames = slices.Compact(gaugeNames)
	var counts, fractions []series
	for _, name := range gaugeNames {
		if name == metricKVCache || name == metricGPUCache {
			fractions = append(fractions, gauge(name))
		} else {
			counts = append(counts, gauge(name))
		}
	}

	panels := [][]panel{
		{
			{title: "Time to first token", unit: "ms", series: latency(func(p v1alpha1.ProfilePoint) *v1alpha1.LatencyPercentiles { return p.TTFT })},
			{title: "Time per output token", unit: "ms", series: latency(func(p v1alpha1.ProfilePoint) *v1alpha1.LatencyPercentiles { return p.TPOT })},
			{title: "Output tokens per second", unit: "tokens/s", series: []series{decimal("output tokens/s",
				func(p v1alpha1.ProfilePoint) (v1alpha1.Decimal, bool) { return p.OutputTokensPerSecond, true })}},
		},
		{
			{title: "Requests per second", unit: "requests/s", series: []series{decimal("requests/s",
				func(p v1alpha1.ProfilePoint) (v1alpha1.Decimal, bool) { return p.RequestsPerSecond, true })}},
			{title: "Gauges, mean over each step", unit: "requests", series: counts},
			{title: "KV-cache usage, mean over each step", unit: "fraction", series: fractions},
		},
	}

	const rows, cols = 2, 3
	width, height := 15*vg.Inch, 8.5*vg.Inch
	canvas := vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(96))
	dc := draw.New(canvas)
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())

	title := fmt.Sprintf("%s  %s   prompts %d tokens, answers %d tokens",
		prof.Spec.Model, prof.Spec.Accelerator, prof.Spec.Workload.PromptTokens, prof.Spec.Workload.MaxTokens)
	header := 0.45 * vg.Inch
	font := plot.DefaultFont
	font.Size = 16
	face := plot.DefaultTextHandler
	sty := draw.TextStyle{Color: color.Black, Font: font, XAlign: draw.XCenter, YAlign: draw.YTop, Handler: face}
	dc.FillText(sty, vg.Point{X: width / 2, Y: height - 0.12*vg.Inch}, title)

	body := draw.Canvas{Canvas: dc.Canvas, Rectangle: vg.Rectangle{Min: dc.Min, Max: vg.Point{X: dc.Max.X, Y: dc.Max.Y - header}}}
	tiles := draw.Tiles{Rows: rows, Cols: cols, PadX: 0.3 * vg.Inch, PadY: 0.3 * vg.Inch,
		PadTop: 0.1 * vg.Inch, PadBottom: 0.1 * vg.Inch, PadLeft: 0.1 * vg.Inch, PadRight: 0.2 * vg.Inch}
	for r := range rows {
		for c := range cols {
			p, err := panels[r][c].plot(levels)
			if err != nil {
				return nil, err
			}
			p.Draw(tiles.At(body, c, r))
		}
	}
	var out bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: canvas}).WriteTo(&out); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// series is one line of a panel: a value per concurrency level that has one.
type series struct {
	name string
	xys  plotter.XYs
}

func collect(name string, points []v1alpha1.ProfilePoint, value func(v1alpha1.ProfilePoint) (float64, bool)) series {
	s := series{name: name}
	for _, p := range points {
		if v, ok := value(p); ok {
			s.xys = append(s.xys, plotter.XY{X: float64(p.Concurrency), Y: v})
		}
	}
	// Draw left to right whatever order the levels were measured in.
	slices.SortFunc(s.xys, func(a, b plotter.XY) int { return int(a.X - b.X) })
	return s
}

type panel struct {
	title, unit string
	series      []series
}

func (pn panel) plot(levels []float64) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = pn.title
	p.Title.TextStyle.Font.Size = 13
	p.X.Label.Text = "concurrency (requests in flight)"
	p.Y.Label.Text = pn.unit
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = levelTicks(levels)
	p.Y.Min = 0
	p.Y.Tick.Marker = plot.TickerFunc(niceTicks)
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	p.Legend.Left = true
	top := 0.0
	for i, s := range pn.series {
		if len(s.xys) == 0 {
			continue
		}
		line, pts, err := plotter.NewLinePoints(s.xys)
		if err != nil {
			return nil, fmt.Errorf("%s, %s: %w", pn.title, s.name, err)
		}
		line.Color = plotutil.Color(i)
		line.Width = vg.Points(2)
		pts.Color = plotutil.Color(i)
		pts.Shape = draw.CircleGlyph{}
		p.Add(line, pts)
		p.Legend.Add(s.name, line, pts)
		for _, xy := range s.xys {
			top = max(top, xy.Y)
		}
	}
	// Room above the highest point for the legend; an empty panel still gets an axis.
	p.Y.Max = max(top*1.25, 1e-9)
	if top == 0 {
		p.Y.Max = 1
	}
	p.X.Min, p.X.Max = slices.Min(levels)/1.3, slices.Max(levels)*1.3
	return p, nil
}

// levelTicks puts one labelled tick at each measured level.
func levelTicks(levels []float64) plot.Ticker {
	return plot.TickerFunc(func(_, _ float64) []plot.Tick {
		ticks := make([]plot.Tick, len(levels))
		for i, l := range levels {
			ticks[i] = plot.Tick{Value: l, Label: strconv.FormatFloat(l, 'f', -1, 64)}
		}
		return ticks
	})
}

// niceTicks labels about five round values (1, 2, 2.5 or 5 times a power of
// ten) between lo and hi: gonum's default labels only two or three.
func niceTicks(lo, hi float64) []plot.Tick {
	if !(hi > lo) {
		return nil
	}
	raw := (hi - lo) / 5
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := 10 * mag
	for _, m := range []float64{1, 2, 2.5, 5} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	var ticks []plot.Tick
	for v := math.Ceil(lo/step) * step; v <= hi+step*1e-9; v += step {
		v = math.Round(v/step) * step // no 0.30000000000000004
		ticks = append(ticks, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', -1, 64)})
	}
	return ticks
}
