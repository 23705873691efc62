//! Plots: training curves (`mlp train --plot`), parameter count against validation metric
//! (`mlp sweep --plot`), accuracy against epsilon (`mlp attack --plot`), per-layer relative error
//! (`mlp lsa --plot`), reach sets (`mlp reach --plot`) and forecasts (`mlp forecast ... --plot`),
//! drawn with plotters as SVG or PNG (chosen by the file extension). PNG text
//! (and the layout of SVG labels) uses the DejaVu Sans font compiled into the binary (`assets/`, its license beside it), so no
//! system fonts are needed.

use anyhow::{Result, bail};
use mlp::train::EpochRecord;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

type DrawResult = std::result::Result<(), Box<dyn std::error::Error>>;

static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// Checks that a plot path names an SVG or PNG file that can be written (before any work is
/// done).
pub fn check_svg(path: &Path) -> Result<()> {
    match path.extension().and_then(|e| e.to_str()) {
        Some(e) if e.eq_ignore_ascii_case("svg") || e.eq_ignore_ascii_case("png") => {}
        _ => bail!(
            "{}: plots are written as SVG or PNG; give a file name ending in .svg or .png",
            path.display()
        ),
    }
    crate::output::check_writable("--plot", path)
}

/// A drawing error as one line. The backends wrap I/O failures several layers deep
/// (`ImageError(IoError(Os { .. }))` in their text), so when the file cannot be opened for
/// writing, that reason is the message.
fn draw_error(path: &Path, e: &dyn std::error::Error) -> anyhow::Error {
    if let Err(io) = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
    {
        return anyhow::anyhow!(
            "cannot write the plot {}: {}",
            path.display(),
            crate::output::io_reason(&io)
        );
    }
    let text = e.to_string();
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    anyhow::anyhow!("drawing the plot {} failed: {line}", path.display())
}

fn is_png(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("png"))
}

fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // A failure leaves PNG text undrawn; the embedded font is known to parse.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

/// Draws `$draw(area, args...)` into `path` on the PNG or SVG backend its extension names, with
/// the embedded font registered; errors name the file.
macro_rules! draw_to {
    ($path:expr, $size:expr, $draw:ident($($arg:expr),*)) => {{
        let path: &Path = $path;
        check_svg(path)?;
        register_font();
        let result = if is_png(path) {
            $draw(BitMapBackend::new(path, $size).into_drawing_area(), $($arg),*)
        } else {
            $draw(SVGBackend::new(path, $size).into_drawing_area(), $($arg),*)
        };
        result.map_err(|e| draw_error(path, e.as_ref()))
    }};
}

fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.05).max(1e-9);
    (lo - pad, hi + pad)
}

fn curves_on<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    history: &[EpochRecord],
    metric_name: &str,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(480);
    let epochs = history.len().max(2) as f64;
    let (lo, hi) = range(
        history
            .iter()
            .flat_map(|r| [Some(r.train_loss), r.val_loss])
            .flatten(),
    );
    let mut chart = ChartBuilder::on(&left)
        .caption("loss", ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(32)
        .y_label_area_size(52)
        .build_cartesian_2d(1f64..epochs, lo..hi)?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .x_label_formatter(&|v| format!("{}", v.round() as u64))
        .draw()?;
    let train: Vec<(f64, f64)> = history
        .iter()
        .map(|r| (r.epoch as f64, r.train_loss))
        .collect();
    chart
        .draw_series(LineSeries::new(train, &BLUE))?
        .label("train")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLUE));
    let val: Vec<(f64, f64)> = history
        .iter()
        .filter_map(|r| r.val_loss.map(|v| (r.epoch as f64, v)))
        .collect();
    if !val.is_empty() {
        chart
            .draw_series(LineSeries::new(val, &RED))?
            .label("validation")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], RED));
    }
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE)
        .draw()?;
    let metric: Vec<(f64, f64)> = history
        .iter()
        .filter_map(|r| r.val_metric.map(|m| (r.epoch as f64, m)))
        .collect();
    let (lo, hi) = range(metric.iter().map(|p| p.1));
    let mut chart = ChartBuilder::on(&right)
        .caption(format!("validation {metric_name}"), ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(32)
        .y_label_area_size(52)
        .build_cartesian_2d(1f64..epochs, lo..hi)?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .x_label_formatter(&|v| format!("{}", v.round() as u64))
        .draw()?;
    chart.draw_series(LineSeries::new(metric, &RED))?;
    root.present()?;
    Ok(())
}

/// Loss (train and validation) and the validation metric per epoch, side by side.
pub fn training_curves(path: &Path, history: &[EpochRecord], metric_name: &str) -> Result<()> {
    draw_to!(path, (960, 400), curves_on(history, metric_name))
}

/// One point of a sweep: its series name, parameter count and metric.
pub struct SweepPoint {
    /// Series (architecture) name.
    pub series: String,
    /// Trainable parameters.
    pub params: usize,
    /// Validation metric.
    pub metric: f64,
}

fn pareto_on<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    points: &[SweepPoint],
    metric_name: &str,
    frontier: &[(usize, f64)],
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let pmin = points.iter().map(|p| p.params).min().unwrap_or(1).max(1) as f64;
    let pmax = points.iter().map(|p| p.params).max().unwrap_or(10).max(2) as f64;
    let (lo, hi) = range(points.iter().map(|p| p.metric));
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("validation {metric_name} against parameters"),
            ("sans-serif", 18),
        )
        .margin(14)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d((pmin * 0.8..pmax * 1.25).log_scale(), lo..hi)?;
    chart
        .configure_mesh()
        .x_desc("parameters")
        .y_desc(metric_name)
        .x_labels(6)
        .x_label_formatter(&|v| format!("{}", v.round() as u64))
        .light_line_style(WHITE)
        .draw()?;
    let mut names: Vec<&str> = points.iter().map(|p| p.series.as_str()).collect();
    names.sort();
    names.dedup();
    for (i, name) in names.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let mut series: Vec<(f64, f64)> = points
            .iter()
            .filter(|p| p.series == *name)
            .map(|p| (p.params as f64, p.metric))
            .collect();
        series.sort_by(|a, b| a.0.total_cmp(&b.0));
        chart.draw_series(
            series
                .iter()
                .map(|&(x, y)| Circle::new((x, y), 4, color.filled())),
        )?;
        chart
            .draw_series(LineSeries::new(series, color))?
            .label(*name)
            .legend(move |(x, y)| Circle::new((x + 8, y), 4, color.filled()));
    }
    let front: Vec<(f64, f64)> = frontier.iter().map(|&(p, m)| (p as f64, m)).collect();
    chart.draw_series(DashedLineSeries::new(front, 6, 4, BLACK.stroke_width(1)))?;
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE)
        .draw()?;
    root.present()?;
    Ok(())
}

/// Parameter count (log scale) against the metric, one colour per series, with the Pareto
/// frontier (best metric at each budget) drawn as a dashed black line.
pub fn pareto(
    path: &Path,
    points: &[SweepPoint],
    metric_name: &str,
    frontier: &[(usize, f64)],
) -> Result<()> {
    draw_to!(path, (800, 500), pareto_on(points, metric_name, frontier))
}

fn robustness_on<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    points: &[(f64, f64, f64)],
    what: &str,
    title: &str,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let (x_lo, x_hi) = range(points.iter().map(|p| p.0));
    let (lo, hi) = range(points.iter().flat_map(|p| [p.1, p.2]));
    let mut chart = ChartBuilder::on(&root)
        .caption(format!("{what} under {title}"), ("sans-serif", 18))
        .margin(14)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(x_lo..x_hi, lo..hi)?;
    chart
        .configure_mesh()
        .x_desc("epsilon")
        .y_desc(what)
        .draw()?;
    let clean: Vec<(f64, f64)> = points.iter().map(|p| (p.0, p.1)).collect();
    let adv: Vec<(f64, f64)> = points.iter().map(|p| (p.0, p.2)).collect();
    chart
        .draw_series(LineSeries::new(clean, BLUE.stroke_width(1)))?
        .label("clean")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLUE));
    chart.draw_series(
        adv.iter()
            .map(|&(x, y)| Circle::new((x, y), 4, RED.filled())),
    )?;
    chart
        .draw_series(LineSeries::new(adv, RED.stroke_width(2)))?
        .label("attacked")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], RED));
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE)
        .draw()?;
    root.present()?;
    Ok(())
}

/// Clean and attacked accuracy (or MSE) against epsilon; `points` are `(eps, clean, attacked)`.
pub fn robustness_curve(
    path: &Path,
    points: &[(f64, f64, f64)],
    what: &str,
    title: &str,
) -> Result<()> {
    draw_to!(path, (800, 500), robustness_on(points, what, title))
}

fn layer_errors_on<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    bars: &[(String, f64, bool)],
    title: &str,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let n = bars.len().max(1) as f64;
    let hi = bars
        .iter()
        .map(|b| b.1)
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max)
        .max(1e-9)
        * 1.1;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("layer relative error ({title}); red: MVL"),
            ("sans-serif", 18),
        )
        .margin(14)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(0f64..n, 0f64..hi)?;
    let labels: Vec<String> = bars.iter().map(|b| b.0.clone()).collect();
    chart
        .configure_mesh()
        .x_labels(bars.len().max(1))
        .x_label_formatter(&|v| {
            let i = v.floor() as usize;
            labels.get(i).cloned().unwrap_or_default()
        })
        .y_desc("RE")
        .draw()?;
    chart.draw_series(bars.iter().enumerate().map(|(i, b)| {
        let color = if b.2 { RED } else { BLUE };
        let top = if b.1.is_finite() { b.1 } else { hi };
        Rectangle::new(
            [(i as f64 + 0.15, 0.0), (i as f64 + 0.85, top)],
            color.filled(),
        )
    }))?;
    root.present()?;
    Ok(())
}

/// One bar per analysed layer: `(label, relative error, in the MVL)`.
pub fn layer_errors(path: &Path, bars: &[(String, f64, bool)], title: &str) -> Result<()> {
    draw_to!(path, (800, 450), layer_errors_on(bars, title))
}

fn reach_on<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    boxes: &[[f64; 4]],
    trajectories: &[Vec<(f64, f64)>],
    d_safe: f64,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let (x0, x1) = range(
        boxes
            .iter()
            .flat_map(|b| [b[0], b[1]])
            .chain(trajectories.iter().flatten().map(|p| p.0))
            .chain([d_safe - 1.0]),
    );
    let (y0, y1) = range(
        boxes
            .iter()
            .flat_map(|b| [b[2], b[3]])
            .chain(trajectories.iter().flatten().map(|p| p.1)),
    );
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "reach sets (boxes), simulated trajectories, unsafe gap (red)",
            ("sans-serif", 18),
        )
        .margin(14)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    chart
        .configure_mesh()
        .x_desc("gap d (m)")
        .y_desc("relative speed v (m/s)")
        .light_line_style(WHITE)
        .draw()?;
    chart.draw_series(std::iter::once(Rectangle::new(
        [(x0, y0), (d_safe.max(x0), y1)],
        RED.mix(0.25).filled(),
    )))?;
    chart.draw_series(
        boxes
            .iter()
            .map(|b| Rectangle::new([(b[0], b[2]), (b[1], b[3])], BLUE.mix(0.6).stroke_width(1))),
    )?;
    for t in trajectories {
        chart.draw_series(LineSeries::new(t.iter().copied(), BLACK.mix(0.3)))?;
    }
    root.present()?;
    Ok(())
}

/// Closed-loop reach boxes (`[d_lo, d_hi, v_lo, v_hi]` per step) over simulated trajectories in
/// the gap / relative-speed plane, with the unsafe region `d <= d_safe` shaded.
pub fn reach_sets(
    path: &Path,
    boxes: &[[f64; 4]],
    trajectories: &[Vec<(f64, f64)>],
    d_safe: f64,
) -> Result<()> {
    draw_to!(path, (800, 560), reach_on(boxes, trajectories, d_safe))
}

/// One series of a forecast plot: the recent history, the forecast and its interval.
pub struct ForecastPlot<'a> {
    /// Plot title.
    pub title: String,
    /// History as `(x, value)`.
    pub history: &'a [(f64, f64)],
    /// Forecast as `(x, value)`.
    pub forecast: &'a [(f64, f64)],
    /// Interval as `(x, lower, upper)` (may be empty).
    pub interval: &'a [(f64, f64, f64)],
    /// Label of the interval in the legend.
    pub interval_label: String,
    /// Writes an x value as a time label.
    pub x_label: &'a dyn Fn(f64) -> String,
}

fn forecast_on<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, p: &ForecastPlot) -> DrawResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let (x0, x1) = range(
        p.history
            .iter()
            .chain(p.forecast)
            .map(|q| q.0)
            .chain(p.interval.iter().map(|q| q.0)),
    );
    let (lo, hi) = range(
        p.history
            .iter()
            .chain(p.forecast)
            .map(|q| q.1)
            .chain(p.interval.iter().flat_map(|q| [q.1, q.2])),
    );
    let mut chart = ChartBuilder::on(&root)
        .caption(&p.title, ("sans-serif", 18))
        .margin(14)
        .x_label_area_size(36)
        .y_label_area_size(60)
        .build_cartesian_2d(x0..x1, lo..hi)?;
    chart
        .configure_mesh()
        .x_labels(7)
        .x_label_formatter(&|v| (p.x_label)(*v))
        .light_line_style(WHITE)
        .draw()?;
    if !p.interval.is_empty() {
        let band = RGBColor(255, 160, 122).mix(0.35);
        let mut poly: Vec<(f64, f64)> = p.interval.iter().map(|q| (q.0, q.2)).collect();
        poly.extend(p.interval.iter().rev().map(|q| (q.0, q.1)));
        chart
            .draw_series(std::iter::once(Polygon::new(poly, band.filled())))?
            .label(p.interval_label.clone())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 18, y + 5)], band.filled()));
    }
    chart
        .draw_series(LineSeries::new(p.history.iter().copied(), &BLUE))?
        .label("history")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLUE));
    // Join the forecast to the last observation so the line is continuous.
    let joined: Vec<(f64, f64)> = p
        .history
        .last()
        .into_iter()
        .copied()
        .chain(p.forecast.iter().copied())
        .collect();
    chart
        .draw_series(LineSeries::new(joined, RED.stroke_width(2)))?
        .label("forecast")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], RED));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .border_style(BLACK)
        .background_style(WHITE)
        .draw()?;
    root.present()?;
    Ok(())
}

/// History, forecast and prediction interval of one series.
pub fn forecast(path: &Path, plot: &ForecastPlot) -> Result<()> {
    draw_to!(path, (900, 450), forecast_on(plot))
}

fn reliability_on<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    bins: &[mlp::metrics::ReliabilityBin],
    ece: f64,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let (top, bottom) = root.split_vertically(380);
    let mut chart = ChartBuilder::on(&top)
        .caption(
            format!("reliability diagram (ECE {ece:.4})"),
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(28)
        .y_label_area_size(52)
        .build_cartesian_2d(0f64..1f64, 0f64..1f64)?;
    chart
        .configure_mesh()
        .y_desc("accuracy")
        .light_line_style(WHITE)
        .draw()?;
    chart
        .draw_series(LineSeries::new(
            [(0.0, 0.0), (1.0, 1.0)],
            BLACK.mix(0.5).stroke_width(1),
        ))?
        .label("perfect calibration")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLACK.mix(0.5)));
    chart
        .draw_series(bins.iter().filter(|b| b.count > 0).map(|b| {
            Rectangle::new(
                [(b.lower, 0.0), (b.upper, b.accuracy)],
                BLUE.mix(0.6).filled(),
            )
        }))?
        .label("accuracy per confidence bin")
        .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 18, y + 5)], BLUE.mix(0.6).filled()));
    chart
        .draw_series(
            bins.iter()
                .filter(|b| b.count > 0)
                .map(|b| Circle::new((b.confidence, b.accuracy), 3, RED.filled())),
        )?
        .label("(mean confidence, accuracy)")
        .legend(|(x, y)| Circle::new((x + 9, y), 3, RED.filled()));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .border_style(BLACK)
        .background_style(WHITE)
        .draw()?;
    let most = bins.iter().map(|b| b.count).max().unwrap_or(1).max(1) as f64;
    let mut counts = ChartBuilder::on(&bottom)
        .margin(12)
        .x_label_area_size(32)
        .y_label_area_size(52)
        .build_cartesian_2d(0f64..1f64, 0f64..most * 1.05)?;
    counts
        .configure_mesh()
        .x_desc("confidence (top-class probability)")
        .y_desc("rows")
        .y_label_formatter(&|v| format!("{}", v.round() as u64))
        .light_line_style(WHITE)
        .draw()?;
    counts.draw_series(bins.iter().filter(|b| b.count > 0).map(|b| {
        Rectangle::new(
            [(b.lower, 0.0), (b.upper, b.count as f64)],
            BLACK.mix(0.4).filled(),
        )
    }))?;
    root.present()?;
    Ok(())
}

/// A reliability diagram (`mlp eval --plot`): accuracy per confidence bin against the diagonal,
/// the bins' mean confidence, and below it the number of rows per bin.
pub fn reliability_diagram(
    path: &Path,
    bins: &[mlp::metrics::ReliabilityBin],
    ece: f64,
) -> Result<()> {
    draw_to!(path, (640, 560), reliability_on(bins, ece))
}

// After `draw_to!`, which it uses.
pub mod analyze;
