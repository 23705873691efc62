//! Hardware-constrained weight updates (the electronic-synapse rule of "Adaptive learning rule for
//! hardware-based deep neural networks using electronic synapse devices", TECHNIQUES.md #33):
//! a device changes a weight only by a whole number of programming pulses, each of a fixed size,
//! and only by a bounded amount per update.
//!
//! The rule wraps any first-order optimizer: the optimizer computes its step
//! `d = p_new - p_old` as in software (its moments or momentum advance as usual), and the step
//! actually applied is `d` rounded to the nearest of `N` levels evenly spaced in `[-B, B]`:
//! `delta = 2B / (N - 1)`, `applied = clamp(round(d / delta), -(N-1)/2, (N-1)/2) * delta`
//! (ties away from zero). `N` is odd, so that "no pulse" (0) is a level: a step smaller than
//! `delta / 2` leaves the weight unchanged. Choose `delta` near the optimizer's typical step
//! (about the learning rate for Adam) or most updates vanish.
//!
//! With a [`DeviceModel`] (`--update-nonlinearity`, `--update-rule`, `--update-device-pulses`),
//! the rounded step is a signed pulse count sent to a simulated conductance pair per weight, whose
//! nonlinear, asymmetric curve decides how far the weight actually moves (see
//! [`device`](super::device)); without one, the weight moves by exactly the rounded step (the
//! linear device of unlimited range).

use super::device::DeviceModel;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// Quantized, bounded weight updates: `levels` levels evenly spaced in `[-bound, bound]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateConstraint {
    /// Number of update levels (odd, at least 3: 3 is ternary `{-B, 0, B}`).
    pub levels: u32,
    /// The largest update magnitude `B` (finite, positive).
    pub bound: f32,
    /// The simulated synapse device the pulses program, if any (`None`: the weight moves by
    /// exactly the rounded step).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<DeviceModel>,
}

impl UpdateConstraint {
    /// A checked constraint.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for an even or too small `levels`, or a non-positive or
    /// non-finite `bound`.
    pub fn new(levels: u32, bound: f32) -> Result<Self> {
        let c = UpdateConstraint {
            levels,
            bound,
            device: None,
        };
        c.validate()?;
        Ok(c)
    }

    /// Checks the ranges (also for a constraint read from a file).
    ///
    /// # Errors
    /// As [`UpdateConstraint::new`].
    pub fn validate(&self) -> Result<()> {
        if self.levels < 3 || self.levels.is_multiple_of(2) {
            return Err(Error::config(
                "update-levels",
                format!(
                    "must be odd and at least 3 (so that a zero update is a level); got {}",
                    self.levels
                ),
            ));
        }
        if !(self.bound.is_finite() && self.bound > 0.0 && self.step().is_normal()) {
            return Err(Error::config(
                "update-bound",
                format!("must be finite and positive; got {}", self.bound),
            ));
        }
        if let Some(d) = &self.device {
            d.validate()?;
        }
        Ok(())
    }

    /// The same constraint with its pulses sent to `device`.
    ///
    /// # Errors
    /// As [`DeviceModel::validate`].
    pub fn with_device(mut self, device: DeviceModel) -> Result<Self> {
        device.validate()?;
        self.device = Some(device);
        Ok(self)
    }

    /// A device's full conductance in weight units: `P` nominal pulses, `P * delta`.
    pub fn device_range(&self) -> Option<f32> {
        self.device.map(|d| d.pulses as f32 * self.step())
    }

    /// The spacing of the levels, `2B / (N - 1)`: the size of one pulse.
    pub fn step(&self) -> f32 {
        2.0 * self.bound / (self.levels - 1) as f32
    }

    /// The largest number of pulses in one update, `(N - 1) / 2`.
    pub fn max_pulses(&self) -> u32 {
        (self.levels - 1) / 2
    }

    /// `d` on the grid: the nearest level, ties away from zero, clamped to `[-B, B]` (NaN maps
    /// to 0: no pulse).
    #[inline]
    pub fn quantize(&self, d: f32) -> f32 {
        let m = self.max_pulses() as f32;
        let n = (d / self.step()).round().clamp(-m, m);
        if n.is_nan() { 0.0 } else { n * self.step() }
    }

    /// Replaces each step the optimizer took (`params[i] - before[i]`) by its value on the grid:
    /// `params[i] = before[i] + quantize(params[i] - before[i])`.
    ///
    /// # Panics
    /// When `before` is shorter than `params` (a caller bug: it is a copy of them).
    pub fn apply(&self, before: &[f32], params: &mut [f32]) {
        assert!(
            before.len() >= params.len(),
            "update constraint: short copy"
        );
        for (p, &b) in params.iter_mut().zip(before) {
            *p = b + self.quantize(*p - b);
        }
    }

    /// The device path of [`UpdateConstraint::apply`]: each step, rounded to whole pulses, is
    /// sent to the weight's conductance pair (`g_plus`, `g_minus`, normalised to the device
    /// range), and the weights become the pairs' values. `fresh` pairs are first programmed with
    /// the weights in `before`. Does nothing without a device.
    pub(crate) fn apply_device(
        &self,
        before: &[f32],
        params: &mut [f32],
        g_plus: &mut [f32],
        g_minus: &mut [f32],
        fresh: bool,
    ) {
        let (Some(device), Some(gmax)) = (self.device, self.device_range()) else {
            return;
        };
        let step = self.step();
        let pulses: Vec<f32> = params
            .iter()
            .zip(before)
            .map(|(&p, &b)| self.quantize(p - b) / step)
            .map(f32::round)
            .collect();
        if fresh {
            let mut programmed = before.to_vec();
            device.program(gmax, &mut programmed, g_plus, g_minus);
        }
        device.pulse(gmax, pulses.into_iter(), params, g_plus, g_minus);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_land_on_the_grid_within_the_bound() {
        let c = UpdateConstraint::new(5, 0.02).expect("valid");
        assert_eq!(c.step(), 0.01);
        assert_eq!(c.max_pulses(), 2);
        assert_eq!(c.quantize(0.0049), 0.0);
        assert_eq!(c.quantize(0.0051), 0.01);
        assert_eq!(c.quantize(-0.0151), -0.02);
        assert_eq!(c.quantize(0.5), 0.02, "clamped to the bound");
        assert_eq!(c.quantize(-7.0), -0.02);
        assert_eq!(c.quantize(f32::NAN), 0.0);
        let before = [1.0f32, -0.5, 0.25, 0.0];
        let mut p = [1.004f32, -0.513, 0.95, -0.0];
        c.apply(&before, &mut p);
        for (&a, &b) in p.iter().zip(&before) {
            let n = (a - b) / c.step();
            assert!((n - n.round()).abs() < 1e-3, "{a} - {b} is {n} steps");
            assert!((a - b).abs() <= c.bound * (1.0 + 1e-5));
        }
        assert_eq!(p[0], 1.0, "a step under half a pulse vanishes");
    }

    #[test]
    fn bad_settings_are_refused_by_flag() {
        for (n, b) in [
            (4, 0.1),
            (1, 0.1),
            (0, 0.1),
            (3, 0.0),
            (3, -1.0),
            (3, f32::NAN),
        ] {
            let err = UpdateConstraint::new(n, b)
                .expect_err("invalid")
                .to_string();
            assert!(
                err.contains("update-levels") || err.contains("update-bound"),
                "{err}"
            );
        }
        assert!(UpdateConstraint::new(3, 1.0).is_ok());
    }
}
