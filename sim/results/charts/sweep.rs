//! A sweep's charts: each headline metric against each swept key with
//! 95% CI bands, the CDF of time to containment per point, and blast
//! radius against the cost in clean traffic with the Pareto-optimal
//! points marked.

use super::{frame, legend, palette, range, render, Chart, Drawn, MAX_SERIES};
use crate::metrics::{self, Metric, RunMetrics};
use crate::results::SweepInfo;
use crate::summary::Summary;
use plotters::coord::Shift;
use plotters::prelude::*;

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
    pub y_label: String,
    /// (point label, mean cost, mean harm).
    pub points: Vec<(String, f64, f64)>,
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

impl Chart for ParetoChart {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Drawn<DB> {
        let (x0, x1) = range(self.points.iter().map(|p| p.1));
        let (y0, y1) = range(self.points.iter().map(|p| p.2));
        let mut chart = frame(area, &self.title, x0..x1, y0..y1, 72)?;
        chart
            .configure_mesh()
            .x_desc(self.x_label.as_str())
            .y_desc(self.y_label.as_str())
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 16))
            .draw()?;
        let coordinates: Vec<(f64, f64)> = self.points.iter().map(|p| (p.1, p.2)).collect();
        let front = &self.front;
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
        for &i in front {
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
        let labels = info.labels(point);
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
    per_point: &[Vec<RunMetrics>],
    pareto: &Pareto,
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
        let labels = info.labels(p);
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
    let points = pareto.means.iter().enumerate().map(|(p, &(c, h))| (info.labels(p as u64).join(", "), c, h)).collect();
    let keys: Vec<&str> = info.axes.iter().map(|a| short(&a.key)).collect();
    let title = format!("blast radius vs {} (labels: {})", pareto.cost.name, keys.join(", "));
    let x_label = format!("{} per run (cost)", pareto.cost.label);
    let y_label = format!("{} per run (blast radius)", pareto.harm.heading);
    let front = pareto.front.clone();
    files.extend(render("chart-pareto", &ParetoChart { title, x_label, y_label, points, front }));
    files
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
