//! Layer Sustainability Analysis (LSA, Khalooei et al. 2022): how much each hidden layer's output
//! moves when the input is perturbed, and which layers move most (the Most Vulnerable Layers).
//!
//! For top-level layer `l` with output `h_l`, the relative error between a clean batch `x` and a
//! perturbed batch `x'` is
//!
//! ```text
//! RE_l = ||h_l(x') - h_l(x)||_F / ||h_l(x)||_F
//! ```
//!
//! with the Frobenius norm over the whole `batch x width` tensor (as the LSA code does), averaged
//! over batches. The analysed layers are the top-level layers except the output layer and dropout
//! layers (whose inference output equals their input); a dense layer's output is taken after its
//! fused activation, which is where the LSA code hooks.
//!
//! # Most Vulnerable Layers
//! [`MvlRule::MeanPlusStd`] (the default) picks the layers whose RE exceeds the mean plus one
//! (population) standard deviation of the analysed layers' REs; when none does (e.g. with two
//! layers, where mean + std equals the maximum) it picks the single layer with the largest RE, so
//! the list is never empty. [`MvlRule::TopK`] picks the `k` largest.

use super::attack::{Threat, attack};
use crate::kernels::Real;
use crate::layers::{GradMode, Layer};
use crate::loss::BatchTargets;
use crate::network::{Network, Workspace};
use crate::rng::Rng;
use crate::{Error, Result};
use serde::Serialize;

/// One analysed layer and its relative error.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LayerError {
    /// Top-level layer index (as in `layers.{i}.weight`).
    pub index: usize,
    /// Layer kind (`dense`, `batch_norm`, ...).
    pub kind: &'static str,
    /// Output width.
    pub width: usize,
    /// Mean relative error over batches.
    pub relative_error: f64,
}

/// How the Most Vulnerable Layers are chosen from the relative errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MvlRule {
    /// RE above mean + 1 std of all analysed layers' REs (at least the largest one).
    #[default]
    MeanPlusStd,
    /// The `k` layers with the largest RE.
    TopK(usize),
}

/// The result of an analysis.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct LsaReport {
    /// Per analysed layer, in network order.
    pub layers: Vec<LayerError>,
    /// Most Vulnerable Layers (top-level indices, ascending).
    pub mvl: Vec<usize>,
}

/// Top-level layers the analysis looks at: all but the output layer and dropout layers.
pub fn analysed_layers(net: &Network) -> Vec<usize> {
    let n = net.layers().len();
    (0..n.saturating_sub(1))
        .filter(|&i| !matches!(net.layers()[i], Layer::Dropout(_)))
        .collect()
}

/// `||perturbed - clean||_2 / ||clean||_2` over whole tensors (0 when both are equal, including
/// an all-zero clean tensor; infinite when only the clean tensor is zero).
pub fn relative_error<T: Real>(clean: &[T], perturbed: &[T]) -> f64 {
    let (mut diff, mut base) = (0.0f64, 0.0f64);
    for (&c, &p) in clean.iter().zip(perturbed) {
        let (c, p) = (c.to_f64_lossless(), p.to_f64_lossless());
        diff += (p - c) * (p - c);
        base += c * c;
    }
    if diff == 0.0 {
        0.0
    } else if base == 0.0 {
        f64::INFINITY
    } else {
        (diff / base).sqrt()
    }
}

/// Adds `scale * dRE/d(perturbed)` to `d_perturbed` and returns RE, with the clean tensor held
/// constant (stop-gradient): `dRE/dh' = (h' - h) / (||h' - h|| ||h||)`. Where `h' = h` (or `h` is
/// zero) the gradient is taken as 0.
pub fn add_relative_error_grad<T: Real>(
    clean: &[T],
    perturbed: &[T],
    scale: f64,
    d_perturbed: &mut [T],
) -> f64 {
    let (mut diff, mut base) = (0.0f64, 0.0f64);
    for (&c, &p) in clean.iter().zip(perturbed) {
        let (c, p) = (c.to_f64_lossless(), p.to_f64_lossless());
        diff += (p - c) * (p - c);
        base += c * c;
    }
    if diff == 0.0 || base == 0.0 {
        return if diff == 0.0 { 0.0 } else { f64::INFINITY };
    }
    let (dn, bn) = (diff.sqrt(), base.sqrt());
    let k = scale / (dn * bn);
    for ((d, &c), &p) in d_perturbed.iter_mut().zip(clean).zip(perturbed) {
        *d = *d + T::of(k * (p.to_f64_lossless() - c.to_f64_lossless()));
    }
    dn / bn
}

/// Mean per-layer relative error between `clean` and `perturbed` inputs (`rows x inputs`,
/// network units), over batches of `batch_size` rows, on the inference function.
pub fn layer_relative_errors(
    net: &Network,
    clean: &[f32],
    perturbed: &[f32],
    rows: usize,
    batch_size: usize,
) -> Result<Vec<LayerError>> {
    let n = net.inputs();
    if clean.len() != rows * n || perturbed.len() != rows * n {
        return Err(Error::shape("lsa input", rows * n, clean.len()));
    }
    if rows == 0 {
        return Err(Error::InvalidData("LSA needs at least one sample".into()));
    }
    let net = net.with_grad_mode(GradMode::Eval);
    let layers = analysed_layers(&net);
    let batch = batch_size.clamp(1, rows);
    let mut sums = vec![0.0f64; layers.len()];
    let mut batches = 0usize;
    let (mut ws_clean, mut ws_adv) = (Workspace::new(), Workspace::new());
    let mut rng = Rng::seed_from(0);
    let mut start = 0;
    while start < rows {
        let b = batch.min(rows - start);
        let range = start * n..(start + b) * n;
        net.forward_train(
            &net.params,
            &clean[range.clone()],
            b,
            &mut ws_clean,
            &mut rng,
        );
        net.forward_train(&net.params, &perturbed[range], b, &mut ws_adv, &mut rng);
        for (s, &l) in sums.iter_mut().zip(&layers) {
            *s += relative_error(
                ws_clean.layer_output(&net, l, b),
                ws_adv.layer_output(&net, l, b),
            );
        }
        batches += 1;
        start += b;
    }
    Ok(layers
        .iter()
        .zip(sums)
        .map(|(&l, s)| LayerError {
            index: l,
            kind: net.layers()[l].kind(),
            width: net.layers()[l].out_features(),
            relative_error: s / batches as f64,
        })
        .collect())
}

/// The Most Vulnerable Layers under `rule` (top-level indices, ascending).
pub fn most_vulnerable(layers: &[LayerError], rule: MvlRule) -> Vec<usize> {
    if layers.is_empty() {
        return Vec::new();
    }
    let mut by_error: Vec<&LayerError> = layers.iter().collect();
    by_error.sort_by(|a, b| b.relative_error.total_cmp(&a.relative_error));
    let mut picked: Vec<usize> = match rule {
        MvlRule::TopK(k) => by_error.iter().take(k.max(1)).map(|l| l.index).collect(),
        MvlRule::MeanPlusStd => {
            let m = layers.len() as f64;
            let mean = layers.iter().map(|l| l.relative_error).sum::<f64>() / m;
            let var = layers
                .iter()
                .map(|l| (l.relative_error - mean).powi(2))
                .sum::<f64>()
                / m;
            let threshold = mean + var.sqrt();
            let above: Vec<usize> = layers
                .iter()
                .filter(|l| l.relative_error > threshold)
                .map(|l| l.index)
                .collect();
            if above.is_empty() {
                vec![by_error[0].index]
            } else {
                above
            }
        }
    };
    picked.sort_unstable();
    picked
}

/// Attacks `x` (`rows x inputs`, network units) with `config` and measures every analysed layer's
/// relative error between clean and attacked inputs, then picks the MVL by `rule`.
pub fn analyze(
    net: &Network,
    x: &[f32],
    rows: usize,
    targets: BatchTargets<'_>,
    threat: Threat<'_>,
    batch_size: usize,
    rule: MvlRule,
) -> Result<LsaReport> {
    let Threat {
        loss,
        space,
        config,
    } = threat;
    let adv = attack(net, x, rows, targets, loss, space, config)?;
    let layers = layer_relative_errors(net, x, &adv, rows, batch_size)?;
    let mvl = most_vulnerable(&layers, rule);
    Ok(LsaReport { layers, mvl })
}
