//! Timing recipe (a measurement, not a test): one training epoch of FreTS at the paper's
//! short-term shape on CPU (D = 32, window 96, horizon 24, one channel, batch 32, 10,000
//! windows), with the paper's head width (256) on one thread and on all cores, and a narrow head
//! (8) to show the spectral part's share. Referenced from docs/forecasting.md.
//!
//! ```text
//! cargo run --release -p mlp --example frets_epoch_time
//! ```

use mlp::architectures::{Arch, ArchConfig, SequenceLayout};
use mlp::data::{Dataset, Targets};
use mlp::estimator::MlpBuilder;
use mlp::rng::Rng;
use mlp::train::ValidationSplit;

/// `channels` series of `len` steps: two sines per channel (periods 24 and 10) plus Gaussian
/// noise; row-major `channels x len`.
fn two_sines(channels: usize, len: usize, noise: f32, seed: u64) -> Vec<f32> {
    let mut rng = Rng::seed_from(seed);
    let mut out = Vec::with_capacity(channels * len);
    for c in 0..channels {
        let (p1, p2) = (
            rng.uniform() * std::f32::consts::TAU,
            rng.uniform() * std::f32::consts::TAU,
        );
        let a2 = 0.4 + 0.2 * c as f32;
        for t in 0..len {
            let t = t as f32;
            out.push(
                (std::f32::consts::TAU * t / 24.0 + p1).sin()
                    + a2 * (std::f32::consts::TAU * t / 10.0 + p2).sin()
                    + noise * rng.normal(),
            );
        }
    }
    out
}

/// Sliding windows in [`SequenceLayout`] rows (no exog), as a regression data set.
fn windows(
    series: &[f32],
    len: usize,
    layout: SequenceLayout,
    rows: usize,
) -> mlp::Result<Dataset> {
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for s in 0..rows {
        for c in 0..layout.channels {
            x.extend_from_slice(&series[c * len + s..c * len + s + layout.window]);
        }
        for c in 0..layout.channels {
            let f = c * len + s + layout.window;
            y.extend_from_slice(&series[f..f + layout.horizon]);
        }
    }
    Dataset::new(
        x,
        layout.inputs(),
        Targets::Values {
            values: y,
            n_outputs: layout.outputs(),
        },
    )
}

fn main() -> mlp::Result<()> {
    let layout = SequenceLayout {
        channels: 1,
        window: 96,
        exog: 0,
        horizon: 24,
    };
    let rows = 10_000;
    let len = rows + layout.window + layout.horizon - 1;
    let series = two_sines(1, len, 0.1, 3);
    let data = windows(&series, len, layout, rows)?;
    // (head width, threads): 0 threads means all cores.
    for (hidden, threads) in [(256, 1), (256, 0), (8, 1)] {
        let spec = ArchConfig {
            arch: Arch::Frets,
            widths: vec![hidden],
            embed_dim: 32,
            ..ArchConfig::default()
        }
        .forecaster_spec(layout)?;
        let t = std::time::Instant::now();
        let model = MlpBuilder::regressor()
            .epochs(1)
            .batch_size(32)
            .lr(1e-3)
            .weight_decay(0.0)
            .validation(ValidationSplit::None)
            .patience(None)
            .seed(5)
            .threads(threads)
            .layers(spec.layers.clone())
            .fit(&data)?;
        println!(
            "FreTS epoch, head hidden {hidden}, {} params, {rows} windows, threads {threads}: {:.2} s",
            model.network().n_params(),
            t.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
