//! The sweep report: one self-contained HTML file (tables, and the charts
//! as inline SVG) that opens offline and can be attached to a review.

use crate::metrics::{self, Metric};
use crate::results::charts::{key_name, varies, Figure, Pareto};
use crate::results::SweepInfo;
use crate::summary::Summary;
use std::fmt::Write;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Mean and 95% CI of a metric at one point, as a table cell: the mean,
/// and the interval below it (so the table fits a window).
fn cell(summary: &Summary, metric: &str) -> String {
    match summary.estimate(metric) {
        Some((mean, low, _)) if low.is_nan() => format!("{mean:.3}"),
        Some((mean, low, high)) => format!("{mean:.3}<br><small>[{low:.3}, {high:.3}]</small>"),
        None => "–".into(),
    }
}

/// `report.html` for a sweep. `figures` are the charts; their SVGs are
/// inlined in order, with their captions; `pareto` is the trade-off the
/// chart draws, with its front as point numbers. The table leaves out
/// metrics that are zero at every point (mechanisms the scenario does not
/// use) and says which.
pub fn sweep_report(
    title: &str,
    seed: u64,
    info: &SweepInfo,
    summaries: &[Summary],
    (pareto, front): (&Pareto, &[u64]),
    figures: &[Figure],
) -> Vec<u8> {
    let mut html = String::new();
    let _ = write!(
        html,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t} sweep</title>\n<style>\
         body{{font-family:sans-serif;max-width:1040px;margin:2em auto;padding:0 1em;color:#222}}\
         .table{{overflow-x:auto}}table{{border-collapse:collapse;font-size:13px}}\
         td,th{{border:1px solid #ccc;padding:3px 6px;text-align:right;vertical-align:top}}\
         th{{background:#f3f3f3;font-weight:600}}tr.pareto{{background:#fff4d6}}small{{color:#777}}\
         figure{{margin:1.5em 0}}figure svg{{max-width:100%;height:auto}}figcaption{{font-size:14px}}\
         </style></head><body>\n<h1>{t}: sweep</h1>\n",
        t = escape(title)
    );
    let axes: Vec<String> = info
        .axes
        .iter()
        .map(|a| format!("<code>{}</code> = {}", escape(&a.key), escape(&a.values.join(", "))))
        .collect();
    let _ = writeln!(
        html,
        "<p>{} points × {} runs, seed {seed}, {}. Grid: {}.</p>",
        info.points,
        info.runs_per_point,
        if info.common_random_numbers {
            "common random numbers (run r of every point shares its streams)"
        } else {
            "independent streams per point"
        },
        if axes.is_empty() { "none (the scenario as written)".to_string() } else { axes.join("; ") }
    );
    let _ = write!(
        html,
        "<p>Each cell: mean <small>[95% CI]</small>. Highlighted rows are Pareto-optimal for blast radius \
         ({harm}) against cost (<code>{cost}</code>).</p>\n<div class=\"table\"><table><tr><th>point</th>",
        harm = pareto.harm.heading,
        cost = pareto.cost.name
    );
    for axis in &info.axes {
        let _ = write!(html, "<th title=\"{key}\">{}</th>", escape(key_name(&axis.key)), key = escape(&axis.key));
    }
    let (columns, zero): (Vec<&Metric>, Vec<&Metric>) = metrics::headline()
        .into_iter()
        .filter(|(_, h)| h.report)
        .map(|(m, _)| m)
        .partition(|m| m.headline.is_some_and(|h| h.always) || varies(summaries, m.name));
    for metric in &columns {
        let _ = write!(html, "<th>{}</th>", metric.heading);
    }
    html.push_str("</tr>\n");
    for (point, summary) in summaries.iter().enumerate() {
        let class = if front.contains(&(point as u64)) { " class=\"pareto\"" } else { "" };
        let _ = write!(html, "<tr{class}><td>{point}</td>");
        for value in info.labels(point as u64) {
            let _ = write!(html, "<td>{}</td>", escape(&value));
        }
        for metric in &columns {
            let _ = write!(html, "<td>{}</td>", cell(summary, metric.name));
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</table></div>\n");
    if !zero.is_empty() {
        let names: Vec<String> = zero.iter().map(|m| format!("<code>{}</code>", m.name)).collect();
        let _ = writeln!(html, "<p><small>Zero at every point, so not shown: {}.</small></p>", names.join(", "));
    }
    html.push_str("<h2>Charts</h2>\n");
    for figure in figures {
        for (name, bytes) in figure.files.iter().filter(|(n, _)| n.ends_with(".svg")) {
            let svg = String::from_utf8_lossy(bytes);
            let svg =
                svg.trim_start_matches(|c| c != '<').trim_start_matches("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
            let _ = writeln!(
                html,
                "<figure>{svg}<figcaption>{} <small>({})</small></figcaption></figure>",
                escape(&figure.caption),
                escape(name.trim_end_matches(".svg"))
            );
        }
    }
    html.push_str("<p><small>Generated by cascade; the CSV files beside this report hold every number.</small></p>\n</body></html>\n");
    html.into_bytes()
}
