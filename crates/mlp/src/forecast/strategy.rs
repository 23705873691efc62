//! Multi-step strategies.
//!
//! * **Recursive**: the network predicts one step; each prediction is appended to the history
//!   and the window slides forward, `H` times.
//! * **Direct**: the network has one output head per step (`H` linear units on a shared trunk,
//!   [`crate::architectures::SequenceLayout::horizon`] `= H`) and predicts the whole horizon
//!   from the observed window at once. Horizons longer than the trained one are produced
//!   block by block, each block fed back like a recursive step.
//!
//! [`roll_forward`] implements both (a block of 1 or `H` steps) for several trajectories at once,
//! which Monte-Carlo dropout uses to sample whole paths.

use super::window::{Embedding, Normalize, push_input_row};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// How a horizon of several steps is produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// One-step model applied repeatedly on its own predictions.
    #[default]
    Recursive,
    /// One head per step of the horizon.
    Direct,
}

impl Strategy {
    /// Steps the network predicts per call for a trained `horizon`.
    pub fn block(self, horizon: usize) -> usize {
        match self {
            Strategy::Recursive => 1,
            Strategy::Direct => horizon.max(1),
        }
    }
}

impl std::str::FromStr for Strategy {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "recursive" | "iterated" => Ok(Strategy::Recursive),
            "direct" | "mimo" => Ok(Strategy::Direct),
            other => Err(Error::config(
                "strategy",
                format!("unknown '{other}'; one of recursive, direct"),
            )),
        }
    }
}

/// Maps `n` network input rows to `n` output rows (see [`roll_forward`]).
pub type PredictRows<'a> = dyn FnMut(&[f32], usize) -> Result<Vec<f32>> + 'a;

/// What [`roll_forward`] needs to know about the network rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RollShape {
    /// The lag embedding.
    pub embedding: Embedding,
    /// The window normalization.
    pub normalize: Normalize,
    /// Steps per network call.
    pub block: usize,
}

/// Forecasts `steps` ahead of the end of `history` (scaled channels, each at least one window
/// long) along `paths` trajectories.
///
/// `exog_future(k)` gives the exogenous features of future step `k` (1-based, possibly beyond
/// `steps` up to the end of the last block). `predict(rows, n)` maps `n` input rows to `n`
/// output rows (`channels * block` values each; different trajectories may get different
/// outputs, e.g. under Monte-Carlo dropout). Returns `[path][channel][step]` in scaled units.
pub fn roll_forward(
    history: &[Vec<f64>],
    shape: RollShape,
    steps: usize,
    paths: usize,
    exog_future: &dyn Fn(usize) -> Vec<f32>,
    predict: &mut PredictRows,
) -> Result<Vec<Vec<Vec<f64>>>> {
    let channels = history.len();
    let span = shape.embedding.span();
    if let Some(short) = history.iter().find(|h| h.len() < span) {
        return Err(Error::InvalidData(format!(
            "the history has {} steps; the model needs at least {span}",
            short.len()
        )));
    }
    // Each trajectory keeps the last window of history plus its own predictions.
    let tail = |h: &Vec<f64>| h[h.len() - span..].to_vec();
    let mut ext: Vec<Vec<Vec<f64>>> = (0..paths)
        .map(|_| history.iter().map(tail).collect())
        .collect();
    let block = shape.block.max(1);
    let mut x = Vec::new();
    let mut exog = Vec::new();
    let mut done = 0;
    while done < steps {
        exog.clear();
        for k in 1..=block {
            exog.extend(exog_future(done + k));
        }
        x.clear();
        let mut anchors = Vec::with_capacity(paths);
        for traj in &ext {
            let refs: Vec<&[f64]> = traj.iter().map(Vec::as_slice).collect();
            let origin = traj[0].len() - 1;
            anchors.push(push_input_row(
                &refs,
                origin,
                shape.embedding,
                shape.normalize,
                &exog,
                &mut x,
            ));
        }
        let out = predict(&x, paths)?;
        if out.len() != paths * channels * block {
            return Err(Error::shape(
                "forecast",
                paths * channels * block,
                out.len(),
            ));
        }
        for (p, traj) in ext.iter_mut().enumerate() {
            for (c, series) in traj.iter_mut().enumerate() {
                for h in 0..block {
                    let v = out[(p * channels + c) * block + h] as f64 + anchors[p][c];
                    series.push(v);
                }
            }
        }
        done += block;
    }
    Ok(ext
        .into_iter()
        .map(|traj| {
            traj.into_iter()
                .map(|s| s[span..span + steps].to_vec())
                .collect()
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recursive_and_direct_roll_a_known_rule_forward() {
        // A "network" that knows y[t+1] = y[t] + (y[t] - y[t-1]) (a straight line), for both
        // normalizations; direct predicts h steps of the same line at once.
        let history = vec![vec![1.0, 2.0, 3.0]];
        let emb = Embedding { tau: 1, dim: 2 };
        for normalize in [Normalize::Last, Normalize::Global] {
            for (strategy, block) in [(Strategy::Recursive, 1), (Strategy::Direct, 3)] {
                assert_eq!(strategy.block(3), block);
                let shape = RollShape {
                    embedding: emb,
                    normalize,
                    block,
                };
                let mut calls = 0;
                let mut predict = |x: &[f32], n: usize| -> Result<Vec<f32>> {
                    calls += 1;
                    let mut out = Vec::new();
                    for r in 0..n {
                        let (a, b) = (x[r * 2], x[r * 2 + 1]);
                        for h in 1..=block {
                            out.push(b + h as f32 * (b - a));
                        }
                    }
                    Ok(out)
                };
                let got = roll_forward(&history, shape, 5, 2, &|_| vec![], &mut predict)
                    .expect("test setup");
                assert_eq!(got.len(), 2);
                assert_eq!(got[1][0], vec![4.0, 5.0, 6.0, 7.0, 8.0], "{strategy:?}");
                assert_eq!(calls, 5usize.div_ceil(block));
            }
        }
        let shape = RollShape {
            embedding: Embedding { tau: 2, dim: 3 },
            normalize: Normalize::Last,
            block: 1,
        };
        let mut never = |_: &[f32], _: usize| -> Result<Vec<f32>> { Ok(vec![]) };
        assert!(roll_forward(&history, shape, 1, 1, &|_| vec![], &mut never).is_err());
    }

    #[test]
    fn exogenous_features_of_future_steps_reach_the_network() {
        let history = vec![vec![0.0, 0.0]];
        let shape = RollShape {
            embedding: Embedding { tau: 1, dim: 1 },
            normalize: Normalize::Global,
            block: 1,
        };
        // The network returns its exogenous input: the forecast is the known future feature.
        let mut echo = |x: &[f32], n: usize| -> Result<Vec<f32>> {
            Ok((0..n).map(|r| x[r * 2 + 1]).collect())
        };
        let got = roll_forward(&history, shape, 3, 1, &|k| vec![10.0 * k as f32], &mut echo)
            .expect("test setup");
        assert_eq!(got[0][0], vec![10.0, 20.0, 30.0]);
    }
}
