//! Charts of a sweep, as SVG and PNG bytes: each headline metric against
//! each swept key with 95% CI bands, the CDF of time to containment per
//! point, and blast radius against clean traffic rejected with the
//! Pareto-optimal points marked. Text is drawn with an embedded DejaVu Sans
//! (no system fonts needed); the same inputs give the same bytes.

use crate::metrics::{self, Metric};
use crate::output::SweepInfo;
use crate::summary::Summary;
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::sync::Once;

const SIZE: (u32, u32) = (900, 560);
/// Series drawn per chart; a grid with more combinations of the other keys
/// shows the first ones (fix the others with `--set` for the rest).
pub const MAX_SERIES: usize = 8;
/// Whether some point has a non-zero mean of `metric`.
fn varies(summaries: &[Summary], metric: &str) -> bool {
    summaries.iter().any(|s| estimate(s, metric).is_some_and(|(mean, _, _)| mean != 0.0))
}

/// The cost metric the Pareto chart and `tune` use: the first of the
/// catalogue's costs that is non-zero somewhere (the first when none is).
pub fn cost_metric(summaries: &[Summary]) -> &'static Metric {
    let costs = metrics::costs();
    costs.iter().copied().find(|m| varies(summaries, m.name)).unwrap_or(costs[0])
}

type Drawn<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// A chart that can draw itself on any backend.
pub trait Chart {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Drawn<DB>;
}

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular())
            .unwrap_or_else(|_| panic!("the embedded DejaVu Sans is a valid font"));
    });
}

type Frame<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// A white chart with a title and room for axis labels.
fn frame<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    title: &str,
    x: std::ops::Range<f64>,
    y: std::ops::Range<f64>,
    y_label_room: u32,
) -> Result<Frame<'a, DB>, DrawingAreaErrorKind<DB::ErrorType>> {
    area.fill(&WHITE)?;
    ChartBuilder::on(area)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(48)
        .y_label_area_size(y_label_room)
        .build_cartesian_2d(x, y)
}

/// The series legend in a boxed corner.
fn legend<'a, DB: DrawingBackend + 'a>(
    chart: &mut Frame<'a, DB>,
    position: SeriesLabelPosition,
    size: u32,
) -> Drawn<DB> {
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", size))
        .position(position)
        .draw()
}

/// `stem.svg` and `stem.png` of one chart.
pub fn render(stem: &str, chart: &impl Chart) -> Vec<(String, Vec<u8>)> {
    register_font();
    let mut svg = String::new();
    {
        let area = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        chart.draw(&area).expect("drawing into a string cannot fail");
        area.present().expect("drawing into a string cannot fail");
    }
    let mut rgb = vec![0u8; (SIZE.0 * SIZE.1 * 3) as usize];
    {
        let area = BitMapBackend::with_buffer(&mut rgb, SIZE).into_drawing_area();
        chart.draw(&area).expect("drawing into a buffer cannot fail");
        area.present().expect("drawing into a buffer cannot fail");
    }
    vec![(format!("{stem}.svg"), svg.into_bytes()), (format!("{stem}.png"), encode_png(&rgb, SIZE))]
}

fn encode_png(rgb: &[u8], (width, height): (u32, u32)) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Best);
    encoder.set_filter(png::FilterType::Paeth);
    let mut writer = encoder.write_header().expect("in-memory PNG");
    writer.write_image_data(rgb).expect("in-memory PNG");
    writer.finish().expect("in-memory PNG");
    bytes
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
    pub x_label: String,
    pub y_label: String,
    /// Tick labels when the key's values are not numbers (x = 0, 1, ...).
    pub categories: Option<Vec<String>>,
    pub series: Vec<Series>,
}

fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = if hi > lo { (hi - lo) * 0.05 } else { lo.abs().max(1.0) * 0.5 };
    (lo - pad, hi + pad)
}

fn palette(i: usize) -> RGBColor {
    const COLOURS: [RGBColor; MAX_SERIES] = [
        RGBColor(31, 119, 180),
        RGBColor(214, 39, 40),
        RGBColor(44, 160, 44),
        RGBColor(148, 103, 189),
        RGBColor(255, 127, 14),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(23, 190, 207),
    ];
    COLOURS[i % MAX_SERIES]
}

impl Chart for MetricChart {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Drawn<DB> {
        let all = || self.series.iter().flat_map(|s| s.points.iter());
        let (x0, x1) = range(all().map(|p| p.0));
        let (y0, y1) = range(all().flat_map(|p| [p.2, p.3, p.1]));
        let mut chart = frame(area, &self.title, x0..x1, y0..y1, 72)?;
        let categories = self.categories.clone();
        let x_format = move |x: &f64| match &categories {
            Some(names) if (x - x.round()).abs() < 1e-9 && *x >= 0.0 => {
                names.get(x.round() as usize).cloned().unwrap_or_default()
            }
            Some(_) => String::new(),
            None => format!("{}", (x * 1e6).round() / 1e6),
        };
        chart
            .configure_mesh()
            .x_desc(self.x_label.as_str())
            .y_desc(self.y_label.as_str())
            .x_label_formatter(&x_format)
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 16))
            .draw()?;
        for (i, series) in self.series.iter().enumerate() {
            let colour = palette(i);
            let band: Vec<(f64, f64)> = series
                .points
                .iter()
                .map(|p| (p.0, p.3))
                .chain(series.points.iter().rev().map(|p| (p.0, p.2)))
                .collect();
            chart.draw_series(std::iter::once(Polygon::new(band, colour.mix(0.15))))?;
            chart
                .draw_series(LineSeries::new(series.points.iter().map(|p| (p.0, p.1)), colour.stroke_width(2)))?
                .label(series.name.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2)));
            chart.draw_series(series.points.iter().map(|p| Circle::new((p.0, p.1), 3, colour.filled())))?;
        }
        if self.series.len() > 1 || !self.series.first().is_some_and(|s| s.name.is_empty()) {
            legend(&mut chart, SeriesLabelPosition::UpperRight, 14)?;
        }
        Ok(())
    }
}

/// The empirical CDF of time to containment per point: the share of all
/// runs contained by time t (so each curve ends at its containment rate).
pub struct ContainmentCdf {
    pub title: String,
    /// (point label, sorted t_contain seconds of contained runs, runs).
    pub curves: Vec<(String, Vec<f64>, usize)>,
}

impl Chart for ContainmentCdf {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Drawn<DB> {
        let t_max = self.curves.iter().flat_map(|c| c.1.last().copied()).fold(1.0f64, f64::max) * 1.05;
        let mut chart = frame(area, &self.title, 0.0..t_max, 0.0..1.05, 72)?;
        chart
            .configure_mesh()
            .x_desc("time to containment (s)")
            .y_desc("share of runs contained")
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 16))
            .draw()?;
        for (i, (name, times, runs)) in self.curves.iter().enumerate() {
            let colour = palette(i);
            let mut steps = vec![(0.0, 0.0)];
            for (k, &t) in times.iter().enumerate() {
                steps.push((t, k as f64 / *runs as f64));
                steps.push((t, (k + 1) as f64 / *runs as f64));
            }
            steps.push((t_max, times.len() as f64 / (*runs).max(1) as f64));
            chart
                .draw_series(LineSeries::new(steps, colour.stroke_width(2)))?
                .label(name.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2)));
        }
        legend(&mut chart, SeriesLabelPosition::LowerRight, 14)?;
        Ok(())
    }
}

/// Blast radius against cost, one dot per point, Pareto-optimal ones
/// (no other point is at least as good on both and better on one) ringed
/// and labelled.
pub struct ParetoChart {
    pub title: String,
    pub x_label: String,
    /// (point label, mean cost, mean agents reached).
    pub points: Vec<(String, f64, f64)>,
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

impl Chart for ParetoChart {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Drawn<DB> {
        let (x0, x1) = range(self.points.iter().map(|p| p.1));
        let (y0, y1) = range(self.points.iter().map(|p| p.2));
        let mut chart = frame(area, &self.title, x0..x1, y0..y1, 72)?;
        chart
            .configure_mesh()
            .x_desc(self.x_label.as_str())
            .y_desc("agents reached per run (blast radius)")
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 16))
            .draw()?;
        let coordinates: Vec<(f64, f64)> = self.points.iter().map(|p| (p.1, p.2)).collect();
        let front = pareto_front(&coordinates);
        chart
            .draw_series(self.points.iter().map(|p| Circle::new((p.1, p.2), 4, palette(0).mix(0.5).filled())))?
            .label("sweep point")
            .legend(|(x, y)| Circle::new((x + 8, y), 4, palette(0).mix(0.5).filled()));
        let mut ordered: Vec<(f64, f64)> = front.iter().map(|&i| coordinates[i]).collect();
        ordered.sort_by(|a, b| a.0.total_cmp(&b.0));
        chart
            .draw_series(LineSeries::new(ordered, palette(1).stroke_width(2)))?
            .label("Pareto-optimal")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], palette(1).stroke_width(2)));
        for &i in &front {
            let (name, x, y) = &self.points[i];
            chart.draw_series(std::iter::once(Circle::new((*x, *y), 7, palette(1).stroke_width(2))))?;
            let label = EmptyElement::at((*x, *y)) + Text::new(name.clone(), (8, -16), ("sans-serif", 13));
            chart.draw_series(std::iter::once(label))?;
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight, 14)?;
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
/// axes' values (at most [`MAX_SERIES`]).
pub fn metric_chart(info: &SweepInfo, summaries: &[Summary], axis: usize, metric: &Metric) -> MetricChart {
    let values = &info.axes[axis].values;
    let xs = numeric(values).unwrap_or_else(|| (0..values.len()).map(|i| i as f64).collect());
    let mut series: Vec<Series> = Vec::new();
    for point in 0..info.points {
        let labels = crate::sweep::labels_from_info(info, point);
        let x = xs[values.iter().position(|v| *v == labels[axis]).expect("a point's value is on its axis")];
        let others: Vec<String> = info
            .axes
            .iter()
            .zip(&labels)
            .enumerate()
            .filter(|(i, _)| *i != axis)
            .map(|(_, (a, v))| format!("{}={v}", short(&a.key)))
            .collect();
        let name = others.join(", ");
        let Some((mean, low, high)) = estimate(&summaries[point as usize], metric.name) else { continue };
        match series.iter().position(|s| s.name == name) {
            Some(i) => series[i].points.push((x, mean, low, high)),
            None if series.len() < MAX_SERIES => series.push(Series { name, points: vec![(x, mean, low, high)] }),
            None => {}
        }
    }
    series.iter_mut().for_each(|s| s.points.sort_by(|a, b| a.0.total_cmp(&b.0)));
    MetricChart {
        title: format!("{} vs {}", metric.name, short(&info.axes[axis].key)),
        x_label: info.axes[axis].key.clone(),
        y_label: metric.label.to_string(),
        categories: numeric(values).is_none().then(|| values.clone()),
        series,
    }
}

/// The last segment of a dotted key.
fn short(key: &str) -> &str {
    key.rsplit('.').next().unwrap_or(key)
}

/// Every chart of a sweep: file name and bytes, in a fixed order.
pub fn sweep_charts(
    info: &SweepInfo,
    summaries: &[Summary],
    per_point: &[Vec<crate::metrics::RunMetrics>],
) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    let shown: Vec<&Metric> = metrics::headline()
        .into_iter()
        .filter(|(m, h)| h.always || varies(summaries, m.name))
        .map(|(m, _)| m)
        .collect();
    for axis in 0..info.axes.len() {
        for &metric in &shown {
            let stem = format!("chart-{}-vs-{}", metric.name, info.axes[axis].key.replace('.', "_"));
            files.extend(render(&stem, &metric_chart(info, summaries, axis, metric)));
        }
    }
    let label = |p: u64| {
        let labels = crate::sweep::labels_from_info(info, p);
        if labels.is_empty() {
            "as written".to_string()
        } else {
            info.axes.iter().zip(labels).map(|(a, v)| format!("{}={v}", short(&a.key))).collect::<Vec<_>>().join(", ")
        }
    };
    let curves = (0..info.points.min(MAX_SERIES as u64))
        .map(|p| {
            let runs = &per_point[p as usize];
            let mut times: Vec<f64> = runs.iter().filter_map(|m| m.t_contain).map(|t| t as f64 / 1e6).collect();
            times.sort_by(f64::total_cmp);
            (label(p), times, runs.len())
        })
        .collect();
    files.extend(render(
        "chart-containment-cdf",
        &ContainmentCdf { title: "time to containment, CDF per point".into(), curves },
    ));
    let cost = cost_metric(summaries);
    let points = (0..info.points)
        .filter_map(|p| {
            let s = &summaries[p as usize];
            let values = crate::sweep::labels_from_info(info, p).join(", ");
            Some((values, estimate(s, cost.name)?.0, estimate(s, "agents_reached")?.0))
        })
        .collect();
    let keys: Vec<&str> = info.axes.iter().map(|a| short(&a.key)).collect();
    let title = format!("blast radius vs {} (labels: {})", cost.name, keys.join(", "));
    let x_label = format!("{} per run (cost)", cost.label);
    files.extend(render("chart-pareto", &ParetoChart { title, x_label, points }));
    files
}

/// What a replayed run's timeline marks, in legend order.
const TIMELINE_KINDS: [(&str, RGBColor); 6] = [
    ("corrupted input accepted", RGBColor(214, 39, 40)),
    ("compromised", RGBColor(0, 0, 0)),
    ("rejected at the boundary", RGBColor(31, 119, 180)),
    ("breaker or gateway alert", RGBColor(255, 127, 14)),
    ("action blocked or denied", RGBColor(44, 160, 44)),
    ("quarantined", RGBColor(148, 103, 189)),
];

/// The most agents a timeline shows (those with the earliest events).
pub const TIMELINE_AGENTS: usize = 30;

/// One replayed run over time: a row per agent, a mark per event.
pub struct Timeline {
    pub title: String,
    /// Agent names, top row first.
    pub agents: Vec<String>,
    /// (kind index into the legend, row, time in seconds).
    pub marks: Vec<(usize, usize, f64)>,
    pub horizon: f64,
}

fn timeline_kind(row: &crate::engine::TraceRow) -> Option<usize> {
    use crate::engine::TraceKind as K;
    match row.kind {
        K::Accept if row.root != crate::model::NO_FAULT => Some(0),
        K::MemoryRead => Some(0),
        K::Compromise => Some(1),
        K::RejectInvalid | K::RejectOpen => Some(2),
        K::Alert => Some(3),
        K::ActionBlocked | K::ActionDenied => Some(4),
        K::Quarantine => Some(5),
        _ => None,
    }
}

/// The timeline of a replayed run from its trace.
pub fn timeline(model: &crate::model::Model, trace: &[crate::engine::TraceRow], run: u64) -> Timeline {
    let mut rows: Vec<u32> = Vec::new();
    let mut marks = Vec::new();
    for row in trace.iter().filter(|r| r.agent != crate::model::NONE) {
        let Some(kind) = timeline_kind(row) else { continue };
        let index = match rows.iter().position(|&a| a == row.agent) {
            Some(i) => i,
            None if rows.len() < TIMELINE_AGENTS => {
                rows.push(row.agent);
                rows.len() - 1
            }
            None => continue,
        };
        marks.push((kind, index, row.time as f64 / 1e6));
    }
    Timeline {
        title: format!("{}: run {run}, events over time", model.name),
        agents: rows.iter().map(|&a| model.agents[a as usize].name.clone()).collect(),
        marks,
        horizon: model.horizon as f64 / 1e6,
    }
}

impl Chart for Timeline {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Drawn<DB> {
        let n = self.agents.len().max(1) as f64;
        let mut chart = frame(area, &self.title, 0.0..self.horizon, -0.5..n - 0.5, 110)?;
        let agents = self.agents.clone();
        let y_format = move |y: &f64| {
            let row = y.round();
            if (y - row).abs() > 1e-6 || row < 0.0 {
                return String::new();
            }
            agents.get(agents.len().saturating_sub(1 + row as usize)).cloned().unwrap_or_default()
        };
        chart
            .configure_mesh()
            .x_desc("time (s)")
            .y_desc("agent")
            .y_labels(self.agents.len().max(1))
            .y_label_formatter(&y_format)
            .label_style(("sans-serif", 13))
            .axis_desc_style(("sans-serif", 16))
            .draw()?;
        let flip = |row: usize| n - 1.0 - row as f64;
        for (kind, (name, colour)) in TIMELINE_KINDS.iter().enumerate() {
            let colour = *colour;
            let offset = (kind as f64 - 2.5) * 0.08;
            let marks = self.marks.iter().filter(|m| m.0 == kind).map(|m| (m.2, flip(m.1) + offset));
            chart
                .draw_series(marks.map(move |p| Circle::new(p, 3, colour.filled())))?
                .label(*name)
                .legend(move |(x, y)| Circle::new((x + 8, y), 4, colour.filled()));
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight, 13)?;
        Ok(())
    }
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

    #[test]
    fn charts_render_to_svg_with_their_labels_and_to_png() {
        let chart = MetricChart {
            title: "agents_reached vs failure_threshold".into(),
            x_label: "mitigations.breaker.failure_threshold".into(),
            y_label: "agents reached".into(),
            categories: None,
            series: vec![Series {
                name: "threshold=3".into(),
                points: vec![(1.0, 1.0, 0.5, 1.5), (3.0, 2.0, 1.5, 2.5)],
            }],
        };
        let files = render("c", &chart);
        assert_eq!(files[0].0, "c.svg");
        let svg = String::from_utf8(files[0].1.clone()).unwrap();
        for text in ["agents_reached vs failure_threshold", "mitigations.breaker.failure_threshold", "threshold=3"] {
            assert!(svg.contains(text), "{text} missing from the SVG");
        }
        assert!(files[1].1.starts_with(b"\x89PNG\r\n\x1a\n") && files[1].1.len() > 10_000);
        assert_eq!(render("c", &chart), files, "same inputs, same bytes");
    }
}
