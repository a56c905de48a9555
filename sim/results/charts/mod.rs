//! Charts as SVG and PNG bytes, drawn with plotters: the frame, legend,
//! palette and encoding every chart shares. `sweep` draws a sweep's
//! charts, `timeline` a replayed run's. Text is drawn with an embedded
//! DejaVu Sans (no system fonts needed); the same inputs give the same
//! bytes.

mod prevalence;
mod sweep;
mod timeline;

pub use prevalence::{run_prevalence, sweep_prevalence, PrevalenceChart};
pub use sweep::{
    cdf_points, cost_metric, metric_chart, pareto_front, place_labels, point_panels, sweep_charts, varies, CdfCurve,
    ContainmentCdf, Estimate, MetricChart, Pareto, ParetoChart, Series,
};
pub use timeline::{timeline, Timeline, TIMELINE_AGENTS};

use crate::metrics::Unit;
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::sync::Once;

const SIZE: (u32, u32) = (900, 560);
/// Series drawn per chart; a grid with more combinations of the other keys
/// shows the first ones (fix the others with `--set` for the rest).
pub const MAX_SERIES: usize = 8;

type Drawn<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// A chart that can draw itself on any backend.
pub trait Chart {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Drawn<DB>;
    /// Width and height in pixels.
    fn size(&self) -> (u32, u32) {
        SIZE
    }
}

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular())
            .unwrap_or_else(|_| panic!("the embedded DejaVu Sans is a valid font"));
    });
}

type Frame<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// The font size of legends and data labels.
const SMALL: u32 = 14;

/// The width and height `text` takes at `size` in the embedded font.
fn text_size(text: &str, size: u32) -> (u32, u32) {
    register_font();
    ("sans-serif", size).into_font().box_size(text).unwrap_or((text.len() as u32 * size / 2, size))
}

/// How a legend entry's key is drawn.
#[derive(Clone, Copy, Debug)]
pub(super) enum Key {
    Line(RGBColor),
    Dot(RGBColor),
    /// A filled swatch at this opacity (a band).
    Band(RGBColor, f64),
}

/// The width of a legend column holding `entries` (and `heading`).
fn legend_width(heading: Option<&str>, entries: &[(String, Key)]) -> u32 {
    let widest = entries
        .iter()
        .map(|(label, _)| text_size(label, SMALL).0 + 34)
        .chain(heading.map(|h| text_size(h, SMALL).0 + 12));
    if entries.is_empty() {
        0
    } else {
        widest.max().unwrap_or(0) + 16
    }
}

/// A white canvas with `title` on top and, when there are `entries`, a
/// legend column on the right (outside the data, so it never covers any);
/// returns the area left for the plot.
fn canvas<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    heading: Option<&str>,
    entries: &[(String, Key)],
) -> Result<DrawingArea<DB, Shift>, DrawingAreaErrorKind<DB::ErrorType>> {
    area.fill(&WHITE)?;
    let below = area.titled(title, ("sans-serif", 22))?;
    let width = legend_width(heading, entries);
    if width == 0 {
        return Ok(below);
    }
    let (plot, side) = below.split_horizontally(below.dim_in_pixel().0 - width);
    let style = ("sans-serif", SMALL).into_font().color(&BLACK);
    let mut y = 40;
    if let Some(heading) = heading {
        side.draw(&Text::new(heading.to_string(), (4, y - 7), style.clone()))?;
        y += 22;
    }
    for (label, key) in entries {
        match *key {
            Key::Line(colour) => side.draw(&PathElement::new(vec![(6, y), (26, y)], colour.stroke_width(2)))?,
            Key::Dot(colour) => side.draw(&Circle::new((16, y), 4, colour.filled()))?,
            Key::Band(colour, opacity) => {
                side.draw(&Rectangle::new([(6, y - 6), (26, y + 6)], colour.mix(opacity).filled()))?
            }
        }
        side.draw(&Text::new(label.clone(), (34, y - 7), style.clone()))?;
        y += 22;
    }
    Ok(plot)
}

/// The size of a one-panel chart with a legend of `entries` beside it.
fn width_with_legend(heading: Option<&str>, entries: &[(String, Key)]) -> (u32, u32) {
    panels_size(1, legend_width(heading, entries))
}

/// Small multiples drawn per panel, at most this many per chart.
pub const MAX_PANELS: usize = 24;
/// One panel's size in a chart of several.
const PANEL: (u32, u32) = (380, 270);
/// Height of a chart's title.
const TITLE: u32 = 40;

/// Columns and rows of a grid of `panels` small multiples.
fn panel_grid(panels: usize) -> (usize, usize) {
    let columns = panels.clamp(1, 3);
    (columns, panels.max(1).div_ceil(columns))
}

/// The size of a chart of `panels` small multiples (one panel: a full
/// chart) with a legend of `legend` pixels beside them.
fn panels_size(panels: usize, legend: u32) -> (u32, u32) {
    if panels <= 1 {
        return (SIZE.0 + legend, SIZE.1);
    }
    let (columns, rows) = panel_grid(panels);
    (columns as u32 * PANEL.0 + legend, rows as u32 * PANEL.1 + TITLE)
}

/// `plot` cut into a grid for `panels` small multiples, row by row.
fn split_panels<DB: DrawingBackend>(plot: &DrawingArea<DB, Shift>, panels: usize) -> Vec<DrawingArea<DB, Shift>> {
    let (columns, rows) = panel_grid(panels);
    let mut areas = plot.split_evenly((rows, columns));
    areas.truncate(panels.max(1));
    areas
}

/// Axes on `area` with room for axis labels.
fn frame<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    x: std::ops::Range<f64>,
    y: std::ops::Range<f64>,
    y_label_room: u32,
) -> Result<Frame<'_, DB>, DrawingAreaErrorKind<DB::ErrorType>> {
    ChartBuilder::on(area).margin(12).x_label_area_size(48).y_label_area_size(y_label_room).build_cartesian_2d(x, y)
}

/// The grid, ticks and axis descriptions every chart shares; `x_ticks`
/// formats the x axis (numbers by default, see [`tick`]). `narrow` is a
/// panel of small multiples: fewer ticks, so they never run together.
fn mesh<DB: DrawingBackend>(
    chart: &mut Frame<'_, DB>,
    (x_desc, y_desc): (&str, &str),
    x_ticks: Option<&dyn Fn(&f64) -> String>,
    narrow: bool,
) -> Drawn<DB> {
    let number = |v: &f64| tick(*v);
    chart
        .configure_mesh()
        .x_labels(if narrow { 5 } else { 10 })
        .y_labels(if narrow { 6 } else { 10 })
        .x_desc(x_desc)
        .y_desc(y_desc)
        .x_label_formatter(x_ticks.unwrap_or(&number))
        .y_label_formatter(&number)
        .label_style(("sans-serif", SMALL))
        .axis_desc_style(("sans-serif", 16))
        .draw()
}

/// A tick label: the number with no more digits than it has ("1000", "2.5", "0.05").
pub fn tick(value: f64) -> String {
    let rounded = (value * 1e6).round() / 1e6;
    if rounded == 0.0 {
        "0".to_string()
    } else {
        format!("{rounded}")
    }
}

/// How a chart names a swept key: without the `mitigations.` every
/// mitigation key starts with, so `validation.threshold` and
/// `breaker.failure_threshold` are told apart.
pub fn key_name(key: &str) -> &str {
    key.strip_prefix("mitigations.").unwrap_or(key)
}

/// A rendered chart with the sentence that says what it shows (the
/// report's caption).
#[derive(Clone, Debug, PartialEq)]
pub struct Figure {
    pub caption: String,
    /// `stem.svg` and `stem.png`.
    pub files: Vec<(String, Vec<u8>)>,
}

/// `stem.svg` and `stem.png` of one chart.
pub fn render(stem: &str, chart: &impl Chart) -> Vec<(String, Vec<u8>)> {
    register_font();
    let size = chart.size();
    let mut svg = String::new();
    {
        let area = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        chart.draw(&area).expect("drawing into a string cannot fail");
        area.present().expect("drawing into a string cannot fail");
    }
    let mut rgb = vec![0u8; (size.0 * size.1 * 3) as usize];
    {
        let area = BitMapBackend::with_buffer(&mut rgb, size).into_drawing_area();
        chart.draw(&area).expect("drawing into a buffer cannot fail");
        area.present().expect("drawing into a buffer cannot fail");
    }
    vec![(format!("{stem}.svg"), svg.into_bytes()), (format!("{stem}.png"), encode_png(&rgb, size))]
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

fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = if hi > lo { (hi - lo) * 0.05 } else { lo.abs().max(1.0) * 0.5 };
    (lo - pad, hi + pad)
}

/// `range` kept to what `unit`'s values can be: never below 0, a
/// proportion never above 1 (and spanning at least a tenth, so a rate of
/// 1 everywhere is a line at the top, not a band filling the chart).
fn bounded(range: (f64, f64), unit: Unit) -> (f64, f64) {
    let (lo, hi) = range;
    match unit {
        Unit::Fraction => {
            let hi = hi.min(1.02);
            (lo.max(-0.02).min(hi - 0.1), hi)
        }
        Unit::Count | Unit::Micros => (if lo < 0.0 { 0.0 } else { lo }, hi),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_render_to_svg_with_their_labels_and_to_png() {
        let chart = MetricChart {
            title: "agents_reached vs failure_threshold".into(),
            unit: Unit::Count,
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

    /// Each `<text>` of an SVG: its x and its content.
    fn texts(svg: &str) -> Vec<(f64, String)> {
        svg.split("<text x=\"")
            .skip(1)
            .filter_map(|t| {
                let x = t.split('"').next()?.parse().ok()?;
                Some((x, t.split_once('>')?.1.split_once("</text>")?.0.trim().to_string()))
            })
            .collect()
    }

    #[test]
    fn legends_sit_beside_the_plot_and_ticks_have_no_spare_digits() {
        let series =
            |name: &str, y: f64| Series { name: name.into(), points: vec![(1000.0, y, y, y), (3000.0, y, y, y)] };
        let chart = MetricChart {
            title: "t".into(),
            unit: Unit::Count,
            x_label: "x".into(),
            y_label: "y".into(),
            categories: None,
            series: vec![series("validation.threshold=2.5", 1.0), series("validation.threshold=3.0", 2.0)],
        };
        let (width, _) = chart.size();
        assert!(width > SIZE.0, "the legend adds a column: the plot keeps its width");
        let svg = String::from_utf8(render("c", &chart)[0].1.clone()).unwrap();
        let texts = texts(&svg);
        for label in ["validation.threshold=2.5", "validation.threshold=3.0"] {
            let (x, _) = texts.iter().find(|(_, t)| t == label).unwrap_or_else(|| panic!("{label} missing"));
            assert!(*x >= SIZE.0 as f64, "{label} at x = {x}: inside the plot");
        }
        assert!(texts.iter().any(|(_, t)| t == "2000") && !texts.iter().any(|(_, t)| t == "2000.0"), "{texts:?}");
        assert_eq!(
            (tick(1000.0), tick(2.5), tick(0.30000000000000004), tick(-0.0)),
            ("1000".into(), "2.5".into(), "0.3".into(), "0".into())
        );
        let alone = MetricChart { series: vec![series("", 1.0)], ..chart };
        assert_eq!(alone.size(), SIZE, "one unnamed series needs no legend");
    }

    #[test]
    fn labels_are_placed_where_they_cover_no_other_label_or_point() {
        // Two points 4 px apart: the second label goes elsewhere than the first.
        let anchors = [(100, 100), (100, 104), (300, 100)];
        let sizes = [(40, 14), (40, 14), (40, 14)];
        let places = place_labels(&anchors, &sizes, (0, 0, 1000, 1000));
        let boxes: Vec<(i32, i32, i32, i32)> =
            places.iter().zip(&sizes).map(|(&(x, y), &(w, h))| (x, y, x + w as i32, y + h as i32)).collect();
        for (i, a) in boxes.iter().enumerate() {
            for b in &boxes[i + 1..] {
                assert!(a.2 <= b.0 || b.2 <= a.0 || a.3 <= b.1 || b.3 <= a.1, "{a:?} overlaps {b:?}");
            }
            for &(x, y) in &anchors {
                assert!(
                    !(a.0 < x + 8 && x - 8 < a.2 && a.1 < y + 8 && y - 8 < a.3),
                    "{a:?} covers the point at {x},{y}"
                );
            }
        }
        // At the right edge the label goes to the left.
        let edge = place_labels(&[(995, 500)], &[(40, 14)], (0, 0, 1000, 1000));
        assert!(edge[0].0 + 40 <= 1000, "{edge:?}");
    }

    #[test]
    fn a_proportion_axis_stays_within_0_and_1_and_a_count_above_0() {
        assert_eq!(bounded((0.981, 1.0), Unit::Fraction), (0.9, 1.0));
        assert_eq!(bounded((-0.2, 1.3), Unit::Fraction), (-0.02, 1.02));
        assert_eq!(bounded((-0.3, 5.0), Unit::Count), (0.0, 5.0));
        assert_eq!(bounded((2.0, 5.0), Unit::Micros), (2.0, 5.0));
        assert_eq!(key_name("mitigations.breaker.failure_threshold"), "breaker.failure_threshold");
        assert_eq!(key_name("horizon"), "horizon");
    }
}
