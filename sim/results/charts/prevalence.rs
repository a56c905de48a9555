//! Agents corrupted over time (prevalence): the mean across runs, the
//! band 95% of runs lie in and the mean's 95% interval; one panel for a
//! run's replications, one per point for a sweep.

use super::{canvas, frame, legend_width, mesh, palette, panels_size, split_panels, Chart, Drawn, Key, MAX_PANELS};
use crate::results::SweepInfo;
use crate::summary::PrevalenceSample;
use plotters::coord::Shift;
use plotters::prelude::*;

/// Agents corrupted over time, in one panel or several.
pub struct PrevalenceChart {
    pub title: String,
    /// (panel caption, samples in time order).
    pub panels: Vec<(String, Vec<PrevalenceSample>)>,
}

const RUNS_BAND: f64 = 0.14;
const MEAN_BAND: f64 = 0.4;

fn entries() -> Vec<(String, Key)> {
    vec![
        ("mean across runs".to_string(), Key::Line(palette(0))),
        ("95% interval of the mean".to_string(), Key::Band(palette(0), MEAN_BAND)),
        ("95% of runs".to_string(), Key::Band(palette(0), RUNS_BAND)),
    ]
}

impl Chart for PrevalenceChart {
    fn size(&self) -> (u32, u32) {
        panels_size(self.panels.len(), legend_width(None, &entries()))
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Drawn<DB> {
        let plot = canvas(area, &self.title, None, &entries())?;
        let samples = || self.panels.iter().flat_map(|(_, curve)| curve.iter());
        let t_max = samples().map(|s| s.time as f64 / 1e6).fold(0.0, f64::max).max(1e-6);
        let top = samples().flat_map(|s| [s.high as f64, s.ci_high]).filter(|v| v.is_finite()).fold(1.0, f64::max);
        let single = self.panels.len() == 1;
        for ((caption, curve), panel) in self.panels.iter().zip(split_panels(&plot, self.panels.len())) {
            let panel = if single { panel } else { panel.titled(caption, ("sans-serif", 15))? };
            let mut chart = frame(&panel, 0.0..t_max, 0.0..top * 1.08, if single { 72 } else { 52 })?;
            mesh(&mut chart, ("time (s)", "agents corrupted"), None, !single)?;
            let at = |s: &PrevalenceSample, v: f64| (s.time as f64 / 1e6, v);
            let band =
                |low: &dyn Fn(&PrevalenceSample) -> f64, high: &dyn Fn(&PrevalenceSample) -> f64| -> Vec<(f64, f64)> {
                    curve.iter().map(|s| at(s, high(s))).chain(curve.iter().rev().map(|s| at(s, low(s)))).collect()
                };
            let colour = palette(0);
            chart.draw_series(std::iter::once(Polygon::new(
                band(&|s| s.low as f64, &|s| s.high as f64),
                colour.mix(RUNS_BAND),
            )))?;
            if curve.iter().all(|s| s.ci_high.is_finite()) {
                chart.draw_series(std::iter::once(Polygon::new(
                    band(&|s| s.ci_low, &|s| s.ci_high),
                    colour.mix(MEAN_BAND),
                )))?;
            }
            chart.draw_series(LineSeries::new(curve.iter().map(|s| at(s, s.mean)), colour.stroke_width(2)))?;
        }
        Ok(())
    }
}

/// A run's prevalence chart over its `runs` replications.
pub fn run_prevalence(scenario: &str, runs: u64, curve: Vec<PrevalenceSample>) -> PrevalenceChart {
    PrevalenceChart {
        title: format!("{scenario}: agents corrupted over time ({runs} runs)"),
        panels: vec![(String::new(), curve)],
    }
}

/// A sweep's prevalence chart: a panel per point (the first
/// [`MAX_PANELS`]; the title says when there are more).
pub fn sweep_prevalence(info: &SweepInfo, curves: &[Vec<PrevalenceSample>]) -> PrevalenceChart {
    let caption = |p: u64| super::sweep::point_name(info, 0..info.axes.len(), p);
    let mut title = format!("agents corrupted over time per point ({} runs each)", info.runs_per_point);
    if curves.len() > MAX_PANELS {
        title += &format!(", first {MAX_PANELS} of {} points", curves.len());
    }
    let panels = curves.iter().take(MAX_PANELS).enumerate().map(|(p, c)| (caption(p as u64), c.clone())).collect();
    PrevalenceChart { title, panels }
}
