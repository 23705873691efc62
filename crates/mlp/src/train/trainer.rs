//! The epoch loop.
//!
//! Each step gathers a minibatch into a contiguous buffer, runs the network forward, the fused
//! loss + gradient, the backward, optional clipping, and one fused optimizer pass. Every random
//! choice is a pure function of `(seed, epoch, batch)`: the shuffle of epoch `e` and the dropout
//! masks of batch `b` come from their own derived streams. That is what makes a run resumed from a
//! checkpoint (even one written mid-epoch, on Ctrl-C) bit-identical to an uninterrupted one.

use super::augment;
use super::config::{Precision, TrainConfig};
use super::outcome::{DivergenceWatch, Outcome};
use crate::data::{Dataset, Targets};
use crate::loss::{BatchTargets, Loss, LossWeights};
use crate::network::{InferenceScratch, Network, Workspace};
use crate::optim::schedule::ScheduleState;
use crate::optim::{self, OptimizerConfig, OptimizerState, Segment, clip, device};
use crate::rng::Rng;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// One epoch's line in the training history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EpochRecord {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Mean training loss over the epoch's batches (weighted).
    pub train_loss: f64,
    /// Validation loss, when there is a validation set.
    pub val_loss: Option<f64>,
    /// Validation metric: accuracy (classification) or R^2 (regression).
    pub val_metric: Option<f64>,
    /// Learning rate at the epoch's last step.
    pub lr: f32,
    /// Wall-clock seconds spent on the epoch's training steps.
    pub seconds: f64,
}

/// Everything needed to continue a run exactly where it stopped.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TrainState {
    /// Epochs fully completed.
    pub epoch: usize,
    /// First batch of the current epoch still to run (non-zero only after an interruption).
    pub next_batch: usize,
    /// Weighted loss sum and weight sum of the current epoch's batches so far.
    pub partial_loss: (f64, f64),
    /// Seconds spent in the current epoch so far.
    pub partial_seconds: f64,
    /// Optimizer moments.
    pub optimizer: OptimizerState,
    /// Learning-rate schedule state.
    pub schedule: ScheduleState,
    /// Best validation loss, the epoch it came from, and the weights then.
    pub best: Option<(f64, usize, Vec<f32>)>,
    /// Epochs since the best validation loss (or, without validation data, since the training
    /// loss last improved by `min_delta`).
    pub bad_epochs: usize,
    /// Lowest training loss so far (used for stopping when there is no validation set).
    pub best_train_loss: Option<f64>,
    /// Per-epoch history.
    pub history: Vec<EpochRecord>,
    /// Set once training has finished (epochs exhausted or early stop).
    pub finished: bool,
}

/// Callbacks from the training loop (progress display, checkpoints, Ctrl-C).
pub trait Hooks {
    /// After every batch.
    fn on_batch(&mut self, _epoch: usize, _batch: usize, _n_batches: usize, _loss: f64) {}
    /// After every epoch, with the network's current weights and the full state.
    fn on_epoch_end(
        &mut self,
        _record: &EpochRecord,
        _net: &Network,
        _state: &TrainState,
    ) -> Result<()> {
        Ok(())
    }
    /// Polled after every batch; returning true stops training cleanly.
    fn should_stop(&mut self) -> bool {
        false
    }
}

/// Hooks that do nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoHooks;
impl Hooks for NoHooks {}

pub(super) fn mix(seed: u64, a: u64, b: u64) -> u64 {
    let mut r = Rng::seed_from(
        seed ^ a.wrapping_mul(0xA24B_AED4_963E_E407) ^ b.wrapping_mul(0x9FB2_1C65_1E98_DF25),
    );
    r.next_u64()
}

pub(super) fn segments(net: &Network) -> Vec<Segment> {
    net.tensors()
        .iter()
        .filter(|t| t.kind != crate::layers::ParamKind::Frozen)
        .map(|t| Segment {
            range: t.range.clone(),
            decay: t.kind == crate::layers::ParamKind::Weight,
        })
        .collect()
}

/// Checks that a loss can be computed on these targets with this output width.
pub fn check_loss_fits(loss: &Loss, targets: &Targets, outputs: usize) -> Result<()> {
    let ok = match (loss, targets) {
        (Loss::CrossEntropy { .. }, Targets::Classes { n_classes, .. }) => outputs == *n_classes,
        (Loss::Bce, Targets::Classes { n_classes, .. }) => outputs == 1 && *n_classes <= 2,
        (Loss::Bce | Loss::MultilabelBce, Targets::MultiLabel { n_labels, .. }) => {
            outputs == *n_labels
        }
        (Loss::Mse | Loss::Mae | Loss::Huber { .. }, Targets::Values { n_outputs, .. }) => {
            outputs == *n_outputs
        }
        (Loss::Quantile { levels }, Targets::Values { n_outputs, .. }) => {
            Some(outputs) == n_outputs.checked_mul(levels.len())
        }
        _ => false,
    };
    if let (Loss::Quantile { .. }, Targets::Classes { .. } | Targets::MultiLabel { .. }) =
        (loss, targets)
    {
        return Err(Error::config(
            "loss",
            "a quantile loss needs a regression target (numbers), not classes or labels",
        ));
    }
    if ok {
        Ok(())
    } else {
        Err(Error::config(
            "loss",
            format!(
                "{} does not fit these targets with {} network outputs",
                loss.name(),
                outputs
            ),
        ))
    }
}

pub(super) fn batch_targets<'a>(
    targets: &'a Targets,
    classes: &'a mut Vec<usize>,
    values: &'a mut Vec<f32>,
    rows: &[usize],
) -> BatchTargets<'a> {
    match targets {
        Targets::Classes { labels, .. } => {
            classes.clear();
            classes.extend(rows.iter().map(|&r| labels[r]));
            BatchTargets::Classes(classes)
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
            BatchTargets::Values(values)
        }
    }
}

/// Trains `net` on `data`, continuing from `state` (use `TrainState::default()` for a new run).
///
/// Validation (when `val` is given) runs after every epoch; with `config.patience` set, training
/// stops after that many epochs without improvement and the best weights are restored.
///
/// # Errors
/// [`Error::InvalidConfig`] for bad hyperparameters or a loss that does not fit the targets;
/// any error returned by a hook. A run whose loss becomes non-finite or rises well above its
/// starting loss is not an error: it ends with [`Outcome::Diverged`] and the best weights seen.
pub fn train(
    net: &mut Network,
    data: &Dataset,
    val: Option<&Dataset>,
    config: &TrainConfig,
    loss: &Loss,
    state: &mut TrainState,
    hooks: &mut (dyn Hooks + Send),
) -> Result<Outcome> {
    config.validate()?;
    if data.is_empty() {
        return Err(Error::InvalidData("the training set is empty".into()));
    }
    if data.n_features != net.inputs() {
        return Err(Error::shape(
            "train",
            format!("{} features", net.inputs()),
            format!("{} features", data.n_features),
        ));
    }
    check_loss_fits(loss, &data.targets, net.outputs())?;
    if let Some(v) = val {
        if v.n_features != net.inputs() {
            return Err(Error::shape("validation", net.inputs(), v.n_features));
        }
        check_loss_fits(loss, &v.targets, net.outputs())?;
    }
    let threads = if config.threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        config.threads
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| Error::config("threads", e.to_string()))?;
    pool.install(|| {
        // Dense products in bf16 on this (the training) thread until the run ends.
        let _precision = precision_scope(config.precision);
        let mut watch = DivergenceWatch::new(
            net,
            start_loss(net, data, loss, config),
            state.epoch,
            val.is_none(),
        );
        let run = Run {
            data,
            val,
            config,
            loss,
            state,
            hooks,
            watch: &mut watch,
        };
        if let OptimizerConfig::Lbfgs { history } = config.optimizer {
            super::lbfgs::train_lbfgs(net, run, history)
        } else if config.optimizer.is_full_batch() {
            super::fullbatch::train_fullbatch(net, run)
        } else {
            train_minibatch(net, run)
        }
    })
}

/// The mixed-precision scope of a [`Precision::Bf16`] run on this thread (see
/// [`crate::kernels::bf16::MixedScope`]), ended when the value is dropped; `None` for `f32`.
fn precision_scope(precision: Precision) -> Option<crate::kernels::bf16::MixedScope> {
    match precision {
        Precision::F32 => None,
        Precision::Bf16 => Some(crate::kernels::bf16::MixedScope::enter()),
    }
}

/// Rows of the training set the starting loss is measured on: enough for a steady mean, few
/// enough to cost a small fraction of an epoch on large data.
const START_LOSS_ROWS: usize = 4096;

/// The loss of the current weights on (the first rows of) the training data, by inference: the
/// reference against which a rising loss counts as divergence.
fn start_loss(net: &Network, data: &Dataset, loss: &Loss, config: &TrainConfig) -> f64 {
    let class_weights = config.class_weights.as_deref();
    if data.len() <= START_LOSS_ROWS {
        return evaluate_loss(net, data, loss, class_weights).0;
    }
    let rows: Vec<usize> = (0..START_LOSS_ROWS).collect();
    evaluate_loss(net, &data.select(&rows), loss, class_weights).0
}

/// One training run: the data, settings and loss it works with and the bookkeeping it updates,
/// shared by the minibatch loop, the L-BFGS loop and the end-of-epoch step (in place of eight
/// arguments each).
pub(super) struct Run<'a> {
    pub(super) data: &'a Dataset,
    pub(super) val: Option<&'a Dataset>,
    pub(super) config: &'a TrainConfig,
    pub(super) loss: &'a Loss,
    pub(super) state: &'a mut TrainState,
    pub(super) hooks: &'a mut (dyn Hooks + Send),
    pub(super) watch: &'a mut DivergenceWatch,
}

fn train_minibatch(net: &mut Network, mut run: Run<'_>) -> Result<Outcome> {
    let (data, config, loss) = (run.data, run.config, run.loss);
    let n = data.len();
    let nf = data.n_features;
    let mut first_batch = true;
    let batch_size = config.batch_size.min(n);
    let n_batches = n.div_ceil(batch_size);
    let segs = segments(net);
    let has_buffers = net.has_buffers();
    // The weights before a step, when the hardware-constrained update rule rounds the step.
    let mut before: Vec<f32> = Vec::new();
    let mut aug_tmp: Vec<f32> = Vec::new();
    let mut mix_d: Vec<f32> = Vec::new();
    let (mut mix_rows, mut mix_classes, mut mix_values, mut mix_weights) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let base_lr = config.base_lr();
    let class_weights = config.class_weights.as_deref();
    let mut ws: Workspace<f32> = Workspace::new();
    ws.ensure(net, batch_size);
    let mut x_batch = vec![0.0f32; batch_size * nf];
    let mut w_batch: Vec<f32> = Vec::with_capacity(batch_size);
    let mut class_buf = Vec::with_capacity(batch_size);
    let mut value_buf = Vec::with_capacity(batch_size * net.outputs());
    let mut adversary = match &config.adversarial {
        Some(a) => Some(super::adversarial::AdversarialStep::new(net, a)?),
        None => None,
    };

    while run.state.epoch < config.epochs && !run.state.finished {
        let epoch = run.state.epoch;
        let order: Vec<usize> = if config.shuffle {
            Rng::seed_from(mix(config.seed, 1, epoch as u64)).permutation(n)
        } else {
            (0..n).collect()
        };
        let started = std::time::Instant::now();
        let mut lr = base_lr;
        for b in run.state.next_batch..n_batches {
            let rows = &order[b * batch_size..((b + 1) * batch_size).min(n)];
            let bs = rows.len();
            gather_rows(&data.features, nf, rows, &mut x_batch[..bs * nf]);
            let weights = data.weights.as_ref().map(|w| {
                w_batch.clear();
                w_batch.extend(rows.iter().map(|&r| w[r]));
                &w_batch[..]
            });
            let targets = batch_targets(&data.targets, &mut class_buf, &mut value_buf, rows);
            let mut rng = Rng::seed_from(mix(config.seed, 2 + epoch as u64, b as u64));
            if let Some(aug) = &config.augment {
                let mut aug_rng = rng.fork(0xA06);
                aug.apply(&mut x_batch[..bs * nf], bs, &mut aug_rng, &mut aug_tmp);
            }
            let mixing = config.mixup.map(|alpha| {
                let mut mix_rng = rng.fork(0x313);
                augment::mixup(&mut x_batch, nf, bs, alpha, &mut mix_rng, &mut aug_tmp)
            });
            if let Some(adv) = adversary.as_mut() {
                let mut adv_rng = rng.fork(0xAD7);
                adv.perturb(
                    net,
                    &mut x_batch[..bs * nf],
                    bs,
                    targets,
                    loss,
                    &mut adv_rng,
                );
                if adv.regularized() {
                    adv.record_clean(net, &mut ws, bs, &rng);
                }
            }
            net.forward_train(&net.params, &x_batch[..bs * nf], bs, &mut ws, &mut rng);
            let (outputs, d_outputs) = ws.outputs_and_d_outputs(net, bs);
            let (mut loss_sum, weight_sum) = loss.evaluate(
                outputs,
                bs,
                net.outputs(),
                targets,
                LossWeights {
                    sample: weights,
                    class: class_weights,
                },
                Some(&mut *d_outputs),
            );
            if let Some(distill) = &config.distill {
                loss_sum = super::distill::mix_into(
                    distill,
                    outputs,
                    net.outputs(),
                    rows,
                    weights,
                    (loss_sum, weight_sum),
                    d_outputs,
                );
            }
            if let Some((lam, perm)) = &mixing {
                // The loss is linear in the target: lam L(y) + (1 - lam) L(y_perm).
                mix_rows.clear();
                mix_rows.extend(perm.iter().map(|&j| rows[j]));
                let targets_b =
                    batch_targets(&data.targets, &mut mix_classes, &mut mix_values, &mix_rows);
                let weights_b: Option<&[f32]> = weights.map(|w| {
                    mix_weights.clear();
                    mix_weights.extend(perm.iter().map(|&j| w[j]));
                    &mix_weights[..]
                });
                mix_d.resize(d_outputs.len(), 0.0);
                let (loss_b, _) = loss.evaluate(
                    outputs,
                    bs,
                    net.outputs(),
                    targets_b,
                    LossWeights {
                        sample: weights_b,
                        class: class_weights,
                    },
                    Some(&mut mix_d[..]),
                );
                for (d, &db) in d_outputs.iter_mut().zip(&mix_d) {
                    *d = lam * *d + (1.0 - lam) * db;
                }
                loss_sum = *lam as f64 * loss_sum + (1.0 - *lam as f64) * loss_b;
            }
            let mut batch_loss = if weight_sum > 0.0 {
                loss_sum / weight_sum
            } else {
                0.0
            };
            if !batch_loss.is_finite() {
                return Ok(run.watch.diverge(net, run.state, epoch + 1, batch_loss));
            }
            match adversary.as_ref().filter(|a| a.regularized()) {
                Some(adv) => {
                    // AT-LR: gamma * sum RE_l joins the loss; its gradient enters at the MVL layers.
                    let mut reg = 0.0;
                    net.backward_with_taps(
                        &net.params,
                        &x_batch[..bs * nf],
                        bs,
                        &mut ws,
                        None,
                        |i, out, d_out| reg += adv.tap(i, out, d_out),
                    );
                    loss_sum += reg * weight_sum;
                    batch_loss += reg;
                }
                None => net.backward(&net.params, &x_batch[..bs * nf], bs, &mut ws, None),
            }
            if first_batch {
                // Still the starting weights: this batch's loss (with any augmentation,
                // adversarial examples and regularizer) is a second reference point.
                run.watch.first_batch(batch_loss);
                first_batch = false;
            }
            let grads = &mut ws.grads;
            let norm = match config.clip_grad_norm {
                Some(max) => clip::clip_by_global_norm(grads, max),
                None => clip::global_norm(grads),
            };
            if !norm.is_finite() {
                return Ok(run.watch.diverge(net, run.state, epoch + 1, norm));
            }
            lr = config.schedule.lr(
                base_lr,
                epoch,
                b,
                n_batches,
                config.epochs,
                &run.state.schedule,
            );
            if config.update_constraint.is_some() {
                before.clear();
                before.extend_from_slice(&net.params);
            }
            optim::step(
                &config.optimizer,
                &mut run.state.optimizer,
                &mut net.params,
                &ws.grads,
                &segs,
                lr,
                config.weight_decay,
            );
            if let Some(c) = &config.update_constraint {
                if c.device.is_some() {
                    let n = net.params.len();
                    let fresh = !run.state.optimizer.has_buffer(device::G_PLUS, n);
                    let (g_plus, g_minus) =
                        run.state
                            .optimizer
                            .buffer_pair(device::G_PLUS, device::G_MINUS, n);
                    for s in &segs {
                        let r = s.range.clone();
                        c.apply_device(
                            &before[r.clone()],
                            &mut net.params[r.clone()],
                            &mut g_plus[r.clone()],
                            &mut g_minus[r],
                            fresh,
                        );
                    }
                } else {
                    for s in &segs {
                        c.apply(&before[s.range.clone()], &mut net.params[s.range.clone()]);
                    }
                }
            }
            if has_buffers {
                net.update_buffers(&ws, bs);
            }
            run.state.partial_loss.0 += loss_sum;
            run.state.partial_loss.1 += weight_sum;
            run.state.next_batch = b + 1;
            run.hooks.on_batch(epoch + 1, b, n_batches, batch_loss);
            if run.hooks.should_stop() {
                run.state.partial_seconds += started.elapsed().as_secs_f64();
                if b + 1 < n_batches {
                    return Ok(Outcome::Interrupted);
                }
                // The epoch's last batch: finish the epoch's bookkeeping first, then stop.
                let outcome = end_epoch(net, &mut run, lr, 0.0)?;
                return Ok(if run.state.finished {
                    outcome
                } else {
                    Outcome::Interrupted
                });
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        let outcome = end_epoch(net, &mut run, lr, seconds)?;
        if run.state.finished {
            return Ok(outcome);
        }
    }
    run.state.finished = true;
    Ok(Outcome::MaxEpochs { best_epoch: None })
}

/// Validation, early stopping and history at an epoch's end. Returns the outcome so far.
pub(super) fn end_epoch(
    net: &mut Network,
    run: &mut Run<'_>,
    lr: f32,
    seconds: f64,
) -> Result<Outcome> {
    let (val, config, loss) = (run.val, run.config, run.loss);
    let (state, hooks, watch) = (&mut *run.state, &mut *run.hooks, &mut *run.watch);
    let epoch = state.epoch;
    let train_loss = if state.partial_loss.1 > 0.0 {
        state.partial_loss.0 / state.partial_loss.1
    } else {
        0.0
    };
    let (val_loss, val_metric) = match val {
        Some(v) => {
            let (l, m) = evaluate_loss(net, v, loss, config.class_weights.as_deref());
            (Some(l), m)
        }
        None => (None, None),
    };
    let record = EpochRecord {
        epoch: epoch + 1,
        train_loss,
        val_loss,
        val_metric,
        lr,
        seconds: seconds + state.partial_seconds,
    };
    state.history.push(record.clone());
    state.epoch += 1;
    state.next_batch = 0;
    state.partial_loss = (0.0, 0.0);
    state.partial_seconds = 0.0;
    if watch.end_epoch(net, epoch + 1, train_loss) {
        let outcome = watch.diverge(net, state, epoch + 1, train_loss);
        hooks.on_epoch_end(&record, net, state)?;
        return Ok(outcome);
    }
    let monitored = val_loss.unwrap_or(train_loss);
    config.schedule.end_epoch(monitored, &mut state.schedule);
    // Placeholder while the run goes on (callers look at `state.finished`).
    let mut outcome = Outcome::MaxEpochs { best_epoch: None };
    if let Some(vl) = val_loss {
        let improved = match &state.best {
            None => vl.is_finite(),
            Some((best, _, _)) => vl < best - config.min_delta,
        };
        if improved {
            state.best = Some((vl, epoch + 1, net.params.clone()));
            state.bad_epochs = 0;
        } else {
            state.bad_epochs += 1;
        }
        if let Some(patience) = config.patience
            && state.bad_epochs >= patience
        {
            if let Some((_, best_epoch, params)) = &state.best {
                net.params.copy_from_slice(params);
                outcome = Outcome::EarlyStopped {
                    best_epoch: *best_epoch,
                };
            }
            state.finished = true;
        }
    } else if let Some(patience) = config.patience {
        // No validation set: stop once the training loss has not improved by `min_delta` for
        // `patience` epochs (scikit-learn's convergence rule); the final weights are kept.
        if state
            .best_train_loss
            .is_none_or(|best| train_loss < best - config.min_delta)
        {
            state.bad_epochs = 0;
        } else {
            state.bad_epochs += 1;
        }
        if state.best_train_loss.is_none_or(|best| train_loss < best) {
            state.best_train_loss = Some(train_loss);
        }
        if state.bad_epochs >= patience {
            outcome = Outcome::Converged;
            state.finished = true;
        }
    }
    if state.epoch >= config.epochs {
        state.finished = true;
        // With a validation set and early stopping, end on the best weights seen. Reaching the
        // last epoch is not an early stop, even when patience ran out on that very epoch.
        if config.patience.is_some()
            && let Some((_, best_epoch, params)) = &state.best
            && *best_epoch != state.epoch
        {
            net.params.copy_from_slice(params);
            outcome = Outcome::MaxEpochs {
                best_epoch: Some(*best_epoch),
            };
        }
    }
    hooks.on_epoch_end(&record, net, state)?;
    Ok(outcome)
}

/// Mean loss over a data set and the validation metric (accuracy for classes, mean R^2 for
/// values, per-label accuracy for multi-label), by batched inference.
pub fn evaluate_loss(
    net: &Network,
    data: &Dataset,
    loss: &Loss,
    class_weights: Option<&[f32]>,
) -> (f64, Option<f64>) {
    const CHUNK: usize = 1024;
    let n = data.len();
    let (nf, no) = (data.n_features, net.outputs());
    let mut scratch = InferenceScratch::default();
    let mut out = vec![0.0f32; CHUNK * no];
    let (mut loss_sum, mut weight_sum) = (0.0, 0.0);
    let mut correct = 0usize;
    let mut preds: Vec<f32> = Vec::new();
    let mut classes = Vec::new();
    let mut values = Vec::new();
    let mut start = 0;
    while start < n {
        let b = CHUNK.min(n - start);
        let rows: Vec<usize> = (start..start + b).collect();
        net.predict_into(
            &net.params,
            &data.features[start * nf..(start + b) * nf],
            b,
            &mut scratch,
            &mut out[..b * no],
        );
        let weights = data.weights.as_ref().map(|w| &w[start..start + b]);
        let targets = batch_targets(&data.targets, &mut classes, &mut values, &rows);
        let (l, w) = loss.evaluate(
            &out[..b * no],
            b,
            no,
            targets,
            LossWeights {
                sample: weights,
                class: class_weights,
            },
            None::<&mut [f32]>,
        );
        loss_sum += l;
        weight_sum += w;
        match &data.targets {
            Targets::Classes { labels, .. } => {
                for i in 0..b {
                    let row = &out[i * no..(i + 1) * no];
                    let pred = if no == 1 {
                        usize::from(row[0] > 0.0)
                    } else {
                        argmax(row)
                    };
                    correct += usize::from(pred == labels[start + i]);
                }
            }
            Targets::MultiLabel { values: t, .. } => {
                for (j, &z) in out[..b * no].iter().enumerate() {
                    correct += usize::from((z > 0.0) == (t[start * no + j] > 0.5));
                }
            }
            // A quantile head is scored on its point prediction (see `QuantileLevels`).
            Targets::Values { .. } => match loss.quantile_levels() {
                Some(levels) => {
                    preds.extend(crate::uncertainty::quantile_points(&out[..b * no], levels))
                }
                None => preds.extend_from_slice(&out[..b * no]),
            },
        }
        start += b;
    }
    let metric = match &data.targets {
        Targets::Classes { .. } if n > 0 => Some(correct as f64 / n as f64),
        Targets::MultiLabel { n_labels, .. } if n > 0 => {
            Some(correct as f64 / (n * n_labels) as f64)
        }
        Targets::Values {
            values: t,
            n_outputs,
        } if n > 0 => Some(mean_r2(t, &preds, *n_outputs)),
        _ => None,
    };
    (
        if weight_sum > 0.0 {
            loss_sum / weight_sum
        } else {
            0.0
        },
        metric,
    )
}

fn mean_r2(truth: &[f32], pred: &[f32], k: usize) -> f64 {
    let n = truth.len() / k.max(1);
    let mut total = 0.0;
    for j in 0..k {
        let mean = (0..n).map(|i| truth[i * k + j] as f64).sum::<f64>() / n as f64;
        let ss_tot: f64 = (0..n)
            .map(|i| (truth[i * k + j] as f64 - mean).powi(2))
            .sum();
        let ss_res: f64 = (0..n)
            .map(|i| (truth[i * k + j] as f64 - pred[i * k + j] as f64).powi(2))
            .sum();
        total += if ss_tot > 0.0 {
            1.0 - ss_res / ss_tot
        } else if ss_res == 0.0 {
            1.0
        } else {
            0.0
        };
    }
    total / k.max(1) as f64
}

/// Index of the largest value (first on ties).
pub fn argmax(row: &[f32]) -> usize {
    let mut best = 0;
    for (j, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = j;
        }
    }
    best
}

/// Copies the feature rows `rows` of a row-major `features` matrix (`width` columns) into `out`.
/// Shuffled rows come from all over a data set that does not fit in cache, so the copy waits on
/// memory; with more than one thread, the two halves of the batch are copied by two cores.
fn gather_rows(features: &[f32], width: usize, rows: &[usize], out: &mut [f32]) {
    let copy = |rows: &[usize], out: &mut [f32]| {
        for (dst, &r) in out.chunks_exact_mut(width.max(1)).zip(rows) {
            dst.copy_from_slice(&features[r * width..(r + 1) * width]);
        }
    };
    if crate::kernels::gemm::threads_here() < 2 || rows.len() < 16 || width == 0 {
        copy(rows, out);
        return;
    }
    let half = rows.len() / 2;
    let (first, second) = out.split_at_mut(half * width);
    crate::kernels::run_split(
        (&rows[..half], first),
        (&rows[half..], second),
        |(rows, out)| copy(rows, out),
    );
}
