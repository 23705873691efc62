//! The full-batch L-BFGS path of the trainer: each epoch is one L-BFGS iteration over the whole
//! training set (evaluated in chunks), sharing the epoch bookkeeping of the minibatch loop.

use super::outcome::Outcome;
use super::trainer::{Run, batch_targets, end_epoch, mix, segments};
use crate::Result;
use crate::loss::LossWeights;
use crate::network::{Network, Workspace};
use crate::optim::lbfgs::Lbfgs;
use crate::rng::Rng;

/// Full-batch L-BFGS: each epoch is one iteration over the whole training set.
pub(super) fn train_lbfgs(net: &mut Network, mut run: Run<'_>, history: usize) -> Result<Outcome> {
    let (data, config, loss) = (run.data, run.config, run.loss);
    let n = data.len();
    let nf = data.n_features;
    let chunk = config.batch_size.clamp(1, 4096).min(n);
    let segs = segments(net);
    let mut opt = Lbfgs::new(history);
    let mut ws: Workspace<f32> = Workspace::new();
    let class_weights = config.class_weights.as_deref();
    let shape_net = net.clone();
    while run.state.epoch < config.epochs && !run.state.finished {
        let epoch = run.state.epoch;
        let started = std::time::Instant::now();
        let dropout_seed = mix(config.seed, 3, epoch as u64);
        let wd = config.weight_decay;
        let mut objective = |params: &[f32], grad_out: &mut [f32]| -> f64 {
            grad_out.iter_mut().for_each(|g| *g = 0.0);
            let mut parts: Vec<(f64, f64, Vec<f32>)> = Vec::new();
            let mut start = 0;
            let mut classes = Vec::new();
            let mut values = Vec::new();
            let mut rng = Rng::seed_from(dropout_seed);
            while start < n {
                let b = chunk.min(n - start);
                let rows: Vec<usize> = (start..start + b).collect();
                let x = &data.features[start * nf..(start + b) * nf];
                shape_net.forward_train(params, x, b, &mut ws, &mut rng);
                let weights = data.weights.as_ref().map(|w| &w[start..start + b]);
                let targets = batch_targets(&data.targets, &mut classes, &mut values, &rows);
                let (outputs, d_outputs) = ws.outputs_and_d_outputs(&shape_net, b);
                let (l, w) = loss.evaluate(
                    outputs,
                    b,
                    shape_net.outputs(),
                    targets,
                    LossWeights {
                        sample: weights,
                        class: class_weights,
                    },
                    Some(d_outputs),
                );
                shape_net.backward(params, x, b, &mut ws, None);
                parts.push((l, w, ws.grads.clone()));
                start += b;
            }
            let total_w: f64 = parts.iter().map(|p| p.1).sum();
            let mut value = 0.0;
            for (l, w, g) in &parts {
                value += l / total_w.max(f64::MIN_POSITIVE);
                let scale = (w / total_w.max(f64::MIN_POSITIVE)) as f32;
                for (o, &gi) in grad_out.iter_mut().zip(g) {
                    *o += scale * gi;
                }
            }
            for s in &segs {
                if s.decay && wd > 0.0 {
                    for i in s.range.clone() {
                        value += 0.5 * wd as f64 * (params[i] as f64).powi(2);
                        grad_out[i] += wd * params[i];
                    }
                }
            }
            value
        };
        let lr = config.schedule.lr(
            config.base_lr(),
            epoch,
            0,
            1,
            config.epochs,
            &run.state.schedule,
        );
        let value = opt.step(&mut net.params, lr, &mut objective);
        if !value.is_finite() {
            return Ok(run.watch.diverge(net, run.state, epoch + 1, value));
        }
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
