//! A replayed run over time: a row per agent, a mark per event that
//! matters (corrupted input accepted, compromise, rejection, alert,
//! blocked action, quarantine).

use super::{canvas, frame, width_with_legend, Chart, Drawn, Key};
use crate::engine::{TraceKind, TraceRow};
use crate::model::{Model, NONE, NO_FAULT};
use plotters::coord::Shift;
use plotters::prelude::*;

/// What a replayed run's timeline marks, in legend order.
const TIMELINE_KINDS: [(&str, RGBColor); 6] = [
    ("corrupted input accepted", RGBColor(214, 39, 40)),
    ("compromised", RGBColor(0, 0, 0)),
    ("rejected or sanitised at the boundary", RGBColor(31, 119, 180)),
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

fn timeline_kind(row: &TraceRow) -> Option<usize> {
    use TraceKind as K;
    match row.kind {
        K::Accept if row.root != NO_FAULT => Some(0),
        K::MemoryRead => Some(0),
        K::Compromise => Some(1),
        K::RejectInvalid | K::RejectOpen | K::Sanitise => Some(2),
        K::Alert => Some(3),
        K::ActionBlocked | K::ActionDenied => Some(4),
        K::Quarantine => Some(5),
        _ => None,
    }
}

/// The timeline of a replayed run from its trace.
pub fn timeline(model: &Model, trace: &[TraceRow], run: u64) -> Timeline {
    let mut rows: Vec<u32> = Vec::new();
    let mut marks = Vec::new();
    for row in trace.iter().filter(|r| r.agent != NONE) {
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

impl Timeline {
    fn entries() -> Vec<(String, Key)> {
        TIMELINE_KINDS.iter().map(|(name, colour)| (name.to_string(), Key::Dot(*colour))).collect()
    }
}

impl Chart for Timeline {
    fn size(&self) -> (u32, u32) {
        width_with_legend(None, &Timeline::entries())
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Drawn<DB> {
        let plot = canvas(area, &self.title, None, &Timeline::entries())?;
        let n = self.agents.len().max(1) as f64;
        let mut chart = frame(&plot, 0.0..self.horizon, -0.5..n - 0.5, 110)?;
        let agents = self.agents.clone();
        let y_format = move |y: &f64| {
            let row = y.round();
            if (y - row).abs() > 1e-6 || row < 0.0 {
                return String::new();
            }
            agents.get(agents.len().saturating_sub(1 + row as usize)).cloned().unwrap_or_default()
        };
        let x_format = |x: &f64| super::tick(*x);
        chart
            .configure_mesh()
            .x_desc("time (s)")
            .y_desc("agent")
            .y_labels(self.agents.len().max(1))
            .x_label_formatter(&x_format)
            .y_label_formatter(&y_format)
            .label_style(("sans-serif", 13))
            .axis_desc_style(("sans-serif", 16))
            .draw()?;
        let flip = |row: usize| n - 1.0 - row as f64;
        for (kind, (_, colour)) in TIMELINE_KINDS.iter().enumerate() {
            let colour = *colour;
            let offset = (kind as f64 - 2.5) * 0.08;
            let marks = self.marks.iter().filter(|m| m.0 == kind).map(|m| (m.2, flip(m.1) + offset));
            chart.draw_series(marks.map(move |p| Circle::new(p, 3, colour.filled())))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Detail;
    use TraceKind as K;

    fn row(kind: TraceKind, root: u16) -> TraceRow {
        TraceRow {
            time: 0,
            kind,
            agent: 0,
            message: 0,
            parent: NONE,
            task: 0,
            detail: Detail::None,
            depth: 0,
            signal: 0.0,
            shift: 0.0,
            root,
            records: (0, 0),
            started: 0,
        }
    }

    /// Each marked event has its legend entry; clean accepts and the
    /// bookkeeping rows are not marked.
    #[test]
    fn each_event_has_its_mark() {
        let marked = [
            (K::Accept, 0, Some(0)),
            (K::Accept, NO_FAULT, None),
            (K::MemoryRead, 0, Some(0)),
            (K::Compromise, 0, Some(1)),
            (K::RejectInvalid, 0, Some(2)),
            (K::RejectOpen, 0, Some(2)),
            (K::Sanitise, 0, Some(2)),
            (K::Alert, 0, Some(3)),
            (K::ActionBlocked, 0, Some(4)),
            (K::ActionDenied, 0, Some(4)),
            (K::Quarantine, 0, Some(5)),
            (K::Send, 0, None),
            (K::Process, 0, None),
        ];
        for (kind, root, want) in marked {
            assert_eq!(timeline_kind(&row(kind, root)), want, "{kind:?} of root {root}");
        }
    }
}
