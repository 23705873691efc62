//! Deep ensembles (Lakshminarayanan, Pritzel & Blundell 2017): `K` networks of the same
//! architecture, trained on the same rows from different random starts, averaged at prediction
//! time.
//!
//! # Training
//! [`TrainConfig::with_ensemble`](crate::train::TrainConfig::with_ensemble) (`mlp train
//! --ensemble K`, [`MlpBuilder::ensemble`](crate::estimator::MlpBuilder::ensemble)) trains `K`
//! members. They share everything the data decides (the validation and calibration splits, the
//! feature and target scaling) and differ in their seed, which draws the initial weights, the
//! batch order and the dropout masks. Member `m` uses [`member_seed`]`(seed, m)`: member 0 the
//! seed itself, member `m >= 1` the first output of the crate's generator seeded with
//! `seed ^ (m * 0x9E3779B97F4A7C15)`.
//!
//! Every member trains on one thread, and the members run side by side on
//! `min(threads, K)` workers. So a member's weights depend only on the seed and its index, and
//! the ensemble is bit-identical for a given seed **whatever the thread count** (member 0 equals
//! a single-network run with the same seed and `threads = 1`). Hooks (progress, checkpoints,
//! interruption) see member 0 only; the history and the outcome in the model file are member
//! 0's, except that a member that diverged makes the outcome its divergence. A run interrupted
//! and resumed retrains members 1.. from their start, which gives the same weights.
//!
//! # Prediction
//! Classification: the mean of the members' probabilities; regression: the mean of their values;
//! multi-label: the mean of the per-label probabilities. Everything that predicts (predict,
//! eval, cross-validation, test metrics, conformal scores, temperature scaling) goes through
//! [`Model::forward`], which returns the ensemble's *combined outputs*: the mean (regression),
//! `ln pbar` (softmax classifiers: its softmax is `pbar`), or `logit(pbar)` (sigmoid outputs).
//! A fitted temperature `T` divides these combined logits, so calibrated probabilities are
//! `softmax(ln(pbar) / T)`. Monte-Carlo dropout cycles through the members (pass `s` uses member
//! `s mod K`), so its spread includes the members' disagreement. Attacks and verification
//! (`mlp attack`, `mlp verify`, `mlp reach`) look at member 0 only.
//!
//! # File format
//! Member 0 is stored as a single network is (`layers.{i}.*`); member `m >= 1` as
//! `members.{m}.layers.{i}.*`, with the same shapes. The metadata's `ensemble` field holds `K`
//! (absent: 1, so files from before ensembles load unchanged); loading checks that exactly the
//! members `1..K` are present with the architecture's shapes, and a file holding an ensemble is
//! written as format version 2 so that older readers refuse it instead of using member 0 alone.

use crate::estimator::Session;
use crate::loss::{Loss, softmax_rows};
use crate::model::{Model, Task};
use crate::network::Network;
use crate::rng::Rng;
use crate::train::{Hooks, Outcome, TrainState};
use crate::{Error, Result};
use std::path::Path;

/// The most members an ensemble may have (a bound on what a model file can ask to allocate).
pub const MAX_MEMBERS: usize = 64;

/// The seed of ensemble member `member` (see the module docs): `seed` for member 0.
pub fn member_seed(seed: u64, member: usize) -> u64 {
    if member == 0 {
        return seed;
    }
    Rng::seed_from(seed ^ (member as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)).next_u64()
}

/// Trains the `K = config.ensemble` members of a session (see the module docs). Member 0 is the
/// session's network, trained from the session's state with `hooks`; members 1.. are built
/// fresh and stored in the model.
pub(crate) fn train_members(
    session: &mut Session,
    hooks: &mut (dyn Hooks + Send),
) -> Result<Outcome> {
    let k = session.config.ensemble;
    let threads = match session.config.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        t => t,
    };
    let base = session.config.clone().with_threads(1);
    let spec = session.model.network.spec().clone();
    let sample_rows = session.train.len().min(4096);
    let mut members = Vec::with_capacity(k - 1);
    for m in 1..k {
        let mut net = spec.build(member_seed(base.seed, m))?;
        net.fit_kan_grids(&session.train.features, sample_rows)?;
        members.push(net);
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.min(k).max(1))
        .build()
        .map_err(|e| Error::config("threads", e.to_string()))?;
    let Session {
        model,
        train,
        val,
        state,
        ..
    } = session;
    let loss = model.loss;
    let (train, val) = (&*train, val.as_ref());
    let mut results: Vec<Option<Result<Outcome>>> = (1..k).map(|_| None).collect();
    let first = pool.scope(|s| {
        for (m, (net, slot)) in members.iter_mut().zip(results.iter_mut()).enumerate() {
            let config = base.clone().with_seed(member_seed(base.seed, m + 1));
            let loss = &loss;
            s.spawn(move |_| {
                let mut state = TrainState::default();
                let mut quiet = crate::train::NoHooks;
                *slot = Some(crate::train::train(
                    net, train, val, &config, loss, &mut state, &mut quiet,
                ));
            });
        }
        crate::train::train(&mut model.network, train, val, &base, &loss, state, hooks)
    });
    let first = first?;
    let mut outcome = first;
    for r in results {
        let o = r.ok_or_else(|| Error::InvalidData("an ensemble member did not run".into()))??;
        if o.diverged() && !outcome.diverged() && first != Outcome::Interrupted {
            outcome = o;
        }
    }
    model.members = members;
    Ok(outcome)
}

/// Combines the members' network outputs (`rows x width` each, in member order) into the
/// ensemble's outputs (see the module docs): the mean for regression, `ln(mean softmax)` for
/// softmax classifiers, `logit(mean sigmoid)` for sigmoid outputs. Sums run in f64 in member
/// order, so the result does not depend on threads.
pub(crate) fn combine(task: Task, loss: Loss, outputs: &[Vec<f32>], width: usize) -> Vec<f32> {
    let n = outputs.first().map_or(0, Vec::len);
    let k = outputs.len().max(1) as f64;
    let mut sum = vec![0.0f64; n];
    // Below this a probability is treated as this (a log of 0 would be -inf).
    const TINY: f64 = 1e-30;
    match (task, loss) {
        (Task::Regression, _) => {
            for out in outputs {
                sum.iter_mut().zip(out).for_each(|(s, &v)| *s += v as f64);
            }
            sum.iter().map(|s| (s / k) as f32).collect()
        }
        (Task::Classification, l) if l != Loss::Bce => {
            for out in outputs {
                let mut p = out.clone();
                softmax_rows(&mut p, width);
                sum.iter_mut().zip(&p).for_each(|(s, &v)| *s += v as f64);
            }
            sum.iter().map(|s| (s / k).max(TINY).ln() as f32).collect()
        }
        _ => {
            for out in outputs {
                sum.iter_mut()
                    .zip(out)
                    .for_each(|(s, &z)| *s += crate::kernels::elementwise::sigmoid(z) as f64);
            }
            sum.iter()
                .map(|s| {
                    let p = s / k;
                    (p.max(TINY).ln() - (1.0 - p).max(TINY).ln()) as f32
                })
                .collect()
        }
    }
}

impl Model {
    /// Number of ensemble members (1: a single network).
    pub fn ensemble_size(&self) -> usize {
        1 + self.members.len()
    }

    /// The networks of ensemble members 1.. (member 0 is [`Model::network`]); empty for a single
    /// network.
    pub fn members(&self) -> &[Network] {
        &self.members
    }

    /// Ensemble member `index` as a model of its own (same encodings, no stored uncertainty:
    /// conformal scores and temperature belong to the ensemble), or `None` past the last member.
    pub fn member(&self, index: usize) -> Option<Model> {
        let network = match index {
            0 => self.network.clone(),
            i => self.members.get(i - 1)?.clone(),
        };
        let mut m = self.clone();
        m.network = network;
        m.members = Vec::new();
        m.uncertainty = None;
        Some(m)
    }

    /// Every member's network, member 0 first.
    pub(crate) fn networks(&self) -> impl Iterator<Item = &Network> {
        std::iter::once(&self.network).chain(&self.members)
    }

    /// Outputs for already *scaled* features (`rows x n_features`): the network's outputs, or an
    /// ensemble's combined outputs (see the module docs). No checks: callers hold checked rows
    /// (e.g. a training session's scaled validation rows).
    pub fn forward_scaled(&self, scaled: &[f32], rows: usize) -> Vec<f32> {
        if self.members.is_empty() {
            return self.network.predict(scaled, rows);
        }
        let outputs: Vec<Vec<f32>> = self.networks().map(|n| n.predict(scaled, rows)).collect();
        combine(self.task, self.loss, &outputs, self.network.outputs())
    }
}

/// Writes members 1.. as `members.{m}.<tensor>`.
pub(crate) fn push_members(model: &Model, file: &mut crate::io::TensorFile) {
    for (m, net) in model.members.iter().enumerate() {
        for t in net.tensors() {
            file.push(
                format!("members.{}.{}", m + 1, t.name),
                t.shape.clone(),
                net.params[t.range.clone()].to_vec(),
            );
        }
    }
}

/// Reads members 1..`k` of a file whose member 0 is `first`, checking the count against the
/// tensors present (no stray or missing member) and every tensor's shape before allocating.
pub(crate) fn read_members(
    file: &crate::io::TensorFile,
    path: &Path,
    first: &Network,
    k: usize,
) -> Result<Vec<Network>> {
    let bad = |msg: String| Error::format(path, msg);
    if !(1..=MAX_MEMBERS).contains(&k) {
        return Err(bad(format!(
            "the metadata says the ensemble has {k} members; between 1 and {MAX_MEMBERS} are supported"
        )));
    }
    for (name, _, _) in &file.tensors {
        let Some(rest) = name.strip_prefix("members.") else {
            continue;
        };
        let index = rest.split('.').next().and_then(|i| i.parse::<usize>().ok());
        if !index.is_some_and(|i| (1..k).contains(&i)) {
            return Err(bad(format!(
                "tensor '{name}' belongs to no member of this {k}-member ensemble"
            )));
        }
    }
    let layers = first
        .spec()
        .layers()
        .map_err(|e| bad(format!("invalid architecture: {e}")))?;
    let mut members = Vec::with_capacity(k - 1);
    for m in 1..k {
        let prefix = format!("members.{m}.");
        crate::model::check_spec_tensors(&layers, file, path, &prefix)?;
        let mut net = first.clone();
        for t in first.tensors() {
            let name = format!("{prefix}{}", t.name);
            let (_, data) = file
                .get(&name)
                .ok_or_else(|| bad(format!("missing tensor '{name}' of ensemble member {m}")))?;
            if data.len() != t.range.len() {
                return Err(bad(format!(
                    "tensor '{name}' holds {} values, member {m} needs {}",
                    data.len(),
                    t.range.len()
                )));
            }
            net.params[t.range.clone()].copy_from_slice(data);
        }
        members.push(net);
    }
    Ok(members)
}
