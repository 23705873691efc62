//! A simulated electronic synapse: each weight is a pair of device conductances,
//! `w = G+ - G-`, changed only by programming pulses whose effect follows the device's
//! nonlinear, asymmetric conductance curve ("Adaptive learning rule for hardware-based deep
//! neural networks using electronic synapse devices", TECHNIQUES.md #33).
//!
//! Conductance curve. A device spans `P` pulses from `G = 0` to `G = Gmax`. Potentiation pulse
//! number `p` gives `G(p) = Gmax (1 - e^{-nu p / P}) / (1 - e^{-nu})` (linear, `Gmax p / P`, as
//! `nu -> 0`): with `nu > 0`, early pulses move the conductance more than late ones.
//! Depression mirrors it (`G_d(q) = Gmax - G(q)` after `q` depression pulses from `Gmax`), so a
//! depression pulse moves a high conductance more than a low one — potentiation and depression
//! are asymmetric, and a pulse up followed by a pulse down does not return to the start.
//!
//! The optimizer's step `d` for a weight is turned into a pulse count by
//! [`UpdateConstraint::quantize`](super::constrained::UpdateConstraint::quantize) (round to the
//! nominal pulse size `delta = 2B / (N - 1)`, at most `(N - 1) / 2` pulses per update), and
//! `Gmax = P * delta`: in the linear case one pulse is one nominal level.
//!
//! Rules:
//! - [`DeviceRule::Bidirectional`]: one device per weight against a fixed reference
//!   `G- = Gmax / 2`; `d > 0` potentiates it, `d < 0` depresses it. Weights lie in
//!   `[-Gmax/2, Gmax/2]`.
//! - [`DeviceRule::Unidirectional`]: the pair is only ever potentiated — `G+` for `d > 0`, `G-`
//!   for `d < 0` — which uses the potentiation curve alone and so sidesteps the asymmetry; when
//!   the device to pulse would pass its last pulse, the pair is refreshed: both are reset to zero
//!   and the weight's magnitude is reprogrammed into one of them (to the nearest pulse level),
//!   then the update is applied. Weights lie in `[-Gmax, Gmax]`.
//!
//! The conductances are training state (kept with the optimizer's buffers, so checkpoints resume
//! bit-identically). When they are first created, the weights are programmed into the devices
//! (clamped to the range and rounded to the nearest pulse level). Not modelled: device-to-device
//! variation of `nu` and `Gmax`, read noise.

use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// How updates are applied to a weight's conductance pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceRule {
    /// One device potentiated or depressed against a fixed mid-range reference.
    Bidirectional,
    /// A pair of devices, each only potentiated, refreshed when one saturates.
    Unidirectional,
}

impl std::str::FromStr for DeviceRule {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "bidirectional" => Ok(DeviceRule::Bidirectional),
            "unidirectional" => Ok(DeviceRule::Unidirectional),
            other => Err(Error::config(
                "update-rule",
                format!("unknown rule '{other}' (expected bidirectional or unidirectional)"),
            )),
        }
    }
}

/// The device behind every weight: pulses per full range, nonlinearity and update rule.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceModel {
    /// Pulses `P` from the lowest to the highest conductance (at least 2).
    pub pulses: u32,
    /// Nonlinearity `nu` of the conductance curve (0 = linear; finite, at least 0).
    pub nonlinearity: f32,
    /// Update rule.
    pub rule: DeviceRule,
}

/// Names of the conductance buffers kept with the optimizer's state.
pub(crate) const G_PLUS: &str = "device.g_plus";
/// See [`G_PLUS`].
pub(crate) const G_MINUS: &str = "device.g_minus";

/// Below this `nu` the curve is treated as linear (its closed form divides by `1 - e^{-nu}`).
const LINEAR_NU: f64 = 1e-6;

impl DeviceModel {
    /// Checks the ranges.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for fewer than 2 pulses or a negative or non-finite
    /// nonlinearity.
    pub fn validate(&self) -> Result<()> {
        if self.pulses < 2 {
            return Err(Error::config(
                "update-device-pulses",
                format!("must be at least 2; got {}", self.pulses),
            ));
        }
        if !(self.nonlinearity.is_finite() && self.nonlinearity >= 0.0) {
            return Err(Error::config(
                "update-nonlinearity",
                format!("must be finite and at least 0; got {}", self.nonlinearity),
            ));
        }
        Ok(())
    }

    /// The normalised potentiation curve `g(p) = G(p) / Gmax` at (real) pulse number `p`.
    fn curve(&self, p: f64) -> f64 {
        let big_p = f64::from(self.pulses);
        let p = p.clamp(0.0, big_p);
        let nu = f64::from(self.nonlinearity);
        if nu < LINEAR_NU {
            p / big_p
        } else {
            (-(-nu * p / big_p).exp_m1()) / (-(-nu).exp_m1())
        }
    }

    /// The inverse of [`DeviceModel::curve`]: the (real) pulse number where `g` is reached.
    fn pulse_of(&self, g: f64) -> f64 {
        let big_p = f64::from(self.pulses);
        let g = g.clamp(0.0, 1.0);
        let nu = f64::from(self.nonlinearity);
        if nu < LINEAR_NU {
            g * big_p
        } else {
            // 1 - e^{-nu p/P} = g (1 - e^{-nu})  =>  p = -P/nu * ln(1 - g (1 - e^{-nu})).
            let k = -(-nu).exp_m1();
            (-big_p / nu * (-g * k).ln_1p()).clamp(0.0, big_p)
        }
    }

    /// `g` after `n` potentiation pulses (saturating at 1).
    fn potentiate(&self, g: f64, n: f64) -> f64 {
        self.curve(self.pulse_of(g) + n)
    }

    /// `g` after `n` depression pulses (saturating at 0): the mirrored curve.
    fn depress(&self, g: f64, n: f64) -> f64 {
        1.0 - self.potentiate(1.0 - g, n)
    }

    /// `g` rounded to the nearest level the potentiation curve reaches from zero.
    fn snap(&self, g: f64) -> f64 {
        self.curve(self.pulse_of(g).round())
    }

    /// Programs `weights` into fresh conductance pairs (normalised to `Gmax = 1`), `gmax` being
    /// the full conductance in weight units; the weights become the devices' values.
    pub(crate) fn program(
        &self,
        gmax: f32,
        weights: &mut [f32],
        g_plus: &mut [f32],
        g_minus: &mut [f32],
    ) {
        let gmax = f64::from(gmax);
        for ((w, gp), gm) in weights
            .iter_mut()
            .zip(g_plus.iter_mut())
            .zip(g_minus.iter_mut())
        {
            let x = f64::from(*w) / gmax;
            let (p, m) = match self.rule {
                DeviceRule::Bidirectional => (self.snap(x + 0.5), 0.5),
                DeviceRule::Unidirectional if x >= 0.0 => (self.snap(x), 0.0),
                DeviceRule::Unidirectional => (0.0, self.snap(-x)),
            };
            *gp = p as f32;
            *gm = m as f32;
            *w = ((p - m) * gmax) as f32;
        }
    }

    /// Applies `pulses[i]` (signed pulse counts) to each weight's pair and writes the resulting
    /// weights; `gmax` as in [`DeviceModel::program`].
    pub(crate) fn pulse(
        &self,
        gmax: f32,
        pulses: impl Iterator<Item = f32>,
        weights: &mut [f32],
        g_plus: &mut [f32],
        g_minus: &mut [f32],
    ) {
        let big_p = f64::from(self.pulses);
        let gmax = f64::from(gmax);
        for (((n, w), gp), gm) in pulses
            .zip(weights.iter_mut())
            .zip(g_plus.iter_mut())
            .zip(g_minus.iter_mut())
        {
            let n = f64::from(n);
            let (mut p, mut m) = (f64::from(*gp), f64::from(*gm));
            if n != 0.0 && n.is_finite() {
                match self.rule {
                    DeviceRule::Bidirectional => {
                        p = if n > 0.0 {
                            self.potentiate(p, n)
                        } else {
                            self.depress(p, -n)
                        };
                    }
                    DeviceRule::Unidirectional => {
                        let target = if n > 0.0 { p } else { m };
                        if self.pulse_of(target) + n.abs() > big_p + 1e-9 {
                            // Refresh: reset the pair and reprogram the weight's magnitude.
                            let x = p - m;
                            (p, m) = if x >= 0.0 {
                                (self.snap(x), 0.0)
                            } else {
                                (0.0, self.snap(-x))
                            };
                        }
                        if n > 0.0 {
                            p = self.potentiate(p, n);
                        } else {
                            m = self.potentiate(m, -n);
                        }
                    }
                }
            }
            *gp = p as f32;
            *gm = m as f32;
            *w = ((p - m) * gmax) as f32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev(nu: f32, rule: DeviceRule) -> DeviceModel {
        DeviceModel {
            pulses: 100,
            nonlinearity: nu,
            rule,
        }
    }

    #[test]
    fn curve_and_its_inverse_agree_and_bend_with_nu() {
        for nu in [0.0f32, 1.0, 5.0] {
            let d = dev(nu, DeviceRule::Bidirectional);
            assert_eq!(d.curve(0.0), 0.0);
            assert!((d.curve(100.0) - 1.0).abs() < 1e-12);
            for p in [0.0, 3.0, 50.0, 99.5] {
                assert!((d.pulse_of(d.curve(p)) - p).abs() < 1e-8, "nu {nu} p {p}");
            }
        }
        let lin = dev(0.0, DeviceRule::Bidirectional);
        assert!((lin.curve(25.0) - 0.25).abs() < 1e-12);
        // nu = 5: the first pulse moves G far more than the last (1 - e^{-5/100}) vs e^{-5}.
        let nl = dev(5.0, DeviceRule::Bidirectional);
        let first = nl.curve(1.0) - nl.curve(0.0);
        let last = nl.curve(100.0) - nl.curve(99.0);
        assert!(first > 100.0 * last, "first {first} last {last}");
    }

    #[test]
    fn potentiation_and_depression_are_asymmetric_unless_linear() {
        let lin = dev(0.0, DeviceRule::Bidirectional);
        let g = 0.3;
        assert!((lin.depress(lin.potentiate(g, 4.0), 4.0) - g).abs() < 1e-12);
        let nl = dev(5.0, DeviceRule::Bidirectional);
        let up_down = nl.depress(nl.potentiate(g, 4.0), 4.0);
        assert!((up_down - g).abs() > 1e-3, "{up_down} vs {g}");
        // Saturation at the ends.
        assert_eq!(nl.potentiate(0.9, 1e6), 1.0);
        assert!(nl.depress(0.1, 1e6).abs() < 1e-12);
    }

    #[test]
    fn bidirectional_linear_updates_are_whole_pulses_within_the_range() {
        let d = dev(0.0, DeviceRule::Bidirectional);
        let gmax = 1.0;
        let mut w = [0.013f32, -0.2, 0.7];
        let (mut gp, mut gm) = ([0.0f32; 3], [0.0f32; 3]);
        d.program(gmax, &mut w, &mut gp, &mut gm);
        // Programmed to the nearest of 100 levels around the mid reference, clamped to 0.5.
        assert!((w[0] - 0.01).abs() < 1e-6, "{w:?}");
        assert!((w[1] + 0.2).abs() < 1e-6);
        assert!((w[2] - 0.5).abs() < 1e-6, "clamped: {w:?}");
        d.pulse(
            gmax,
            [2.0f32, -3.0, 1.0].into_iter(),
            &mut w,
            &mut gp,
            &mut gm,
        );
        assert!((w[0] - 0.03).abs() < 1e-6, "{w:?}");
        assert!((w[1] + 0.23).abs() < 1e-6, "{w:?}");
        assert!((w[2] - 0.5).abs() < 1e-6, "saturated: {w:?}");
    }

    #[test]
    fn unidirectional_only_potentiates_and_refreshes_a_saturated_pair() {
        let d = DeviceModel {
            pulses: 10,
            nonlinearity: 0.0,
            rule: DeviceRule::Unidirectional,
        };
        let mut w = [0.0f32];
        let (mut gp, mut gm) = ([0.0f32], [0.0f32]);
        d.program(1.0, &mut w, &mut gp, &mut gm);
        d.pulse(1.0, [8.0f32].into_iter(), &mut w, &mut gp, &mut gm);
        d.pulse(1.0, [-5.0f32].into_iter(), &mut w, &mut gp, &mut gm);
        assert!((gp[0] - 0.8).abs() < 1e-6 && (gm[0] - 0.5).abs() < 1e-6);
        assert!((w[0] - 0.3).abs() < 1e-6);
        // G- would pass its 10th pulse: refresh to (0.3, 0), then G- gets 6 pulses.
        d.pulse(1.0, [-6.0f32].into_iter(), &mut w, &mut gp, &mut gm);
        assert!((gp[0] - 0.3).abs() < 1e-6, "{gp:?}");
        assert!((gm[0] - 0.6).abs() < 1e-6, "{gm:?}");
        assert!((w[0] + 0.3).abs() < 1e-6, "{w:?}");
    }

    #[test]
    fn bad_settings_are_refused_by_flag() {
        let mut d = dev(1.0, DeviceRule::Bidirectional);
        d.pulses = 1;
        assert!(
            d.validate()
                .expect_err("1 pulse")
                .to_string()
                .contains("update-device-pulses")
        );
        let d = dev(-1.0, DeviceRule::Bidirectional);
        assert!(
            d.validate()
                .expect_err("nu < 0")
                .to_string()
                .contains("update-nonlinearity")
        );
        let d = dev(f32::NAN, DeviceRule::Bidirectional);
        assert!(d.validate().is_err());
        assert!("sideways".parse::<DeviceRule>().is_err());
        assert_eq!(
            "unidirectional".parse::<DeviceRule>().expect("rule"),
            DeviceRule::Unidirectional
        );
    }
}
