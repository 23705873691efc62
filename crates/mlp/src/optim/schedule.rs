//! Learning-rate schedules.
//!
//! The rate is a function of progress (epoch and step within it), except reduce-on-plateau,
//! which reacts to the validation loss reported at each epoch's end and keeps its state in
//! [`ScheduleState`] (saved in checkpoints).

use serde::{Deserialize, Serialize};

fn d_gamma() -> f32 {
    0.1
}
fn d_factor() -> f32 {
    0.1
}
fn d_patience() -> usize {
    10
}
fn d_threshold() -> f64 {
    1e-4
}

/// A learning-rate schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Schedule {
    /// The base rate throughout.
    #[default]
    Constant,
    /// `lr * gamma^floor(epoch / step_size)`.
    Step {
        /// Epochs between decays.
        step_size: usize,
        /// Decay factor.
        #[serde(default = "d_gamma")]
        gamma: f32,
    },
    /// `lr * gamma^epoch`.
    Exponential {
        /// Per-epoch decay factor.
        gamma: f32,
    },
    /// Linear warmup from ~0 to `lr` over `warmup_epochs`, then cosine decay to `min_lr` at the
    /// last step; updated every step.
    Cosine {
        /// Warmup length in epochs (0 = none).
        #[serde(default)]
        warmup_epochs: usize,
        /// Final rate.
        #[serde(default)]
        min_lr: f32,
    },
    /// Multiply by `factor` when the validation loss has not improved (by a relative
    /// `threshold`) for `patience` epochs, down to `min_lr`.
    ReduceOnPlateau {
        /// Multiplicative factor.
        #[serde(default = "d_factor")]
        factor: f32,
        /// Epochs without improvement before a reduction.
        #[serde(default = "d_patience")]
        patience: usize,
        /// Lower bound on the rate.
        #[serde(default)]
        min_lr: f32,
        /// Relative improvement that counts.
        #[serde(default = "d_threshold")]
        threshold: f64,
    },
}

/// State carried between epochs (only reduce-on-plateau uses it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleState {
    /// Current multiplier on the base rate.
    pub scale: f32,
    /// Best validation loss seen (`None` before the first epoch).
    pub best: Option<f64>,
    /// Epochs since the last improvement.
    pub bad_epochs: usize,
}

impl Default for ScheduleState {
    fn default() -> Self {
        ScheduleState {
            scale: 1.0,
            best: None,
            bad_epochs: 0,
        }
    }
}

impl Schedule {
    /// Parses a command-line form: `constant`, `step:10[:0.5]`, `exp:0.95`,
    /// `cosine[:warmup_epochs[:min_lr]]`, `plateau[:factor[:patience]]`.
    pub fn parse(text: &str) -> crate::Result<Self> {
        let parts: Vec<&str> = text.trim().split(':').collect();
        let bad = || {
            crate::Error::config(
                "schedule",
                format!(
                    "cannot read '{text}'; use constant, step:EPOCHS[:GAMMA], exp:GAMMA, cosine[:WARMUP[:MIN_LR]] or plateau[:FACTOR[:PATIENCE]]"
                ),
            )
        };
        let num = |i: usize| -> crate::Result<Option<f64>> {
            parts
                .get(i)
                .map(|s| s.parse::<f64>().map_err(|_| bad()))
                .transpose()
        };
        let s = match parts[0].to_ascii_lowercase().as_str() {
            "constant" | "none" => Schedule::Constant,
            "step" => Schedule::Step {
                step_size: num(1)?.ok_or_else(bad)? as usize,
                gamma: num(2)?.unwrap_or(0.1) as f32,
            },
            "exp" | "exponential" => Schedule::Exponential {
                gamma: num(1)?.ok_or_else(bad)? as f32,
            },
            "cosine" => Schedule::Cosine {
                warmup_epochs: num(1)?.unwrap_or(0.0) as usize,
                min_lr: num(2)?.unwrap_or(0.0) as f32,
            },
            "plateau" | "reduce_on_plateau" => Schedule::ReduceOnPlateau {
                factor: num(1)?.unwrap_or(0.1) as f32,
                patience: num(2)?.unwrap_or(10.0) as usize,
                min_lr: 0.0,
                threshold: 1e-4,
            },
            _ => return Err(bad()),
        };
        s.validate()?;
        Ok(s)
    }

    /// Checks parameter ranges.
    pub fn validate(&self) -> crate::Result<()> {
        let ok = match *self {
            Schedule::Constant => true,
            Schedule::Step { step_size, gamma } => step_size > 0 && gamma > 0.0,
            Schedule::Exponential { gamma } => gamma > 0.0,
            Schedule::Cosine { min_lr, .. } => min_lr >= 0.0,
            Schedule::ReduceOnPlateau { factor, .. } => factor > 0.0 && factor < 1.0,
        };
        if ok {
            Ok(())
        } else {
            Err(crate::Error::config(
                "schedule",
                format!("out-of-range parameter in {self:?}"),
            ))
        }
    }

    /// The rate for step `step` (0-based) of epoch `epoch` (0-based).
    pub fn lr(
        &self,
        base: f32,
        epoch: usize,
        step: usize,
        steps_per_epoch: usize,
        epochs: usize,
        state: &ScheduleState,
    ) -> f32 {
        match *self {
            Schedule::Constant => base,
            Schedule::Step { step_size, gamma } => {
                base * gamma.powi((epoch / step_size.max(1)) as i32)
            }
            Schedule::Exponential { gamma } => base * gamma.powi(epoch as i32),
            Schedule::Cosine {
                warmup_epochs,
                min_lr,
            } => {
                let spe = steps_per_epoch.max(1);
                let t = epoch * spe + step;
                let warm = warmup_epochs * spe;
                let total = (epochs * spe).max(warm + 1);
                if t < warm {
                    base * (t + 1) as f32 / warm as f32
                } else {
                    let progress = (t - warm) as f64 / (total - warm).max(1) as f64;
                    let cos = 0.5 * (1.0 + (std::f64::consts::PI * progress.min(1.0)).cos());
                    (min_lr as f64 + (base - min_lr) as f64 * cos) as f32
                }
            }
            Schedule::ReduceOnPlateau { min_lr, .. } => (base * state.scale).max(min_lr),
        }
    }

    /// Reports an epoch's validation loss (reduce-on-plateau reacts; others ignore it).
    pub fn end_epoch(&self, val_loss: f64, state: &mut ScheduleState) {
        if let Schedule::ReduceOnPlateau {
            factor,
            patience,
            threshold,
            ..
        } = *self
        {
            if state
                .best
                .is_none_or(|best| val_loss < best * (1.0 - threshold))
            {
                state.best = Some(val_loss);
                state.bad_epochs = 0;
            } else {
                state.bad_epochs += 1;
                if state.bad_epochs > patience {
                    state.scale *= factor;
                    state.bad_epochs = 0;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_by_hand() {
        let st = ScheduleState::default();
        let s = Schedule::Step {
            step_size: 2,
            gamma: 0.5,
        };
        assert_eq!(s.lr(1.0, 0, 0, 10, 10, &st), 1.0);
        assert_eq!(s.lr(1.0, 3, 0, 10, 10, &st), 0.5);
        assert_eq!(s.lr(1.0, 4, 0, 10, 10, &st), 0.25);
        let e = Schedule::Exponential { gamma: 0.9 };
        assert!((e.lr(1.0, 2, 0, 10, 10, &st) - 0.81).abs() < 1e-6);
        let c = Schedule::Cosine {
            warmup_epochs: 1,
            min_lr: 0.0,
        };
        assert!((c.lr(1.0, 0, 0, 10, 3, &st) - 0.1).abs() < 1e-6);
        assert!((c.lr(1.0, 0, 9, 10, 3, &st) - 1.0).abs() < 1e-6);
        assert!((c.lr(1.0, 1, 0, 10, 3, &st) - 1.0).abs() < 1e-6);
        assert!((c.lr(1.0, 2, 0, 10, 3, &st) - 0.5).abs() < 1e-6); // halfway through decay
        assert!(c.lr(1.0, 2, 9, 10, 3, &st) < 0.03);
    }

    #[test]
    fn plateau_reduces_after_patience() {
        let p = Schedule::ReduceOnPlateau {
            factor: 0.5,
            patience: 1,
            min_lr: 0.0,
            threshold: 0.0,
        };
        let mut st = ScheduleState::default();
        p.end_epoch(1.0, &mut st);
        p.end_epoch(1.0, &mut st);
        assert_eq!(st.scale, 1.0);
        p.end_epoch(1.0, &mut st);
        assert_eq!(st.scale, 0.5);
        assert_eq!(p.lr(0.1, 3, 0, 1, 10, &st), 0.05);
    }

    #[test]
    fn parses_command_line_forms() {
        assert_eq!(
            Schedule::parse("step:5:0.5").ok(),
            Some(Schedule::Step {
                step_size: 5,
                gamma: 0.5
            })
        );
        assert!(matches!(
            Schedule::parse("cosine:2"),
            Ok(Schedule::Cosine {
                warmup_epochs: 2,
                ..
            })
        ));
        assert!(Schedule::parse("step").is_err());
        assert!(Schedule::parse("wobble").is_err());
    }
}
