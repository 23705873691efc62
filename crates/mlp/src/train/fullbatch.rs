//! The full-batch path of the FANN-style rules (RPROP, Quickprop, SARPROP): each epoch is one
//! step from the gradient over the whole training set (evaluated in chunks of `batch_size`
//! rows, so the chunking changes no result beyond summation order, which is fixed), sharing the
//! epoch bookkeeping of the minibatch loop. The per-weight state (step sizes, previous
//! gradients) lives in [`crate::optim::OptimizerState`] buffers, so checkpoints carry it and a
//! resumed run is bit-identical to an uninterrupted one.

use super::outcome::Outcome;
use super::trainer::{Run, batch_targets, end_epoch, mix, segments};
use crate::Result;
use crate::loss::LossWeights;
use crate::network::{Network, Workspace};
use crate::optim::quickprop::QuickpropStep;
use crate::optim::rprop::RpropStep;
use crate::optim::sarprop::SarpropStep;
use crate::optim::{OptimizerConfig, Segment};
use crate::rng::Rng;

/// The mean loss over the training set (plus the L2 term `wd/2 |w|^2` on decayed tensors) at
/// `net`'s weights; writes its gradient into `grad` (zeroed first).
pub(crate) fn full_gradient(
    net: &Network,
    run: &Run<'_>,
    segs: &[Segment],
    dropout_seed: u64,
    ws: &mut Workspace<f32>,
    grad: &mut [f32],
) -> f64 {
    let (data, config, loss) = (run.data, run.config, run.loss);
    let n = data.len();
    let nf = data.n_features;
    let chunk = config.batch_size.clamp(1, 4096).min(n);
    let class_weights = config.class_weights.as_deref();
    grad.iter_mut().for_each(|g| *g = 0.0);
    let (mut loss_sum, mut weight_sum) = (0.0f64, 0.0f64);
    // Chunk gradients are means over their rows; they are combined weighted by row weight.
    let mut parts: Vec<(f64, Vec<f32>)> = Vec::new();
    let (mut classes, mut values) = (Vec::new(), Vec::new());
    let mut rng = Rng::seed_from(dropout_seed);
    let mut start = 0;
    while start < n {
        let b = chunk.min(n - start);
        let rows: Vec<usize> = (start..start + b).collect();
        let x = &data.features[start * nf..(start + b) * nf];
        net.forward_train(&net.params, x, b, ws, &mut rng);
        let weights = data.weights.as_ref().map(|w| &w[start..start + b]);
        let targets = batch_targets(&data.targets, &mut classes, &mut values, &rows);
        let (outputs, d_outputs) = ws.outputs_and_d_outputs(net, b);
        let (l, w) = loss.evaluate(
            outputs,
            b,
            net.outputs(),
            targets,
            LossWeights {
                sample: weights,
                class: class_weights,
            },
            Some(d_outputs),
        );
        net.backward(&net.params, x, b, ws, None);
        loss_sum += l;
        weight_sum += w;
        parts.push((w, ws.grads.clone()));
        start += b;
    }
    let total = weight_sum.max(f64::MIN_POSITIVE);
    for (w, g) in &parts {
        let scale = (w / total) as f32;
        for (o, &gi) in grad.iter_mut().zip(g) {
            *o += scale * gi;
        }
    }
    let mut value = loss_sum / total;
    let wd = config.weight_decay;
    for s in segs {
        if s.decay && wd > 0.0 {
            for i in s.range.clone() {
                value += 0.5 * wd as f64 * (net.params[i] as f64).powi(2);
                grad[i] += wd * net.params[i];
            }
        }
    }
    value
}

/// Full-batch training with one of the FANN-style rules.
pub(super) fn train_fullbatch(net: &mut Network, mut run: Run<'_>) -> Result<Outcome> {
    let config = run.config;
    let segs = segments(net);
    let n = net.params.len();
    let mut ws: Workspace<f32> = Workspace::new();
    let mut grad = vec![0.0f32; n];
    let mut first = run.state.epoch == 0;
    while run.state.epoch < config.epochs && !run.state.finished {
        let epoch = run.state.epoch;
        let started = std::time::Instant::now();
        let value = full_gradient(
            net,
            &run,
            &segs,
            mix(config.seed, 3, epoch as u64),
            &mut ws,
            &mut grad,
        );
        if !value.is_finite() || grad.iter().any(|g| !g.is_finite()) {
            return Ok(run.watch.diverge(net, run.state, epoch + 1, value));
        }
        if first {
            run.watch.first_batch(value);
            first = false;
        }
        let lr = config.base_lr();
        apply(config, &mut run, net, &segs, &grad, value, lr)?;
        run.state.partial_loss = (value, 1.0);
        run.hooks.on_batch(epoch + 1, 0, 1, value);
        let outcome = end_epoch(net, &mut run, lr, started.elapsed().as_secs_f64())?;
        if run.state.finished {
            return Ok(outcome);
        }
        if run.hooks.should_stop() {
            return Ok(Outcome::Interrupted);
        }
    }
    run.state.finished = true;
    Ok(Outcome::MaxEpochs { best_epoch: None })
}

/// One update of the configured rule over every trainable segment.
fn apply(
    config: &super::TrainConfig,
    run: &mut Run<'_>,
    net: &mut Network,
    segs: &[Segment],
    grad: &[f32],
    loss: f64,
    lr: f32,
) -> Result<()> {
    let state = &mut run.state.optimizer;
    state.step += 1;
    let t = state.step;
    let n = grad.len();
    // A new run (no step sizes stored yet) starts every step size at its initial value.
    let fresh = |state: &crate::optim::OptimizerState, name: &str| {
        !state.buffers.iter().any(|(k, v)| k == name && v.len() == n)
    };
    match config.optimizer {
        OptimizerConfig::Rprop {
            eta_plus,
            eta_minus,
            delta0,
            delta_min,
            delta_max,
        } => {
            let hp = RpropStep {
                eta_plus,
                eta_minus,
                delta_min,
                delta_max,
            };
            let new = fresh(state, "rprop.step");
            let (steps, prev) = state.buffer_pair("rprop.step", "rprop.prev_grad", n);
            if new {
                steps.iter_mut().for_each(|s| *s = delta0);
            }
            for s in segs {
                let r = s.range.clone();
                hp.update(
                    &mut net.params[r.clone()],
                    &grad[r.clone()],
                    &mut steps[r.clone()],
                    &mut prev[r],
                );
            }
        }
        OptimizerConfig::Quickprop { mu, decay } => {
            let hp = QuickpropStep { eps: lr, mu, decay };
            let (steps, prev) = state.buffer_pair("quickprop.step", "quickprop.prev_slope", n);
            for s in segs {
                let r = s.range.clone();
                hp.update(
                    &mut net.params[r.clone()],
                    &grad[r.clone()],
                    &mut steps[r.clone()],
                    &mut prev[r],
                    s.decay,
                );
            }
        }
        OptimizerConfig::Sarprop {
            weight_decay_shift,
            step_error_threshold_factor,
            step_error_shift,
            temperature,
        } => {
            let hp = SarpropStep {
                rprop: RpropStep {
                    eta_plus: 1.2,
                    eta_minus: 0.5,
                    delta_min: 1e-6,
                    delta_max: 50.0,
                },
                weight_decay_shift,
                step_error_threshold_factor,
                step_error_shift,
                temperature,
                epoch: t,
                mse: loss,
            };
            let new = fresh(state, "sarprop.step");
            let (steps, prev) = state.buffer_pair("sarprop.step", "sarprop.prev_slope", n);
            if new {
                steps.iter_mut().for_each(|s| *s = 0.0125);
            }
            // The noise of step `t` has its own stream: a resumed run draws the same numbers.
            let mut rng = Rng::seed_from(mix(config.seed, 0x5A4, t));
            for s in segs {
                let r = s.range.clone();
                hp.update(
                    &mut net.params[r.clone()],
                    &grad[r.clone()],
                    &mut steps[r.clone()],
                    &mut prev[r],
                    s.decay,
                    &mut rng,
                );
            }
        }
        _ => {
            return Err(crate::Error::config(
                "optimizer",
                format!("{} is not a full-batch rule", config.optimizer.name()),
            ));
        }
    }
    Ok(())
}
