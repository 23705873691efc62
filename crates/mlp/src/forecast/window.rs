//! Lag embedding: turning series into network rows laid out as
//! [`SequenceLayout`] describes, with per-series scaling fitted on the training part only.
//!
//! For origin `t` (the index of the latest observed value), delay `tau` and dimension `m`, the
//! window of channel `c` is `s_c[t - (m-1) tau], ..., s_c[t - tau], s_c[t]` (oldest first), and
//! the targets are `s_c[t+1], ..., s_c[t+H]`. The window spans `(m-1) tau + 1` steps.
//!
//! Two normalizations ([`Normalize`]):
//!
//! * `Global`: `s = (y - mean) / scale` with the training mean and standard deviation; the
//!   network sees levels.
//! * `Last` (default): every window and its targets are taken relative to the window's latest
//!   value, `x_j = (y[t-(m-1-j) tau] - y[t]) / scale` and `target_h = (y[t+h] - y[t]) / scale`,
//!   with `scale` the standard deviation of the training part's first differences. The network
//!   sees shapes, not levels, so a trending series (CO2, growth) is forecast beyond the range
//!   seen in training.
//!
//! Exogenous features follow the windows: for each of the `block` future steps the network
//! predicts, the calendar one-hots of that step and the scaled known exogenous values at that
//! step (step-major).

use crate::architectures::SequenceLayout;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// How window values are made comparable (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Normalize {
    /// Values relative to the window's latest value, scaled by the training differences.
    #[default]
    Last,
    /// Standardized levels.
    Global,
}

impl std::str::FromStr for Normalize {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "last" => Ok(Normalize::Last),
            "global" => Ok(Normalize::Global),
            other => Err(Error::config(
                "normalize",
                format!("unknown '{other}'; one of last, global"),
            )),
        }
    }
}

/// Affine scaling of one series: `s = (y - mean) / scale`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SeriesScaler {
    /// Subtracted first.
    pub mean: f64,
    /// Then divided by (never 0).
    pub scale: f64,
}

impl SeriesScaler {
    /// Fits on the training part `train` (at least 2 values): the mean and standard deviation
    /// for `Global`, 0 and the standard deviation of first differences for `Last`. A zero
    /// spread gives scale 1.
    pub fn fit(train: &[f64], normalize: Normalize) -> Result<SeriesScaler> {
        if train.len() < 2 {
            return Err(Error::InvalidData(
                "scaling needs at least 2 training values".into(),
            ));
        }
        let std = |v: &[f64]| {
            let m = v.iter().sum::<f64>() / v.len() as f64;
            let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / v.len() as f64;
            (m, var.sqrt())
        };
        let (mean, spread) = match normalize {
            Normalize::Global => std(train),
            Normalize::Last => {
                let d: Vec<f64> = train.windows(2).map(|w| w[1] - w[0]).collect();
                (0.0, std(&d).1)
            }
        };
        let scale = if spread > 1e-12 * (1.0 + mean.abs()) && spread.is_finite() {
            spread
        } else {
            1.0
        };
        Ok(SeriesScaler { mean, scale })
    }

    /// Scaled value.
    pub fn apply(&self, y: f64) -> f64 {
        (y - self.mean) / self.scale
    }

    /// Original units.
    pub fn invert(&self, s: f64) -> f64 {
        s * self.scale + self.mean
    }
}

/// Delay and dimension of the embedding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Embedding {
    /// Steps between window elements.
    pub tau: usize,
    /// Window elements per series.
    pub dim: usize,
}

impl Embedding {
    /// Steps of history one window needs: `(dim - 1) * tau + 1`.
    pub fn span(&self) -> usize {
        (self.dim.max(1) - 1) * self.tau.max(1) + 1
    }
}

/// Network rows and targets for a set of origins.
#[derive(Debug, Clone, PartialEq)]
pub struct Windows {
    /// Input rows, row-major, `layout.inputs()` wide.
    pub x: Vec<f32>,
    /// Target rows, row-major, `layout.outputs()` wide.
    pub y: Vec<f32>,
    /// The origin (latest observed index) of each row.
    pub origins: Vec<usize>,
    /// The layout of the rows.
    pub layout: SequenceLayout,
}

/// Builds the input row of one origin into `out` (appended): the windows of every channel,
/// then `exog` (already the features of the `block` future steps).
///
/// `scaled[c]` is channel `c` already scaled; with `Normalize::Last` each window is taken
/// relative to its latest value. Returns the anchor subtracted per channel (0 for `Global`).
pub(crate) fn push_input_row(
    scaled: &[&[f64]],
    origin: usize,
    emb: Embedding,
    normalize: Normalize,
    exog: &[f32],
    out: &mut Vec<f32>,
) -> Vec<f64> {
    let mut anchors = Vec::with_capacity(scaled.len());
    for s in scaled {
        let anchor = match normalize {
            Normalize::Last => s[origin],
            Normalize::Global => 0.0,
        };
        for j in 0..emb.dim {
            let back = (emb.dim - 1 - j) * emb.tau;
            out.push((s[origin - back] - anchor) as f32);
        }
        anchors.push(anchor);
    }
    out.extend_from_slice(exog);
    anchors
}

/// Windows for every origin in `origins` (each needs `origin + 1 >= span` and
/// `origin + block < len`). `exog_at(i)` gives the exogenous features of time index `i`
/// (`exog_width` values).
pub fn make_windows(
    scaled: &[&[f64]],
    emb: Embedding,
    normalize: Normalize,
    block: usize,
    exog_width: usize,
    exog_at: &dyn Fn(usize) -> Vec<f32>,
    origins: impl IntoIterator<Item = usize>,
) -> Result<Windows> {
    let layout = SequenceLayout {
        channels: scaled.len(),
        window: emb.dim,
        exog: exog_width * block,
        horizon: block,
    };
    let len = scaled.iter().map(|s| s.len()).min().unwrap_or(0);
    let mut w = Windows {
        x: Vec::new(),
        y: Vec::new(),
        origins: Vec::new(),
        layout,
    };
    let mut exog = Vec::with_capacity(layout.exog);
    for t in origins {
        if t + 1 < emb.span() || t + block >= len {
            return Err(Error::InvalidData(format!(
                "origin {t} has no full window of {} steps and {block} targets in a series of {len}",
                emb.span()
            )));
        }
        exog.clear();
        for h in 1..=block {
            exog.extend(exog_at(t + h));
        }
        let anchors = push_input_row(scaled, t, emb, normalize, &exog, &mut w.x);
        for (s, anchor) in scaled.iter().zip(anchors) {
            for h in 1..=block {
                w.y.push((s[t + h] - anchor) as f32);
            }
        }
        w.origins.push(t);
    }
    Ok(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_follow_the_sequence_layout() {
        // Two channels, tau 2, dim 3: span 5. One exogenous feature equal to the time index.
        let a: Vec<f64> = (0..10).map(|i| i as f64).collect();
        let b: Vec<f64> = (0..10).map(|i| 100.0 + i as f64).collect();
        let emb = Embedding { tau: 2, dim: 3 };
        assert_eq!(emb.span(), 5);
        let exog = |i: usize| vec![i as f32];
        let w = make_windows(&[&a, &b], emb, Normalize::Global, 2, 1, &exog, [4, 7])
            .expect("test setup");
        assert_eq!(
            w.layout,
            SequenceLayout {
                channels: 2,
                window: 3,
                exog: 2,
                horizon: 2
            }
        );
        assert_eq!(w.x.len(), 2 * w.layout.inputs());
        // Origin 4: a[0,2,4], b[0,2,4], exog of steps 5 and 6.
        assert_eq!(&w.x[..8], &[0.0, 2.0, 4.0, 100.0, 102.0, 104.0, 5.0, 6.0]);
        // Targets channel-major: a[5,6], b[5,6].
        assert_eq!(&w.y[..4], &[5.0, 6.0, 105.0, 106.0]);
        assert_eq!(&w.y[4..], &[8.0, 9.0, 108.0, 109.0]);
        // Relative to the latest value.
        let w =
            make_windows(&[&a], emb, Normalize::Last, 1, 0, &|_| vec![], [6]).expect("test setup");
        assert_eq!(w.x, vec![-4.0, -2.0, 0.0]);
        assert_eq!(w.y, vec![1.0]);
        // Out of range origins are errors, not panics.
        assert!(make_windows(&[&a], emb, Normalize::Last, 1, 0, &|_| vec![], [3]).is_err());
        assert!(make_windows(&[&a], emb, Normalize::Last, 1, 0, &|_| vec![], [9]).is_err());
    }

    #[test]
    fn scaling_round_trips_and_uses_the_training_part_only() {
        let y: Vec<f64> = (0..50)
            .map(|i| 3.0 + 0.5 * i as f64 + (i % 4) as f64)
            .collect();
        for normalize in [Normalize::Global, Normalize::Last] {
            let sc = SeriesScaler::fit(&y[..40], normalize).expect("test setup");
            for &v in &y {
                assert!((sc.invert(sc.apply(v)) - v).abs() < 1e-12);
            }
            // Fitting on the training part ignores the test part entirely.
            let mut changed = y.clone();
            changed[45] = 1e6;
            assert_eq!(
                SeriesScaler::fit(&changed[..40], normalize).expect("test setup"),
                sc
            );
        }
        let g = SeriesScaler::fit(&[1.0, 3.0], Normalize::Global).expect("test setup");
        assert_eq!((g.mean, g.scale), (2.0, 1.0));
        let l = SeriesScaler::fit(&[1.0, 2.0, 4.0], Normalize::Last).expect("test setup");
        assert_eq!((l.mean, l.scale), (0.0, 0.5));
        let flat = SeriesScaler::fit(&[5.0; 8], Normalize::Global).expect("test setup");
        assert_eq!(flat.scale, 1.0);
        assert!(SeriesScaler::fit(&[1.0], Normalize::Global).is_err());
    }

    #[test]
    fn window_targets_invert_to_the_original_values() {
        let y: Vec<f64> = (0..30)
            .map(|i| (i as f64 * 0.7).sin() * 10.0 + 50.0)
            .collect();
        let emb = Embedding { tau: 1, dim: 4 };
        for normalize in [Normalize::Global, Normalize::Last] {
            let sc = SeriesScaler::fit(&y[..20], normalize).expect("test setup");
            let s: Vec<f64> = y.iter().map(|&v| sc.apply(v)).collect();
            let w =
                make_windows(&[&s], emb, normalize, 3, 0, &|_| vec![], 3..27).expect("test setup");
            for (row, &t) in w.origins.iter().enumerate() {
                let anchor = if normalize == Normalize::Last {
                    s[t]
                } else {
                    0.0
                };
                for h in 0..3 {
                    let back = sc.invert(w.y[row * 3 + h] as f64 + anchor);
                    assert!((back - y[t + 1 + h]).abs() < 1e-4, "{normalize:?}");
                }
            }
        }
    }
}
