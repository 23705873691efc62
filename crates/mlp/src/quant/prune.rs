//! Magnitude pruning with masked fine-tuning.
//!
//! - **Unstructured** (global): the `sparsity` fraction of all weight-matrix entries with the
//!   smallest magnitudes (over every layer at once; biases and normalization parameters are kept)
//!   is set to zero, then the network is fine-tuned with those entries held at zero: their
//!   gradients are masked before each Adam step and the entries re-zeroed after it.
//! - **Structured** (dense stacks): in every hidden dense layer the `sparsity` fraction of neurons
//!   with the smallest incoming-weight L2 norm (at least one neuron kept) is removed: masked (its
//!   incoming row, bias and outgoing column held at zero) through fine-tuning, then cut out of the
//!   layers, which shrink. The shrunk network computes the masked network's function (up to the
//!   order of floating-point sums).

use crate::data::{Dataset, Targets};
use crate::layers::{Layer, ParamKind};
use crate::loss::{BatchTargets, LossWeights};
use crate::model::Model;
use crate::network::{Network, Workspace};
use crate::optim::{OptimizerConfig, OptimizerState, Segment};
use crate::rng::Rng;
use crate::spec::LayerSpec;
use crate::{Error, Result};

/// Settings of [`Model::prune`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PruneConfig {
    /// Fraction of weights (unstructured) or of each hidden layer's neurons (structured) to
    /// remove, in `[0, 1)`.
    pub sparsity: f64,
    /// Fine-tuning epochs (0: prune only).
    pub epochs: usize,
    /// Adam learning rate of the fine-tuning.
    pub lr: f32,
    /// Rows per fine-tuning step.
    pub batch_size: usize,
    /// Seed of the fine-tuning's shuffles (and dropout masks).
    pub seed: u64,
    /// Remove whole hidden neurons and shrink the layers.
    pub structured: bool,
    /// Structured pruning by given scores instead of incoming-weight norms: per listed hidden
    /// dense layer (top-level index), one score per neuron; the `sparsity` fraction with the
    /// smallest scores is removed there, and unlisted layers keep every neuron (e.g. the Fourier
    /// IPR of [`crate::analyze::ipr`]).
    pub neuron_scores: Option<Vec<(usize, Vec<f64>)>>,
}

impl Default for PruneConfig {
    fn default() -> Self {
        PruneConfig {
            sparsity: 0.5,
            epochs: 5,
            lr: 1e-3,
            batch_size: 32,
            seed: 0,
            structured: false,
            neuron_scores: None,
        }
    }
}

impl PruneConfig {
    /// Unstructured pruning of `sparsity` with the default fine-tuning.
    pub fn new(sparsity: f64) -> Self {
        PruneConfig {
            sparsity,
            ..Self::default()
        }
    }

    /// Sets the fine-tuning epochs.
    pub fn with_epochs(mut self, epochs: usize) -> Self {
        self.epochs = epochs;
        self
    }

    /// Sets the fine-tuning learning rate.
    pub fn with_lr(mut self, lr: f32) -> Self {
        self.lr = lr;
        self
    }

    /// Sets the seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Structured (neuron) pruning when `true`.
    pub fn with_structured(mut self, structured: bool) -> Self {
        self.structured = structured;
        self
    }

    /// Structured pruning that removes, in each listed layer, the neurons with the smallest
    /// scores (see [`PruneConfig::neuron_scores`]).
    pub fn with_neuron_scores(mut self, scores: Vec<(usize, Vec<f64>)>) -> Self {
        self.structured = true;
        self.neuron_scores = Some(scores);
        self
    }

    fn check(&self) -> Result<()> {
        if !(0.0..1.0).contains(&self.sparsity) {
            return Err(Error::config(
                "sparsity",
                format!("must be in [0, 1), e.g. 0.5; got {}", self.sparsity),
            ));
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(Error::config(
                "lr",
                format!("must be positive, got {}", self.lr),
            ));
        }
        if self.batch_size == 0 {
            return Err(Error::config("batch_size", "must be at least 1"));
        }
        Ok(())
    }
}

/// What [`Model::prune`] did.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PruneReport {
    /// Weight entries that are zero after pruning, and all weight entries.
    pub zero_weights: (usize, usize),
    /// Structured: per hidden dense layer, (layer index, neurons before, neurons kept).
    pub neurons: Vec<(usize, usize, usize)>,
    /// Mean training loss of each fine-tuning epoch.
    pub epoch_losses: Vec<f64>,
}

/// Fraction of weight-matrix entries (tensors of kind weight or frozen weight matrices are
/// counted; biases are not) that are exactly zero: what pruning leaves.
pub fn weight_sparsity(net: &Network) -> f64 {
    let (zero, total) = zero_weights(net);
    if total == 0 {
        0.0
    } else {
        zero as f64 / total as f64
    }
}

fn zero_weights(net: &Network) -> (usize, usize) {
    let mut zero = 0;
    let mut total = 0;
    for t in net.tensors().iter().filter(|t| t.kind == ParamKind::Weight) {
        total += t.range.len();
        zero += net.params()[t.range.clone()]
            .iter()
            .filter(|&&w| w == 0.0)
            .count();
    }
    (zero, total)
}

impl Model {
    /// A pruned copy of this model, fine-tuned on `data` (encoded features and targets, as
    /// [`Model::evaluate`] takes them) with the pruned weights held at zero. See the module
    /// documentation for the two kinds.
    ///
    /// # Errors
    /// A sparsity outside `[0, 1)`, a malformed data set, an ensemble, an int8 model (prune the
    /// f32 model, then quantize), or for structured pruning a block other than dense and dropout.
    pub fn prune(&self, data: &Dataset, config: &PruneConfig) -> Result<(Model, PruneReport)> {
        config.check()?;
        data.validate()?;
        if self.network.int8().is_some() {
            return Err(Error::config(
                "prune",
                "this is an int8 model; prune the f32 model, then quantize it",
            ));
        }
        if self.ensemble_size() > 1 {
            return Err(Error::config(
                "prune",
                format!(
                    "this model is an ensemble of {} members; pruning takes a single network",
                    self.ensemble_size()
                ),
            ));
        }
        if data.n_features != self.n_features() {
            return Err(Error::shape(
                "prune",
                format!("{} features (as the model)", self.n_features()),
                format!("{} features", data.n_features),
            ));
        }
        let mut net = self.network.clone();
        let (keep, neurons) = if config.structured {
            neuron_mask(&net, config.sparsity, config.neuron_scores.as_deref())?
        } else {
            (magnitude_mask(&net, config.sparsity), Vec::new())
        };
        apply_mask(&mut net.params, &keep);
        let mut x = data.features.clone();
        self.scaler.apply(&mut x);
        let epoch_losses = fine_tune(&mut net, &keep, &x, data, self, config)?;
        let widths = neurons
            .iter()
            .map(|(i, kept)| (*i, net.layers()[*i].out_features(), kept.len()))
            .collect();
        if config.structured {
            net = shrink(&net, &neurons)?;
        }
        let report = PruneReport {
            zero_weights: zero_weights(&net),
            neurons: widths,
            epoch_losses,
        };
        let mut model = self.clone();
        model.network = net;
        Ok((model, report))
    }
}

fn apply_mask(params: &mut [f32], keep: &[bool]) {
    for (p, &k) in params.iter_mut().zip(keep) {
        if !k {
            *p = 0.0;
        }
    }
}

/// Global magnitude mask: `false` for the `sparsity` fraction of weight entries with the
/// smallest magnitude (ties broken by position, so the mask is deterministic).
fn magnitude_mask(net: &Network, sparsity: f64) -> Vec<bool> {
    let mut keep = vec![true; net.n_params()];
    let idx: Vec<usize> = net
        .tensors()
        .iter()
        .filter(|t| t.kind == ParamKind::Weight)
        .flat_map(|t| t.range.clone())
        .collect();
    let k = ((sparsity * idx.len() as f64).round() as usize).min(idx.len());
    let p = net.params();
    let mut order = idx;
    order.sort_by(|&a, &b| p[a].abs().total_cmp(&p[b].abs()).then(a.cmp(&b)));
    for &i in &order[..k] {
        keep[i] = false;
    }
    keep
}

/// The dense layers of a dense (and dropout) stack, or an error naming another block.
fn dense_layers(net: &Network) -> Result<Vec<usize>> {
    let mut dense = Vec::new();
    for (i, layer) in net.layers().iter().enumerate() {
        match layer {
            Layer::Dense(_) => dense.push(i),
            Layer::Dropout(_) => {}
            other => {
                return Err(Error::config(
                    "structured",
                    format!(
                        "structured pruning supports dense layers; this model has {} (layers.{i})",
                        other.kind()
                    ),
                ));
            }
        }
    }
    Ok(dense)
}

/// A parameter mask and, per hidden dense layer, its index and the neurons it keeps.
type NeuronMask = (Vec<bool>, Vec<(usize, Vec<usize>)>);

/// Structured mask: per hidden dense layer, the neurons to keep (largest incoming-weight L2
/// norms, in index order), and the mask zeroing the others' incoming rows, biases and outgoing
/// columns.
fn neuron_mask(
    net: &Network,
    sparsity: f64,
    scores: Option<&[(usize, Vec<f64>)]>,
) -> Result<NeuronMask> {
    let dense = dense_layers(net)?;
    let mut keep = vec![true; net.n_params()];
    let mut kept_per_layer = Vec::new();
    for pair in dense.windows(2) {
        let (i, next) = (pair[0], pair[1]);
        let (Layer::Dense(d), Layer::Dense(dn)) = (&net.layers()[i], &net.layers()[next]) else {
            continue;
        };
        let range = net.layer_range(i).unwrap_or(0..0);
        let p = &net.params()[range.clone()];
        let (out, k) = (d.out_features, d.in_features);
        let norms: Vec<f64> = match scores {
            None => (0..out)
                .map(|j| {
                    p[j * k..(j + 1) * k]
                        .iter()
                        .map(|&w| f64::from(w).powi(2))
                        .sum()
                })
                .collect(),
            Some(list) => match list.iter().find(|(l, _)| *l == i) {
                Some((_, s)) if s.len() == out => s.clone(),
                Some((_, s)) => {
                    return Err(Error::shape(
                        format!("neuron scores of layers.{i}"),
                        out,
                        s.len(),
                    ));
                }
                // An unlisted layer keeps all its neurons.
                None => vec![0.0; out],
            },
        };
        let listed = scores.is_none_or(|list| list.iter().any(|(l, _)| *l == i));
        let remove = if listed {
            ((sparsity * out as f64).floor() as usize).min(out - 1)
        } else {
            0
        };
        let mut order: Vec<usize> = (0..out).collect();
        order.sort_by(|&a, &b| norms[a].total_cmp(&norms[b]).then(a.cmp(&b)));
        let mut kept: Vec<usize> = order[remove..].to_vec();
        kept.sort_unstable();
        let next_range = net.layer_range(next).unwrap_or(0..0);
        for &j in &order[..remove] {
            for v in &mut keep[range.start + j * k..range.start + (j + 1) * k] {
                *v = false;
            }
            if d.bias {
                keep[range.start + out * k + j] = false;
            }
            for r in 0..dn.out_features {
                keep[next_range.start + r * dn.in_features + j] = false;
            }
        }
        kept_per_layer.push((i, kept));
    }
    Ok((keep, kept_per_layer))
}

/// Fine-tunes `net` with Adam on `x` (scaled features) and `data`'s targets, holding the masked
/// parameters at zero. Returns the mean loss of each epoch.
fn fine_tune(
    net: &mut Network,
    keep: &[bool],
    x: &[f32],
    data: &Dataset,
    model: &Model,
    config: &PruneConfig,
) -> Result<Vec<f64>> {
    let n = data.len();
    let (nin, nout) = (net.inputs(), net.outputs());
    let segments: Vec<Segment> = net
        .tensors()
        .iter()
        .filter(|t| t.kind != ParamKind::Frozen)
        .map(|t| Segment {
            range: t.range.clone(),
            decay: t.kind == ParamKind::Weight,
        })
        .collect();
    let opt = OptimizerConfig::Adam {
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
    };
    let mut state = OptimizerState::default();
    let mut ws = Workspace::new();
    let mut rng = Rng::seed_from(config.seed);
    let mut order: Vec<usize> = (0..n).collect();
    let mut xb = Vec::new();
    let (mut classes, mut values) = (Vec::new(), Vec::new());
    let mut losses = Vec::with_capacity(config.epochs);
    let loss = model.loss;
    for _ in 0..config.epochs {
        rng.shuffle(&mut order);
        let (mut sum, mut weight) = (0.0f64, 0.0f64);
        for rows in order.chunks(config.batch_size) {
            let b = rows.len();
            xb.clear();
            for &r in rows {
                xb.extend_from_slice(&x[r * nin..(r + 1) * nin]);
            }
            let targets = match &data.targets {
                Targets::Classes { labels, .. } => {
                    classes.clear();
                    classes.extend(rows.iter().map(|&r| labels[r]));
                    BatchTargets::Classes(&classes)
                }
                Targets::Values {
                    values: v,
                    n_outputs: w,
                }
                | Targets::MultiLabel {
                    values: v,
                    n_labels: w,
                } => {
                    values.clear();
                    for &r in rows {
                        values.extend_from_slice(&v[r * w..(r + 1) * w]);
                    }
                    BatchTargets::Values(&values)
                }
            };
            net.forward_train(&net.params, &xb, b, &mut ws, &mut rng);
            let (out, d_out) = ws.outputs_and_d_outputs(net, b);
            let (s, w) = loss.evaluate(out, b, nout, targets, LossWeights::default(), Some(d_out));
            if !s.is_finite() {
                return Err(Error::InvalidData(format!(
                    "fine-tuning diverged (loss {s}); try a lower learning rate"
                )));
            }
            sum += s;
            weight += w;
            net.backward(&net.params, &xb, b, &mut ws, None);
            for (g, &k) in ws.grads.iter_mut().zip(keep) {
                if !k {
                    *g = 0.0;
                }
            }
            crate::optim::step(
                &opt,
                &mut state,
                &mut net.params,
                &ws.grads,
                &segments,
                config.lr,
                0.0,
            );
            apply_mask(&mut net.params, keep);
            net.update_buffers(&ws, b);
        }
        losses.push(if weight > 0.0 { sum / weight } else { 0.0 });
    }
    Ok(losses)
}

/// The network without the removed neurons: each listed hidden layer keeps only the `kept`
/// rows (and biases), and the next dense layer only the matching input columns.
fn shrink(net: &Network, kept: &[(usize, Vec<usize>)]) -> Result<Network> {
    let mut spec = net.spec().clone();
    for (i, k) in kept {
        if let Some(LayerSpec::Dense { units, .. }) = spec.layers.get_mut(*i) {
            *units = k.len();
        }
    }
    let mut small = spec.build(0)?;
    let dense = dense_layers(net)?;
    // Columns each dense layer keeps: all inputs for the first, the previous hidden layer's
    // kept neurons after it.
    let mut cols: Vec<usize> = (0..net.inputs()).collect();
    let mut params = small.params().to_vec();
    for &i in &dense {
        let (Layer::Dense(d), Layer::Dense(ds)) = (&net.layers()[i], &small.layers()[i]) else {
            continue;
        };
        let rows: Vec<usize> = kept
            .iter()
            .find(|(l, _)| *l == i)
            .map_or_else(|| (0..d.out_features).collect(), |(_, k)| k.clone());
        let src = &net.params()[net.layer_range(i).unwrap_or(0..0)];
        let dst_range = small.layer_range(i).unwrap_or(0..0);
        let dst = &mut params[dst_range];
        let (k_old, k_new) = (d.in_features, ds.in_features);
        for (rn, &ro) in rows.iter().enumerate() {
            for (cn, &co) in cols.iter().enumerate() {
                dst[rn * k_new + cn] = src[ro * k_old + co];
            }
            if d.bias {
                dst[ds.out_features * k_new + rn] = src[d.out_features * k_old + ro];
            }
        }
        cols = rows;
    }
    small.set_params(params)?;
    Ok(small)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::ModelSpec;

    #[test]
    fn global_mask_prunes_the_smallest_weights_only() {
        let net = ModelSpec::mlp(4, &[6], 2, crate::Activation::Relu, 0.0)
            .build(1)
            .expect("net");
        let keep = magnitude_mask(&net, 0.5);
        let weights: usize = net
            .tensors()
            .iter()
            .filter(|t| t.kind == ParamKind::Weight)
            .map(|t| t.range.len())
            .sum();
        assert_eq!(keep.iter().filter(|k| !**k).count(), weights / 2);
        let p = net.params();
        let max_pruned = (0..p.len())
            .filter(|&i| !keep[i])
            .map(|i| p[i].abs())
            .fold(0.0f32, f32::max);
        for t in net.tensors() {
            for i in t.range.clone() {
                if t.kind == ParamKind::Bias {
                    assert!(keep[i], "biases are kept");
                } else if keep[i] {
                    assert!(p[i].abs() >= max_pruned);
                }
            }
        }
    }

    #[test]
    fn structured_pruning_equals_the_masked_network() {
        for act in [crate::Activation::Relu, crate::Activation::Sigmoid] {
            let net = ModelSpec::mlp(5, &[9, 7], 3, act, 0.0)
                .build(2)
                .expect("net");
            let (keep, kept) = neuron_mask(&net, 0.4, None).expect("mask");
            assert_eq!(
                kept.iter().map(|(i, k)| (*i, k.len())).collect::<Vec<_>>(),
                [(0, 6), (1, 5)]
            );
            let mut masked = net.clone();
            apply_mask(&mut masked.params, &keep);
            let small = shrink(&masked, &kept).expect("shrink");
            assert_eq!(small.layers()[0].out_features(), 6);
            assert_eq!(small.layers()[1].in_features(), 6);
            assert!(small.n_params() < net.n_params());
            let mut rng = Rng::seed_from(4);
            let x: Vec<f32> = (0..20 * 5).map(|_| rng.normal()).collect();
            let (a, b) = (masked.predict(&x, 20), small.predict(&x, 20));
            for (u, v) in a.iter().zip(&b) {
                assert!(
                    (u - v).abs() <= 1e-5 * (1.0 + u.abs()),
                    "{act:?}: {u} vs {v}"
                );
            }
        }
    }

    #[test]
    fn neuron_scores_choose_which_neurons_go() {
        let net = ModelSpec::mlp(4, &[6, 5], 2, crate::Activation::Relu, 0.0)
            .build(3)
            .expect("net");
        let scores = vec![(0, vec![5.0, 0.1, 4.0, 0.2, 3.0, 2.0])];
        let (_, kept) = neuron_mask(&net, 0.5, Some(&scores)).expect("mask");
        // Layer 0 loses its three lowest-scored neurons; layer 1 is not listed and keeps all.
        assert_eq!(kept, [(0, vec![0, 2, 4]), (1, vec![0, 1, 2, 3, 4])]);
        let bad = vec![(0, vec![1.0; 3])];
        assert!(neuron_mask(&net, 0.5, Some(&bad)).is_err());
    }
}
