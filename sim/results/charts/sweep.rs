//! A sweep's charts: each headline metric against each swept key with
//! 95% CI bands, the CDF of time to containment per point, and blast
//! radius against the cost in clean traffic with the Pareto-optimal
//! points marked.

use super::{
    bounded, canvas, frame, key_name, legend_width, mesh, palette, panels_size, range, render, split_panels, text_size,
    tick, width_with_legend, Chart, Drawn, Figure, Key, MAX_PANELS, MAX_SERIES,
};
use crate::metrics::{self, Metric, Unit};
use crate::results::SweepInfo;
use crate::summary::{Contained, PrevalenceSample, Summary};
use plotters::coord::Shift;
use plotters::prelude::*;

/// Whether some point has a non-zero mean of `metric`.
pub fn varies(summaries: &[Summary], metric: &str) -> bool {
    summaries.iter().any(|s| estimate(s, metric).is_some_and(|(mean, _, _)| mean != 0.0))
}

/// The cost metric the Pareto chart and `tune` use: the first of the
/// catalogue's costs that is non-zero somewhere (the first when none is).
pub fn cost_metric(summaries: &[Summary]) -> &'static Metric {
    let costs = metrics::costs();
    costs.iter().copied().find(|m| varies(summaries, m.name)).unwrap_or(costs[0])
}

/// One line with its CI band: (x, mean, low, high) per point.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64, f64, f64)>,
}

/// A metric against one swept key.
pub struct MetricChart {
    pub title: String,
    /// What the metric's values can be (the y axis stays inside).
    pub unit: Unit,
    pub x_label: String,
    pub y_label: String,
    /// Tick labels when the key's values are not numbers (x = 0, 1, ...).
    pub categories: Option<Vec<String>>,
    pub series: Vec<Series>,
}

impl MetricChart {
    fn entries(&self) -> Vec<(String, Key)> {
        if self.series.len() == 1 && self.series[0].name.is_empty() {
            return Vec::new();
        }
        self.series.iter().enumerate().map(|(i, s)| (s.name.clone(), Key::Line(palette(i)))).collect()
    }
}

impl Chart for MetricChart {
    fn size(&self) -> (u32, u32) {
        width_with_legend(None, &self.entries())
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Drawn<DB> {
        let plot = canvas(area, &self.title, None, &self.entries())?;
        let all = || self.series.iter().flat_map(|s| s.points.iter());
        let (x0, x1) = range(all().map(|p| p.0));
        let (y0, y1) = bounded(range(all().flat_map(|p| [p.2, p.3, p.1])), self.unit);
        let mut chart = frame(&plot, x0..x1, y0..y1, 72)?;
        let categories = self.categories.clone();
        let x_format = move |x: &f64| match &categories {
            Some(names) if (x - x.round()).abs() < 1e-9 && *x >= 0.0 => {
                names.get(x.round() as usize).cloned().unwrap_or_default()
            }
            Some(_) => String::new(),
            None => tick(*x),
        };
        mesh(&mut chart, (&self.x_label, &self.y_label), Some(&x_format), false)?;
        for (i, series) in self.series.iter().enumerate() {
            let colour = palette(i);
            let band: Vec<(f64, f64)> = series
                .points
                .iter()
                .map(|p| (p.0, p.3))
                .chain(series.points.iter().rev().map(|p| (p.0, p.2)))
                .collect();
            chart.draw_series(std::iter::once(Polygon::new(band, colour.mix(0.15))))?;
            chart.draw_series(LineSeries::new(series.points.iter().map(|p| (p.0, p.1)), colour.stroke_width(2)))?;
            chart.draw_series(series.points.iter().map(|p| Circle::new((p.0, p.1), 3, colour.filled())))?;
        }
        Ok(())
    }
}

/// One curve of a [`ContainmentCdf`]: its legend name and the sorted
/// times to containment (s) of its contained runs (`of` of them; fewer
/// times than that are quantiles, [`crate::summary::Contained`]), out of
/// `runs`.
#[derive(Clone, Debug, PartialEq)]
pub struct CdfCurve {
    pub name: String,
    pub times: Vec<f64>,
    pub of: u64,
    pub runs: u64,
}

impl CdfCurve {
    /// The share of runs contained by the `k`-th time.
    fn share(&self, k: usize) -> f64 {
        let runs = self.runs.max(1) as f64;
        if self.of == self.times.len() as u64 {
            k as f64 / runs
        } else {
            k as f64 * self.of as f64 / self.times.len() as f64 / runs
        }
    }
}

/// The empirical CDF of time to containment per point: the share of all
/// runs contained by time t (so each curve ends at its containment rate),
/// in small multiples: a panel per combination of all keys but the last,
/// a curve per value of the last (its colour the same in every panel).
pub struct ContainmentCdf {
    pub title: String,
    /// The legend's heading: the key the curves stand for.
    pub heading: String,
    /// Legend entries, one per colour.
    pub legend: Vec<String>,
    /// (panel caption, curves).
    pub panels: Vec<(String, Vec<CdfCurve>)>,
}

impl ContainmentCdf {
    fn entries(&self) -> Vec<(String, Key)> {
        self.legend.iter().enumerate().map(|(i, name)| (name.clone(), Key::Line(palette(i)))).collect()
    }
}

impl Chart for ContainmentCdf {
    fn size(&self) -> (u32, u32) {
        panels_size(self.panels.len(), legend_width(Some(&self.heading), &self.entries()))
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Drawn<DB> {
        let plot = canvas(area, &self.title, Some(&self.heading), &self.entries())?;
        let times = || self.panels.iter().flat_map(|(_, curves)| curves.iter().flat_map(|c| c.times.iter().copied()));
        let (lo, hi) = range(times());
        let (t0, t1) = (lo.max(0.0), hi);
        let single = self.panels.len() == 1;
        for ((caption, curves), panel) in self.panels.iter().zip(split_panels(&plot, self.panels.len())) {
            let panel = if single { panel } else { panel.titled(caption, ("sans-serif", 15))? };
            let mut chart = frame(&panel, t0..t1, 0.0..1.05, if single { 72 } else { 52 })?;
            let x_desc = if single { "time to containment (s), contained runs" } else { "time to containment (s)" };
            mesh(&mut chart, (x_desc, "share of runs contained"), None, !single)?;
            for (i, curve) in curves.iter().enumerate() {
                let share = |k: usize| curve.share(k);
                let mut steps = vec![(t0, 0.0)];
                for (k, &t) in curve.times.iter().enumerate() {
                    steps.push((t, share(k)));
                    steps.push((t, share(k + 1)));
                }
                steps.push((t1, share(curve.times.len())));
                chart.draw_series(LineSeries::new(steps, palette(i).stroke_width(2)))?;
            }
        }
        Ok(())
    }
}

/// A point's mean and 95% interval of one metric: (mean, low, high).
pub type Estimate = (f64, f64, f64);

/// Blast radius against cost, one dot per point with its 95% intervals
/// on both, Pareto-optimal ones (no other point is at least as good on
/// both and better on one) ringed and labelled where no label covers
/// another.
pub struct ParetoChart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    /// What a point's label lists.
    pub label_keys: Vec<String>,
    /// The units of cost and harm (each axis stays inside its bounds).
    pub units: (Unit, Unit),
    /// (point label, cost, harm).
    pub points: Vec<(String, Estimate, Estimate)>,
    /// The indices of the Pareto-optimal points.
    pub front: Vec<usize>,
}

/// A sweep's trade-off: each point's mean cost and mean harm (the
/// catalogue's cost that varies, and its blast radius), and the points on
/// the Pareto front. The chart and the report both draw on it.
pub struct Pareto {
    pub cost: &'static Metric,
    pub harm: &'static Metric,
    /// (mean cost, mean harm) per point, 0 where undefined.
    pub means: Vec<(f64, f64)>,
    pub front: Vec<usize>,
}

impl Pareto {
    pub fn of(summaries: &[Summary]) -> Pareto {
        let (cost, harm) = (cost_metric(summaries), metrics::harm());
        let mean = |s: &Summary, m: &Metric| s.estimate(m.name).map_or(0.0, |e| e.0);
        let means: Vec<(f64, f64)> = summaries.iter().map(|s| (mean(s, cost), mean(s, harm))).collect();
        let front = pareto_front(&means);
        Pareto { cost, harm, means, front }
    }
}

/// Indices of the points no other point dominates (lower is better on both).
pub fn pareto_front(points: &[(f64, f64)]) -> Vec<usize> {
    let dominated = |i: usize| {
        points.iter().any(|q| {
            let p = points[i];
            q.0 <= p.0 && q.1 <= p.1 && (q.0 < p.0 || q.1 < p.1)
        })
    };
    (0..points.len()).filter(|&i| !dominated(i)).collect()
}

/// A label's box in pixels: (left, top, right, bottom).
type Box2 = (i32, i32, i32, i32);

fn overlap(a: Box2, b: Box2) -> i64 {
    let w = (a.2.min(b.2) - a.0.max(b.0)).max(0) as i64;
    let h = (a.3.min(b.3) - a.1.max(b.1)).max(0) as i64;
    w * h
}

/// Where to put labels of `size` beside the `anchors` (pixels) so that
/// they cover no other label and no anchor, inside `bounds`: for each
/// anchor in turn, the first of eight places around it that is free, or
/// the least covered one. Returns each label's top-left corner.
pub fn place_labels(anchors: &[(i32, i32)], sizes: &[(u32, u32)], bounds: Box2) -> Vec<(i32, i32)> {
    let mut placed: Vec<Box2> = Vec::new();
    let marks: Vec<Box2> = anchors.iter().map(|&(x, y)| (x - 8, y - 8, x + 8, y + 8)).collect();
    anchors
        .iter()
        .zip(sizes)
        .map(|(&(x, y), &(w, h))| {
            let (w, h) = (w as i32, h as i32);
            let candidates = [
                (x + 10, y - h - 6),
                (x + 10, y + 6),
                (x - w - 10, y - h - 6),
                (x - w - 10, y + 6),
                (x + 12, y - h / 2),
                (x - w - 12, y - h / 2),
                (x - w / 2, y - h - 12),
                (x - w / 2, y + 12),
            ];
            let cost = |&(left, top): &(i32, i32)| {
                let b = (left, top, left + w, top + h);
                let outside = b.0 < bounds.0 || b.1 < bounds.1 || b.2 > bounds.2 || b.3 > bounds.3;
                let covered: i64 = placed.iter().chain(&marks).map(|&o| overlap(b, o)).sum();
                covered + if outside { 1 << 40 } else { 0 }
            };
            let best = candidates.iter().copied().min_by_key(|c| cost(c)).expect("eight candidates");
            placed.push((best.0, best.1, best.0 + w, best.1 + h));
            best
        })
        .collect()
}

impl ParetoChart {
    fn entries(&self) -> Vec<(String, Key)> {
        vec![
            ("sweep point, 95% CIs".to_string(), Key::Dot(palette(0))),
            ("Pareto-optimal".to_string(), Key::Line(palette(1))),
        ]
    }

    fn heading(&self) -> String {
        format!("labels: {}", self.label_keys.join(", "))
    }
}

impl Chart for ParetoChart {
    fn size(&self) -> (u32, u32) {
        width_with_legend(Some(&self.heading()), &self.entries())
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Drawn<DB> {
        let plot = canvas(area, &self.title, Some(&self.heading()), &self.entries())?;
        let values = |pick: fn(&(String, Estimate, Estimate)) -> Estimate, unit: Unit| {
            let all = self.points.iter().map(pick).flat_map(|e| [e.0, e.1, e.2]).filter(|v| v.is_finite());
            bounded(range(all), unit)
        };
        let ((x0, x1), (y0, y1)) = (values(|p| p.1, self.units.0), values(|p| p.2, self.units.1));
        let mut chart = frame(&plot, x0..x1, y0..y1, 72)?;
        mesh(&mut chart, (&self.x_label, &self.y_label), None, false)?;
        let faint = palette(0).mix(0.45);
        for (i, (_, cost, harm)) in self.points.iter().enumerate() {
            let style = if self.front.contains(&i) { palette(1).stroke_width(1) } else { faint.stroke_width(1) };
            if harm.1.is_finite() && harm.2.is_finite() {
                chart.draw_series(std::iter::once(ErrorBar::new_vertical(cost.0, harm.1, harm.0, harm.2, style, 6)))?;
            }
            if cost.1.is_finite() && cost.2.is_finite() {
                chart
                    .draw_series(std::iter::once(ErrorBar::new_horizontal(harm.0, cost.1, cost.0, cost.2, style, 6)))?;
            }
        }
        chart
            .draw_series(self.points.iter().map(|p| Circle::new((p.1 .0, p.2 .0), 4, palette(0).mix(0.6).filled())))?;
        let mut ordered: Vec<(f64, f64)> =
            self.front.iter().map(|&i| (self.points[i].1 .0, self.points[i].2 .0)).collect();
        ordered.sort_by(|a, b| a.0.total_cmp(&b.0));
        chart.draw_series(LineSeries::new(ordered, palette(1).stroke_width(2)))?;
        // Points with the same means share one label.
        let mut labels: Vec<((f64, f64), String)> = Vec::new();
        for &i in &self.front {
            let (name, cost, harm) = &self.points[i];
            chart.draw_series(std::iter::once(Circle::new((cost.0, harm.0), 7, palette(1).stroke_width(2))))?;
            match labels.iter_mut().find(|(at, _)| *at == (cost.0, harm.0)) {
                Some((_, text)) => *text += &format!(" | {name}"),
                None => labels.push(((cost.0, harm.0), name.clone())),
            }
        }
        let anchors: Vec<(i32, i32)> = labels.iter().map(|(at, _)| chart.backend_coord(at)).collect();
        let sizes: Vec<(u32, u32)> = labels.iter().map(|(_, text)| text_size(text, 13)).collect();
        let (xs, ys) = chart.plotting_area().get_pixel_range();
        let places = place_labels(&anchors, &sizes, (xs.start, ys.start, xs.end, ys.end));
        for (k, (_, text)) in labels.iter().enumerate() {
            let ((x, y), (w, h), (ax, ay)) = (places[k], sizes[k], anchors[k]);
            let nearest = (ax.clamp(x, x + w as i32), ay.clamp(y, y + h as i32));
            area.draw(&PathElement::new(vec![(ax, ay), nearest], RGBColor(120, 120, 120).stroke_width(1)))?;
            area.draw(&Text::new(text.clone(), (x, y), ("sans-serif", 13).into_font().color(&BLACK)))?;
        }
        Ok(())
    }
}

fn numeric(values: &[String]) -> Option<Vec<f64>> {
    values.iter().map(|v| v.parse::<f64>().ok()).collect()
}

/// [`Summary::estimate`] with a one-run interval drawn as the mean itself.
fn estimate(summary: &Summary, metric: &str) -> Option<(f64, f64, f64)> {
    let (mean, low, high) = summary.estimate(metric)?;
    Some(if low.is_nan() { (mean, mean, mean) } else { (mean, low, high) })
}

/// `metric` against axis `axis`: one series per combination of the other
/// axes' values (at most [`MAX_SERIES`]; the title says when there are more).
pub fn metric_chart(info: &SweepInfo, summaries: &[Summary], axis: usize, metric: &Metric) -> MetricChart {
    let values = &info.axes[axis].values;
    let xs = numeric(values).unwrap_or_else(|| (0..values.len()).map(|i| i as f64).collect());
    let mut series: Vec<Series> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for point in 0..info.points {
        let labels = info.labels(point);
        let x = xs[values.iter().position(|v| *v == labels[axis]).expect("a point's value is on its axis")];
        let name = pairs(info, (0..info.axes.len()).filter(|&i| i != axis), &labels);
        if !names.contains(&name) {
            names.push(name.clone());
        }
        let Some((mean, low, high)) = estimate(&summaries[point as usize], metric.name) else { continue };
        match series.iter().position(|s| s.name == name) {
            Some(i) => series[i].points.push((x, mean, low, high)),
            None if series.len() < MAX_SERIES => series.push(Series { name, points: vec![(x, mean, low, high)] }),
            None => {}
        }
    }
    series.iter_mut().for_each(|s| s.points.sort_by(|a, b| a.0.total_cmp(&b.0)));
    let mut title = format!("{} vs {}", metric.name, key_name(&info.axes[axis].key));
    if names.len() > MAX_SERIES {
        title += &format!(" (first {MAX_SERIES} of {} series)", names.len());
    }
    MetricChart {
        title,
        unit: metric.unit(),
        x_label: info.axes[axis].key.clone(),
        y_label: metric.label.to_string(),
        categories: numeric(values).is_none().then(|| values.clone()),
        series,
    }
}

/// `key=value` for the `axes` of a point whose values are `labels`,
/// comma-separated (empty for no axes).
fn pairs(info: &SweepInfo, axes: impl Iterator<Item = usize>, labels: &[String]) -> String {
    axes.map(|i| format!("{}={}", key_name(&info.axes[i].key), labels[i])).collect::<Vec<_>>().join(", ")
}

/// A point's values on `axes` as `key=value` pairs, or "as written" for
/// the scenario's own point.
pub(super) fn point_name(info: &SweepInfo, axes: std::ops::Range<usize>, point: u64) -> String {
    let name = pairs(info, axes, &info.labels(point));
    if name.is_empty() {
        "as written".to_string()
    } else {
        name
    }
}

/// Points grouped for small multiples: consecutive points that share the
/// values of every key but the last (the last varies fastest), in chunks
/// of at most [`MAX_SERIES`]. Returns (caption, points) per panel and
/// whether panels were left out (more than [`MAX_PANELS`]).
pub fn point_panels(info: &SweepInfo, per_panel: usize) -> (Vec<(String, Vec<u64>)>, bool) {
    let axes = info.axes.len();
    let mut panels: Vec<(String, Vec<u64>)> = Vec::new();
    for point in 0..info.points {
        let caption = point_name(info, 0..axes.saturating_sub(1), point);
        match panels.last_mut() {
            Some((c, points)) if *c == caption && points.len() < per_panel => points.push(point),
            _ => panels.push((caption, vec![point])),
        }
    }
    let cut = panels.len() > MAX_PANELS;
    panels.truncate(MAX_PANELS);
    (panels, cut)
}

/// The points [`containment_cdf`] draws, in order.
pub fn cdf_points(info: &SweepInfo) -> Vec<u64> {
    point_panels(info, MAX_SERIES).0.into_iter().flat_map(|(_, points)| points).collect()
}

/// The chart of each drawn point's times to containment (`contained[p]`
/// for every point [`cdf_points`] names).
fn containment_cdf(info: &SweepInfo, contained: &[Option<Contained>]) -> ContainmentCdf {
    let (panels, cut) = point_panels(info, MAX_SERIES);
    let last = info.axes.len().checked_sub(1);
    let curve_name = |p: u64| match last {
        Some(axis) => info.labels(p)[axis].clone(),
        None => "as written".to_string(),
    };
    let mut legend: Vec<Vec<String>> = vec![Vec::new(); MAX_SERIES];
    let panels: Vec<(String, Vec<CdfCurve>)> = panels
        .into_iter()
        .map(|(caption, points)| {
            let curves = points
                .iter()
                .enumerate()
                .map(|(i, &p)| {
                    let point = contained[p as usize].as_ref().expect("every drawn point's times");
                    let times: Vec<f64> = point.times.iter().map(|&t| t as f64 / 1e6).collect();
                    let name = curve_name(p);
                    if !legend[i].contains(&name) {
                        legend[i].push(name.clone());
                    }
                    CdfCurve { name, times, of: point.of, runs: point.runs }
                })
                .collect();
            (caption, curves)
        })
        .collect();
    let mut title = "time to containment: share of runs contained by then".to_string();
    if cut {
        title += &format!(" (first {MAX_PANELS} panels)");
    }
    ContainmentCdf {
        title,
        heading: last.map_or("point".to_string(), |axis| key_name(&info.axes[axis].key).to_string()),
        legend: legend.into_iter().filter(|names| !names.is_empty()).map(|names| names.join(" | ")).collect(),
        panels,
    }
}

fn pareto_chart(info: &SweepInfo, summaries: &[Summary], pareto: &Pareto) -> ParetoChart {
    let interval = |s: &Summary, m: &Metric| estimate(s, m.name).unwrap_or((0.0, f64::NAN, f64::NAN));
    let points = summaries
        .iter()
        .enumerate()
        .map(|(p, s)| {
            let label = info.labels(p as u64).join(", ");
            (
                if label.is_empty() { "as written".to_string() } else { label },
                interval(s, pareto.cost),
                interval(s, pareto.harm),
            )
        })
        .collect();
    ParetoChart {
        title: format!("blast radius vs {}", pareto.cost.name),
        x_label: format!("{} per run (cost)", pareto.cost.label),
        y_label: format!("{} per run (blast radius)", pareto.harm.heading),
        label_keys: info.axes.iter().map(|a| key_name(&a.key).to_string()).collect(),
        units: (pareto.cost.unit(), pareto.harm.unit()),
        points,
        front: pareto.front.clone(),
    }
}

/// Every chart of a sweep with its caption, in a fixed order; `curves`
/// are each point's prevalence, `contained` the times to containment of
/// the points [`cdf_points`] names.
pub fn sweep_charts(
    info: &SweepInfo,
    summaries: &[Summary],
    contained: &[Option<Contained>],
    curves: &[Vec<PrevalenceSample>],
    pareto: &Pareto,
) -> Vec<Figure> {
    let mut figures = Vec::new();
    let shown: Vec<&Metric> = metrics::headline()
        .into_iter()
        .filter(|(m, h)| h.always || varies(summaries, m.name))
        .map(|(m, _)| m)
        .collect();
    for axis in 0..info.axes.len() {
        let key = &info.axes[axis].key;
        let others = if info.axes.len() > 1 { "; a line per value of the other keys" } else { "" };
        for &metric in &shown {
            let stem = format!("chart-{}-vs-{}", metric.name, key.replace('.', "_"));
            let caption = format!("{}: mean and 95% interval at each value of {key}{others}.", metric.label);
            figures.push(Figure { caption, files: render(&stem, &metric_chart(info, summaries, axis, metric)) });
        }
    }
    figures.push(Figure {
        caption: "Share of runs contained by each time to containment, per point: a curve ends at the point's \
                  containment rate; runs never contained never reach it."
            .into(),
        files: render("chart-containment-cdf", &containment_cdf(info, contained)),
    });
    figures.push(Figure {
        caption: format!(
            "Blast radius ({}) against cost ({}), mean per run with 95% intervals on both; the Pareto-optimal \
             points (no other point is as good on both and better on one) are ringed and labelled.",
            pareto.harm.heading, pareto.cost.label
        ),
        files: render("chart-pareto", &pareto_chart(info, summaries, pareto)),
    });
    if curves.iter().all(|curve| !curve.is_empty()) {
        figures.push(Figure {
            caption: "Agents corrupted over time at each point: the mean across runs, its 95% interval, and the \
                      band 95% of runs lie in."
                .into(),
            files: render("chart-prevalence", &super::sweep_prevalence(info, curves)),
        });
    }
    figures
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pareto_front_keeps_exactly_the_undominated_points() {
        let points = [(0.0, 5.0), (1.0, 3.0), (2.0, 3.0), (3.0, 1.0), (3.0, 2.0), (4.0, 1.0)];
        assert_eq!(pareto_front(&points), [0, 1, 3]);
        assert_eq!(pareto_front(&[(1.0, 1.0), (1.0, 1.0)]), [0, 1], "ties dominate neither");
        assert!(pareto_front(&[]).is_empty());
    }
}
