package whatif

import (
	"fmt"
	"image/color"
	"io"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// palette holds one colour per compared configuration (Okabe-Ito, readable
// by most colour-blind readers).
var palette = []color.RGBA{
	{0, 114, 178, 255}, {213, 94, 0, 255}, {0, 158, 115, 255}, {204, 121, 167, 255},
	{230, 159, 0, 255}, {86, 180, 233, 255}, {0, 0, 0, 255},
}

// WritePlot draws the timeline of each result as a PNG: the offered load, the
// metric the HPA read against its target, desired and ready replicas, and the
// p90 TTFT of each minute against the SLO.
func WritePlot(w io.Writer, results []*Result, slo SLO) error {
	if len(results) == 0 {
		return fmt.Errorf("nothing to plot")
	}
	dur := 0.0
	for _, r := range results {
		if n := len(r.Timeline); n > 0 {
			dur = math.Max(dur, r.Timeline[n-1].T)
		}
	}
	unit, unitName := 60.0, "minutes"
	if dur > 3*3600 {
		unit, unitName = 3600, "hours"
	}

	load := newPanel("offered load (requests/s)", unitName)
	metric := newPanel("the metric as the HPA read it, per pod (target dashed)", unitName)
	reps := newPanel("replicas: ready (solid), desired (dashed)", unitName)
	lat := newPanel("TTFT p90 per minute (seconds, log scale)", unitName)
	lat.Y.Scale = plot.LogScale{}
	lat.Y.Tick.Marker = plot.LogTicks{Prec: -1}

	for i, r := range results {
		c := palette[i%len(palette)]
		var lp, mp, dp, rp plotter.XYs
		for _, p := range r.Timeline {
			x := p.T / unit
			lp = append(lp, plotter.XY{X: x, Y: p.Rate})
			if len(p.Metric) > 0 && !math.IsNaN(p.Metric[0]) {
				mp = append(mp, plotter.XY{X: x, Y: p.Metric[0]})
			}
			dp = append(dp, plotter.XY{X: x, Y: float64(p.Desired)})
			rp = append(rp, plotter.XY{X: x, Y: float64(p.Ready)})
		}
		var tp plotter.XYs
		for _, p := range r.Latency {
			if p.Requests > 0 {
				tp = append(tp, plotter.XY{X: p.T / unit, Y: math.Max(p.TTFTP90, latFloor)})
			}
		}
		if i == 0 {
			addLine(load, lp, color.RGBA{80, 80, 80, 255}, false, "")
		}
		name := r.Label
		addLine(metric, mp, c, false, metricLegend(r))
		if target := r.targetValue(); target > 0 && len(mp) > 0 {
			addLine(metric, plotter.XYs{{X: 0, Y: target}, {X: dur / unit, Y: target}}, c, true, "")
		}
		addLine(reps, rp, c, false, name)
		addLine(reps, dp, c, true, "")
		addLine(lat, tp, c, false, "")
	}
	if slo.TTFT > 0 {
		addLine(lat, plotter.XYs{{X: 0, Y: slo.TTFT}, {X: dur / unit, Y: slo.TTFT}}, color.RGBA{200, 0, 0, 255}, true, "TTFT SLO")
	}
	for _, p := range []*plot.Plot{load, metric, reps, lat} {
		p.X.Min, p.X.Max = 0, dur/unit
		p.Y.Min = 0
		p.Legend.Top, p.Legend.Left = true, true
	}
	lat.Y.Min = latFloor

	const width, height = 10 * vg.Inch, 11 * vg.Inch
	img := vgimg.New(width, height)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 4, Cols: 1, PadY: vg.Points(8), PadTop: vg.Points(8), PadBottom: vg.Points(4), PadLeft: vg.Points(4), PadRight: vg.Points(12)}
	plots := [][]*plot.Plot{{load}, {metric}, {reps}, {lat}}
	canvases := plot.Align(plots, tiles, dc)
	for j := range plots {
		plots[j][0].Draw(canvases[j][0])
	}
	_, err := vgimg.PngCanvas{Canvas: img}.WriteTo(w)
	return err
}

func newPanel(title, unit string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = unit
	p.Add(plotter.NewGrid())
	return p
}

func addLine(p *plot.Plot, xys plotter.XYs, c color.RGBA, dashed bool, legend string) {
	if len(xys) == 0 {
		return
	}
	l, err := plotter.NewLine(xys)
	if err != nil {
		return
	}
	l.Color = c
	l.Width = vg.Points(1.2)
	if dashed {
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	}
	p.Add(l)
	if legend != "" {
		p.Legend.Add(legend, l)
	}
}

// latFloor is the log scale's floor: a minute without queueing sits near it.
const latFloor = 0.01

func metricLegend(r *Result) string {
	if len(r.Assumptions.Metrics) == 0 {
		return r.Label
	}
	return r.Label + ": " + r.Assumptions.Metrics[0] + " / " + r.Assumptions.Targets[0]
}

func (r *Result) targetValue() float64 {
	if len(r.Assumptions.TargetValues) == 0 {
		return 0
	}
	return r.Assumptions.TargetValues[0]
}
