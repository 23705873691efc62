//! Growing a cascade-correlation network (Fahlman & Lebiere, 1990) into a
//! [`crate::layers::Cascade`] block.
//!
//! 1. Start with no hidden unit (a linear model) and train the output layer with the session's
//!    optimizer and epochs.
//! 2. Repeat up to `max_hidden` times: compute the residual error `E_{p,o}` (the loss gradient
//!    with respect to output `o` on row `p`); train a pool of `candidates` tanh units, each fed by
//!    the inputs and every installed unit, to maximize
//!    `S = sum_o |sum_p (V_p - mean V)(E_{p,o} - mean E_o)|` by gradient ascent
//!    (`dS/dw_i = sum_{p,o} sgn(cov_o) (E_{p,o} - mean E_o) f'_p I_{i,p}`, Adam steps, full batch);
//!    install the best (its weights frozen, its output weights zero, so the network's function is
//!    unchanged at install) and retrain the output layer.
//! 3. With a validation set, stop after `patience` units without a lower validation loss and keep
//!    the best network; without one, stop at `max_hidden`.
//!
//! Every random choice (candidate initialization) comes from the run's seed, the unit index and
//! the candidate index; the candidates train in parallel but independently, so the result does
//! not depend on the thread count. Growth is not resumable from a checkpoint (the parameter
//! count changes with every unit).

use crate::data::{Dataset, Targets};
use crate::estimator::Session;
use crate::layers::{Cascade, Layer};
use crate::loss::{BatchTargets, Loss, LossWeights};
use crate::network::Network;
use crate::rng::Rng;
use crate::spec::{LayerSpec, ModelSpec};
use crate::train::{EpochRecord, Hooks, Outcome, TrainState};
use crate::{Error, Result};

/// Settings of the growth.
#[derive(Debug, Clone, PartialEq)]
pub struct CascadeOptions {
    /// Most hidden units to install.
    pub max_hidden: usize,
    /// Candidate units trained per installation.
    pub candidates: usize,
    /// Full-batch ascent steps per candidate.
    pub candidate_epochs: usize,
    /// Adam step size of the candidate ascent.
    pub candidate_lr: f64,
    /// Units without a validation improvement before stopping (with a validation set).
    pub patience: usize,
}

impl Default for CascadeOptions {
    fn default() -> Self {
        CascadeOptions {
            max_hidden: 8,
            candidates: 8,
            candidate_epochs: 300,
            candidate_lr: 0.01,
            patience: 2,
        }
    }
}

/// What the growth did.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CascadeReport {
    /// Hidden units in the final network.
    pub units: usize,
    /// Per stage (0 = no hidden unit): training loss and validation loss after the output
    /// layer was retrained.
    pub stages: Vec<(f64, Option<f64>)>,
    /// The installed candidate's correlation score `S` (normalized by the residuals' norm), per
    /// unit, before and after its training.
    pub scores: Vec<(f64, f64)>,
}

/// The hidden-unit candidate that won: input weights, bias, and its score before/after.
struct Candidate {
    weights: Vec<f64>,
    bias: f64,
    initial: f64,
    score: f64,
}

/// Grows the session's network as a cascade-correlation network (see the module docs); the
/// session's network is replaced, and its history holds every stage's epochs in order.
pub fn grow(
    session: &mut Session,
    opts: &CascadeOptions,
    hooks: &mut (dyn Hooks + Send),
) -> Result<(Outcome, CascadeReport)> {
    if opts.candidates == 0 || opts.candidate_epochs == 0 {
        return Err(Error::config(
            "cascade",
            "needs at least one candidate and one candidate epoch",
        ));
    }
    let config = session.config.clone();
    let loss = session.model.loss;
    let (inputs, outputs) = (
        session.model.network.inputs(),
        session.model.network.outputs(),
    );
    let train = session.train.clone();
    let val = session.val.clone();
    let mut net = ModelSpec {
        inputs,
        layers: vec![LayerSpec::Cascade {
            hidden: 0,
            outputs,
            frozen: true,
        }],
    }
    .build(config.seed)?;
    let mut report = CascadeReport::default();
    let mut history: Vec<EpochRecord> = Vec::new();
    let mut best: Option<(f64, Network)> = None;
    let mut bad = 0usize;
    let mut outcome = Outcome::MaxEpochs { best_epoch: None };
    for unit in 0..=opts.max_hidden {
        if unit > 0 {
            let cand = best_candidate(&net, &train, &loss, opts, config.seed, unit)?;
            report.scores.push((cand.initial, cand.score));
            net = install(&net, &cand, config.seed)?;
        }
        let mut state = TrainState::default();
        outcome = crate::train::train(
            &mut net,
            &train,
            val.as_ref(),
            &config,
            &loss,
            &mut state,
            hooks,
        )?;
        let offset = history.len();
        for mut rec in state.history {
            rec.epoch += offset;
            history.push(rec);
        }
        let class_weights = config.class_weights.as_deref();
        let (train_loss, _) = crate::train::evaluate_loss(&net, &train, &loss, class_weights);
        let val_loss = val
            .as_ref()
            .map(|v| crate::train::evaluate_loss(&net, v, &loss, class_weights).0);
        report.stages.push((train_loss, val_loss));
        if outcome.diverged() || matches!(outcome, Outcome::Interrupted) {
            break;
        }
        if let Some(vl) = val_loss {
            if best.as_ref().is_none_or(|(b, _)| vl < *b) {
                best = Some((vl, net.clone()));
                bad = 0;
            } else {
                bad += 1;
                if bad >= opts.patience {
                    break;
                }
            }
        }
    }
    if let Some((_, b)) = best {
        net = b;
    }
    report.units = match net.layers().first() {
        Some(Layer::Cascade(c)) => c.hidden,
        _ => 0,
    };
    session.model.network = net;
    session.state = TrainState {
        epoch: history.len(),
        history,
        finished: true,
        ..TrainState::default()
    };
    Ok((outcome, report))
}

/// The network's cascade block.
fn block(net: &Network) -> Result<&Cascade> {
    match net.layers() {
        [Layer::Cascade(c)] => Ok(c),
        _ => Err(Error::config("arch", "not a cascade network")),
    }
}

/// The residual error `dL/doutput` per row (`n x m`), centred per output.
fn residuals(net: &Network, data: &Dataset, loss: &Loss) -> Vec<f64> {
    let n = data.len();
    let m = net.outputs();
    let out = net.predict(&data.features, n);
    let mut d = vec![0.0f32; n * m];
    let targets = match &data.targets {
        Targets::Classes { labels, .. } => BatchTargets::Classes(labels),
        Targets::Values { values, .. } | Targets::MultiLabel { values, .. } => {
            BatchTargets::Values(values)
        }
    };
    loss.evaluate(
        &out,
        n,
        m,
        targets,
        LossWeights {
            sample: data.weights.as_deref(),
            class: None,
        },
        Some(&mut d[..]),
    );
    let mut e: Vec<f64> = d.iter().map(|&v| v as f64 * n as f64).collect();
    for o in 0..m {
        let mean = (0..n).map(|p| e[p * m + o]).sum::<f64>() / n.max(1) as f64;
        for p in 0..n {
            e[p * m + o] -= mean;
        }
    }
    e
}

/// Candidate score `S` and, when asked, its gradient (weights then bias), for inputs `f`
/// (`n x w`) and centred residuals `e` (`n x m`).
fn score(f: &[f64], w: usize, e: &[f64], m: usize, u: &[f64], grad: Option<&mut [f64]>) -> f64 {
    let n = e.len() / m.max(1);
    let v: Vec<f64> = (0..n)
        .map(|p| {
            let z: f64 = f[p * w..(p + 1) * w]
                .iter()
                .zip(&u[..w])
                .map(|(a, b)| a * b)
                .sum::<f64>()
                + u[w];
            z.tanh()
        })
        .collect();
    let vbar = v.iter().sum::<f64>() / n.max(1) as f64;
    let mut cov = vec![0.0f64; m];
    for p in 0..n {
        let dv = v[p] - vbar;
        for o in 0..m {
            cov[o] += dv * e[p * m + o];
        }
    }
    let s: f64 = cov.iter().map(|c| c.abs()).sum();
    if let Some(g) = grad {
        g.iter_mut().for_each(|x| *x = 0.0);
        for p in 0..n {
            // The mean term drops out: the residuals are centred (sum_p e_{p,o} = 0).
            let delta: f64 =
                (0..m).map(|o| cov[o].signum() * e[p * m + o]).sum::<f64>() * (1.0 - v[p] * v[p]);
            for i in 0..w {
                g[i] += delta * f[p * w + i];
            }
            g[w] += delta;
        }
    }
    s
}

/// Trains the candidate pool for the next unit and returns the best.
fn best_candidate(
    net: &Network,
    data: &Dataset,
    loss: &Loss,
    opts: &CascadeOptions,
    seed: u64,
    unit: usize,
) -> Result<Candidate> {
    use rayon::prelude::*;
    let c = block(net)?;
    let n = data.len();
    let w = c.features();
    let mut f32s = vec![0.0f32; n * w];
    c.feature_rows(net.params(), &data.features, n, &mut f32s);
    let f: Vec<f64> = f32s.iter().map(|&v| v as f64).collect();
    let m = net.outputs();
    let e = residuals(net, data, loss);
    // Scores are reported relative to the residuals' norm: comparable across units.
    let norm = e.iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-300);
    let pool: Vec<Candidate> = (0..opts.candidates)
        .into_par_iter()
        .map(|k| {
            let mut rng = Rng::seed_from(
                seed ^ (unit as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
                    ^ (k as u64 + 1).wrapping_mul(0xC2B2_AE3D_27D4_EB4F),
            );
            let a = 1.0 / (w as f64).sqrt();
            let mut u: Vec<f64> = (0..=w)
                .map(|_| rng.uniform_range(-1.0, 1.0) as f64 * a)
                .collect();
            let initial = score(&f, w, &e, m, &u, None) / norm;
            let (mut mo, mut ve) = (vec![0.0f64; w + 1], vec![0.0f64; w + 1]);
            let mut g = vec![0.0f64; w + 1];
            let (b1, b2) = (0.9f64, 0.999f64);
            for t in 1..=opts.candidate_epochs {
                score(&f, w, &e, m, &u, Some(&mut g));
                let gn = g.iter().map(|x| x * x).sum::<f64>().sqrt();
                if gn == 0.0 {
                    break;
                }
                let (c1, c2) = (1.0 - b1.powi(t as i32), 1.0 - b2.powi(t as i32));
                for i in 0..=w {
                    mo[i] = b1 * mo[i] + (1.0 - b1) * g[i];
                    ve[i] = b2 * ve[i] + (1.0 - b2) * g[i] * g[i];
                    // Ascent: S is maximized.
                    u[i] += opts.candidate_lr * (mo[i] / c1) / ((ve[i] / c2).sqrt() + 1e-12);
                }
            }
            let score = score(&f, w, &e, m, &u, None) / norm;
            Candidate {
                bias: u[w],
                weights: u[..w].to_vec(),
                initial,
                score,
            }
        })
        .collect();
    pool.into_iter()
        .filter(|c| c.score.is_finite())
        .reduce(|a, b| if b.score > a.score { b } else { a })
        .ok_or_else(|| Error::InvalidData("every cascade candidate diverged".into()))
}

/// The network with `cand` installed as a new frozen hidden unit, its output weights zero.
fn install(net: &Network, cand: &Candidate, seed: u64) -> Result<Network> {
    let c = block(net)?;
    let (h, m, w) = (c.hidden, c.outputs, c.features());
    let spec = ModelSpec {
        inputs: c.in_features,
        layers: vec![LayerSpec::Cascade {
            hidden: h + 1,
            outputs: m,
            frozen: true,
        }],
    };
    let mut grown = spec.build(seed)?;
    let old = net.params();
    let units = c.unit_offset(h);
    let mut p = Vec::with_capacity(grown.n_params());
    p.extend_from_slice(&old[..units]);
    p.extend(cand.weights.iter().map(|&v| v as f32));
    p.push(cand.bias as f32);
    let oo = c.output_offset();
    for j in 0..m {
        p.extend_from_slice(&old[oo + j * w..oo + (j + 1) * w]);
        p.push(0.0);
    }
    p.extend_from_slice(&old[oo + m * w..]);
    grown.set_params(p)?;
    Ok(grown)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estimator::MlpBuilder;
    use crate::optim::OptimizerConfig;
    use crate::train::{NoHooks, ValidationSplit};

    fn xor() -> Dataset {
        let mut x = Vec::new();
        let mut labels = Vec::new();
        for _ in 0..10 {
            for (a, b) in [(0.0f32, 0.0f32), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0)] {
                x.extend([a, b]);
                labels.push(usize::from((a > 0.5) != (b > 0.5)));
            }
        }
        Dataset::new(
            x,
            2,
            Targets::Classes {
                labels,
                n_classes: 2,
            },
        )
        .expect("xor")
    }

    #[test]
    fn solves_xor_with_at_most_three_units_and_candidates_gain_correlation() {
        let data = xor();
        let mut session = MlpBuilder::classifier()
            .hidden(&[])
            .optimizer(OptimizerConfig::from_name("rprop").expect("rprop"))
            .epochs(100)
            .weight_decay(0.0)
            .validation(ValidationSplit::None)
            .seed(1)
            .session(
                &data,
                None,
                crate::model::InputSchema::Matrix {
                    feature_names: vec!["a".into(), "b".into()],
                    source: "xor".into(),
                    value_scale: None,
                },
                crate::estimator::encode_targets(&data, None)
                    .expect("targets")
                    .1,
                &[],
                "xor".into(),
            )
            .expect("session");
        let opts = CascadeOptions {
            max_hidden: 3,
            ..CascadeOptions::default()
        };
        let (_, report) = grow(&mut session, &opts, &mut NoHooks).expect("grow");
        assert!(report.units <= 3);
        for (before, after) in &report.scores {
            assert!(after >= before, "S fell from {before} to {after}");
        }
        let acc = session
            .model()
            .evaluate(&data)
            .expect("evaluate")
            .accuracy()
            .expect("accuracy");
        assert_eq!(acc, 1.0, "report {report:?}");
    }
}
