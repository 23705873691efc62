//! Plots of `mlp analyze` and `mlp importance`: a layer's empirical spectral density with its
//! power-law fit, correlation matrices before and after neuron matching, and importance bars.

use super::{DrawResult, check_svg, draw_error, is_png, register_font};
use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// What one ESD plot shows.
pub struct EsdPlot<'a> {
    /// Layer name (the title).
    pub name: &'a str,
    /// Eigenvalues (any order; non-positive ones are left out of the log axes).
    pub eigenvalues: &'a [f64],
    /// The fit: `(alpha, xmin, num_tail)`.
    pub fit: Option<(f64, f64, usize)>,
    /// Marchenko-Pastur bulk edge.
    pub mp_edge: f64,
}

fn esd_on<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, p: &EsdPlot) -> DrawResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let logs: Vec<f64> = p
        .eigenvalues
        .iter()
        .filter(|v| **v > 0.0 && v.is_finite())
        .map(|v| v.log10())
        .collect();
    let n = logs.len().max(1);
    let lo = logs.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = logs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) = if lo.is_finite() && hi > lo {
        (lo, hi)
    } else {
        (-1.0, 1.0)
    };
    let bins = 40usize.min(n.max(4));
    let width = (hi - lo) / bins as f64;
    let mut counts = vec![0usize; bins];
    for &l in &logs {
        let b = (((l - lo) / width) as usize).min(bins - 1);
        counts[b] += 1;
    }
    // Density of lambda (not of log lambda): count / (n * bin width in lambda units).
    let density: Vec<(f64, f64)> = counts
        .iter()
        .enumerate()
        .filter(|(_, c)| **c > 0)
        .map(|(i, &c)| {
            let a = 10f64.powf(lo + i as f64 * width);
            let b = 10f64.powf(lo + (i + 1) as f64 * width);
            let mid = lo + (i as f64 + 0.5) * width;
            (mid, (c as f64 / (n as f64 * (b - a))).log10())
        })
        .collect();
    let mut line = Vec::new();
    if let Some((alpha, xmin, tail)) = p.fit {
        // The fitted density on the tail, weighted by the tail's share of all eigenvalues.
        let share = tail as f64 / n as f64;
        let steps = 50;
        let start = xmin.log10();
        for i in 0..=steps {
            let l = start + (hi - start) * i as f64 / steps as f64;
            let x = 10f64.powf(l);
            let pdf = share * (alpha - 1.0) / xmin * (x / xmin).powf(-alpha);
            line.push((l, pdf.log10()));
        }
    }
    let ys = density.iter().chain(&line).map(|p| p.1);
    let (ylo, yhi) = super::range(ys);
    let title = match p.fit {
        Some((alpha, xmin, tail)) => format!(
            "{}: alpha {alpha:.2}, xmin {xmin:.3}, {tail} in tail",
            p.name
        ),
        None => format!("{}: no power-law fit", p.name),
    };
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(lo - 0.05 * (hi - lo)..hi + 0.05 * (hi - lo), ylo..yhi)?;
    chart
        .configure_mesh()
        .x_desc("log10 eigenvalue of W^T W")
        .y_desc("log10 density")
        .light_line_style(WHITE)
        .draw()?;
    chart
        .draw_series(
            density
                .iter()
                .map(|&(x, y)| Circle::new((x, y), 3, BLUE.filled())),
        )?
        .label("ESD (log-binned)")
        .legend(|(x, y)| Circle::new((x + 9, y), 3, BLUE.filled()));
    if let Some((alpha, xmin, _)) = p.fit {
        chart
            .draw_series(LineSeries::new(line.clone(), RED.stroke_width(2)))?
            .label(format!("power law, alpha {alpha:.2}"))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], RED));
        let lx = xmin.log10();
        chart
            .draw_series(LineSeries::new(
                [(lx, ylo), (lx, yhi)],
                BLACK.mix(0.7).stroke_width(1),
            ))?
            .label("xmin")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLACK.mix(0.7)));
    }
    if p.mp_edge > 0.0 {
        let lx = p.mp_edge.log10();
        chart
            .draw_series(LineSeries::new(
                [(lx, ylo), (lx, yhi)],
                GREEN.mix(0.8).stroke_width(1),
            ))?
            .label("Marchenko-Pastur edge")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], GREEN.mix(0.8)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .border_style(BLACK)
        .background_style(WHITE)
        .draw()?;
    root.present()?;
    Ok(())
}

/// One layer's empirical spectral density on log-log axes, with the power-law fit and xmin.
pub fn esd(path: &Path, plot: &EsdPlot) -> Result<()> {
    draw_to!(path, (800, 520), esd_on(plot))
}

/// At most this many neurons per side are drawn (a larger layer shows its first ones).
const MAX_CELLS: usize = 128;

/// Correlation in [-1, 1] as blue (negative) - white - red (positive).
fn diverging(c: f64) -> RGBColor {
    let t = c.clamp(-1.0, 1.0);
    let fade = |v: f64| (255.0 * (1.0 - v.abs())) as u8;
    if t >= 0.0 {
        RGBColor(255, fade(t), fade(t))
    } else {
        RGBColor(fade(t), fade(t), 255)
    }
}

fn heatmap_on<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    rows: usize,
    cols: usize,
    value: &dyn Fn(usize, usize) -> f64,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 16))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(40)
        .build_cartesian_2d(0f64..cols as f64, rows as f64..0f64)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc("neuron of B")
        .y_desc("neuron of A")
        .draw()?;
    chart.draw_series((0..rows).flat_map(|i| {
        (0..cols).map(move |j| {
            Rectangle::new(
                [(j as f64, i as f64), (j as f64 + 1.0, i as f64 + 1.0)],
                diverging(value(i, j)).filled(),
            )
        })
    }))?;
    Ok(())
}

fn matching_on<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    l: &mlp::analyze::compare::LayerComparison,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let (p, q) = (l.widths[0], l.widths[1]);
    let (rows, cols) = (p.min(MAX_CELLS), q.min(MAX_CELLS));
    // After matching, B's neurons are reordered so that A's neuron i faces its partner.
    let mut order: Vec<usize> = Vec::with_capacity(q);
    for &(_, j, _) in &l.matching {
        order.push(j);
    }
    for j in 0..q {
        if !order.contains(&j) {
            order.push(j);
        }
    }
    let c = &l.correlation;
    let (left, right) = root.split_horizontally(root.dim_in_pixel().0 / 2);
    let shown = if p > MAX_CELLS || q > MAX_CELLS {
        format!(" (first {rows} x {cols})")
    } else {
        String::new()
    };
    heatmap_on(
        &left,
        &format!("{}: correlation before matching{shown}", l.name),
        rows,
        cols,
        &|i, j| c[i * q + j],
    )?;
    heatmap_on(
        &right,
        &format!(
            "after matching (mean matched {:.3}, CKA {:.3})",
            l.matched_correlation, l.cka
        ),
        rows,
        cols,
        &|i, j| c[i * q + order[j]],
    )?;
    root.present()?;
    Ok(())
}

/// A layer's neuron correlation matrix before and after one-to-one matching, side by side.
pub fn matching(path: &Path, layer: &mlp::analyze::compare::LayerComparison) -> Result<()> {
    draw_to!(path, (1100, 560), matching_on(layer))
}

fn importance_on<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    bars: &[mlp::analyze::importance::ColumnImportance],
    title: &str,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let n = bars.len().max(1) as f64;
    let hi = bars
        .iter()
        .map(|b| b.mean + b.std)
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max)
        .max(1e-9)
        * 1.1;
    let lo = bars
        .iter()
        .map(|b| b.mean - b.std)
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::min);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(14)
        .x_label_area_size(40)
        .y_label_area_size(64)
        .build_cartesian_2d(0f64..n, lo..hi)?;
    let labels: Vec<String> = bars.iter().map(|b| b.column.clone()).collect();
    chart
        .configure_mesh()
        .x_labels(bars.len().clamp(1, 30))
        .x_label_formatter(&|v| {
            let i = v.floor() as usize;
            labels.get(i).cloned().unwrap_or_default()
        })
        .y_desc("importance (mean +- std)")
        .draw()?;
    chart.draw_series(bars.iter().enumerate().map(|(i, b)| {
        Rectangle::new(
            [(i as f64 + 0.15, 0.0), (i as f64 + 0.85, b.mean)],
            BLUE.mix(0.7).filled(),
        )
    }))?;
    chart.draw_series(bars.iter().enumerate().map(|(i, b)| {
        let x = i as f64 + 0.5;
        PathElement::new(vec![(x, b.mean - b.std), (x, b.mean + b.std)], BLACK)
    }))?;
    root.present()?;
    Ok(())
}

/// One bar per input column (mean importance, std as an error bar).
pub fn importance(
    path: &Path,
    bars: &[mlp::analyze::importance::ColumnImportance],
    title: &str,
) -> Result<()> {
    draw_to!(path, (900, 480), importance_on(bars, title))
}
