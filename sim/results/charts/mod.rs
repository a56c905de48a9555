//! Charts as SVG and PNG bytes, drawn with plotters: the frame, legend,
//! palette and encoding every chart shares. `sweep` draws a sweep's
//! charts, `timeline` a replayed run's. Text is drawn with an embedded
//! DejaVu Sans (no system fonts needed); the same inputs give the same
//! bytes.

mod sweep;
mod timeline;

pub use sweep::{
    cost_metric, metric_chart, pareto_front, sweep_charts, ContainmentCdf, MetricChart, Pareto, ParetoChart, Series,
};
pub use timeline::{timeline, Timeline, TIMELINE_AGENTS};

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

#[cfg(test)]
mod tests {
    use super::*;

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
