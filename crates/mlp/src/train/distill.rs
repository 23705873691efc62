//! Knowledge distillation (Hinton, Vinyals & Dean 2015): a classifier learns from a teacher's
//! soft labels as well as from the hard ones.
//!
//! Per sample, with student logits `z`, teacher logits `t`, temperature `T` and weight `A`:
//!
//! `l = (1 - A) CE(z, label) + A T^2 KL(softmax(t / T) || softmax(z / T))`
//!
//! The `T^2` keeps the soft term's gradient on the scale of the hard one as `T` grows:
//! `d/dz_j [T^2 KL] = T (softmax(z/T)_j - softmax(t/T)_j)`. The hard term is the training loss
//! (cross-entropy, with its label smoothing and class weights); sample weights weigh both.
//!
//! Teacher outputs come as logits or as probabilities ([`TeacherKind`]): probabilities `p` are
//! turned into logits `ln max(p, 1e-12)` (a softmax of which gives back `p`), so every teacher
//! (ours, scikit-learn's `predict_proba`, a PyTorch model's logits) enters the same way.

use crate::kernels::Real;
use crate::{Error, Result};

/// What the teacher's columns hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TeacherKind {
    /// Class probabilities (rows sum to 1, up to rounding).
    #[default]
    Proba,
    /// Unnormalized logits.
    Logits,
}

impl std::str::FromStr for TeacherKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "proba" | "probabilities" => Ok(TeacherKind::Proba),
            "logits" => Ok(TeacherKind::Logits),
            other => Err(Error::config(
                "teacher-kind",
                format!("unknown kind '{other}'; expected proba or logits"),
            )),
        }
    }
}

/// Soft labels for the training rows and how to weigh them.
#[derive(Debug, Clone, PartialEq)]
pub struct Distill {
    /// Teacher logits, row-major `rows x classes`, aligned with the training rows.
    pub(crate) logits: Vec<f32>,
    /// Number of classes.
    pub(crate) classes: usize,
    /// Softmax temperature `T > 0`.
    pub(crate) temperature: f32,
    /// Weight `A` of the soft term, in `[0, 1]`.
    pub(crate) weight: f32,
}

impl Distill {
    /// Soft labels from `rows x classes` teacher values of the given kind. Errors on a bad
    /// temperature or weight, a wrong length, a non-finite value, or a negative probability.
    pub fn new(
        values: &[f32],
        classes: usize,
        kind: TeacherKind,
        temperature: f32,
        weight: f32,
    ) -> Result<Distill> {
        if !(temperature.is_finite() && temperature > 0.0) {
            return Err(Error::config(
                "temperature",
                format!("must be a positive number, got {temperature}"),
            ));
        }
        if !(0.0..=1.0).contains(&weight) {
            return Err(Error::config(
                "distill-weight",
                format!("must be in [0, 1], got {weight}"),
            ));
        }
        if classes < 2 || !values.len().is_multiple_of(classes) {
            return Err(Error::shape(
                "teacher outputs",
                format!("rows x {classes} classes"),
                format!("{} values", values.len()),
            ));
        }
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(Error::InvalidData(format!(
                "teacher row {}, column {}: value {} is not finite",
                i / classes,
                i % classes,
                values[i]
            )));
        }
        let logits = match kind {
            TeacherKind::Logits => values.to_vec(),
            TeacherKind::Proba => {
                if let Some(i) = values.iter().position(|&p| p < 0.0) {
                    return Err(Error::InvalidData(format!(
                        "teacher row {}, column {}: probability {} is negative (logits need the teacher kind `logits`)",
                        i / classes,
                        i % classes,
                        values[i]
                    )));
                }
                values.iter().map(|&p| p.max(1e-12).ln()).collect()
            }
        };
        Ok(Distill {
            logits,
            classes,
            temperature,
            weight,
        })
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.logits.len() / self.classes.max(1)
    }

    /// The same soft labels for the given rows, in that order (as [`crate::data::Dataset::select`]).
    pub fn select(&self, rows: &[usize]) -> Distill {
        let k = self.classes;
        let mut logits = Vec::with_capacity(rows.len() * k);
        for &r in rows {
            logits.extend_from_slice(&self.logits[r * k..(r + 1) * k]);
        }
        Distill {
            logits,
            ..self.clone()
        }
    }

    /// The teacher logits of training row `r`.
    pub(crate) fn row(&self, r: usize) -> &[f32] {
        &self.logits[r * self.classes..(r + 1) * self.classes]
    }
}

/// `T^2 KL(softmax(t/T) || softmax(z/T))` for one row, and (when `d` is given) its gradient
/// times `g_scale` **added** to `d`.
pub fn soft_term<T: Real>(
    z: &[T],
    teacher: &[f32],
    temperature: f64,
    g_scale: T,
    d: Option<&mut [T]>,
) -> f64 {
    let k = z.len();
    let tt = T::of(temperature);
    let zmax = z
        .iter()
        .fold(T::of(f64::NEG_INFINITY), |m, &v| m.max(v / tt));
    let tmax = teacher
        .iter()
        .fold(f64::NEG_INFINITY, |m, &v| m.max(v as f64 / temperature));
    let mut zs = T::zero();
    let mut ts = 0.0f64;
    for j in 0..k {
        zs = zs + (z[j] / tt - zmax).exp();
        ts += (teacher[j] as f64 / temperature - tmax).exp();
    }
    let log_zs = zs.ln();
    let log_ts = ts.ln();
    let mut kl = 0.0f64;
    let mut d = d;
    for j in 0..k {
        let log_p = teacher[j] as f64 / temperature - tmax - log_ts;
        let p = log_p.exp();
        let log_q = z[j] / tt - zmax - log_zs;
        if p > 0.0 {
            kl += p * (log_p - log_q.to_f64_lossless());
        }
        if let Some(d) = d.as_deref_mut() {
            d[j] = d[j] + g_scale * tt * (log_q.exp() - T::of(p));
        }
    }
    temperature * temperature * kl
}

/// Mixes the distillation term into a batch's loss: scales the hard loss's gradient by `1 - A`
/// and adds `A` times the soft term's, with each sample weighted as the hard loss weighed it
/// (`w_i / sum w`). `hard` is the hard loss's `(weighted sum, weight sum)` over the batch.
/// Returns the new weighted loss sum. `rows` are the batch's training rows.
pub(crate) fn mix_into(
    distill: &Distill,
    outputs: &[f32],
    width: usize,
    rows: &[usize],
    sample_weights: Option<&[f32]>,
    hard: (f64, f64),
    d_outputs: &mut [f32],
) -> f64 {
    let (hard_loss_sum, weight_sum) = hard;
    let a = distill.weight as f64;
    d_outputs.iter_mut().for_each(|g| *g *= (1.0 - a) as f32);
    if weight_sum <= 0.0 {
        return hard_loss_sum * (1.0 - a);
    }
    let mut soft_sum = 0.0f64;
    for (i, &r) in rows.iter().enumerate() {
        let w = sample_weights.map_or(1.0, |s| s[i] as f64);
        let z = &outputs[i * width..(i + 1) * width];
        let g = (a * w / weight_sum) as f32;
        let d = &mut d_outputs[i * width..(i + 1) * width];
        soft_sum += w * soft_term(z, distill.row(r), distill.temperature as f64, g, Some(d));
    }
    (1.0 - a) * hard_loss_sum + a * soft_sum
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The distillation loss `(1-A) CE + A T^2 KL` against central finite differences in f64.
    #[test]
    fn gradient_matches_finite_differences() {
        let z = [0.3f64, -1.2, 0.7, 2.0];
        let teacher = [1.5f32, -0.5, 0.2, 0.9];
        for &temperature in &[1.0, 2.5, 4.0] {
            for &a in &[0.0f64, 0.5, 1.0] {
                let label = 2usize;
                let loss = |z: &[f64]| -> f64 {
                    let m = z.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v));
                    let lse = z.iter().map(|v| (v - m).exp()).sum::<f64>().ln() + m;
                    let ce = lse - z[label];
                    (1.0 - a) * ce + a * soft_term(z, &teacher, temperature, 0.0, None)
                };
                // Analytic: CE gradient softmax - onehot, scaled, plus the soft term.
                let m = z.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v));
                let s: f64 = z.iter().map(|v| (v - m).exp()).sum();
                let mut d: Vec<f64> = z
                    .iter()
                    .enumerate()
                    .map(|(j, v)| (1.0 - a) * ((v - m).exp() / s - f64::from(u8::from(j == label))))
                    .collect();
                soft_term(&z, &teacher, temperature, a, Some(&mut d));
                let h = 1e-6;
                for j in 0..z.len() {
                    let mut up = z;
                    let mut dn = z;
                    up[j] += h;
                    dn[j] -= h;
                    let fd = (loss(&up) - loss(&dn)) / (2.0 * h);
                    assert!(
                        (fd - d[j]).abs() < 1e-7,
                        "T={temperature} A={a} j={j}: analytic {} vs numeric {fd}",
                        d[j]
                    );
                }
            }
        }
    }

    #[test]
    fn soft_term_is_zero_when_student_matches_teacher_and_positive_otherwise() {
        let t = [0.5f32, -1.0, 2.0];
        let z: Vec<f64> = t.iter().map(|&v| v as f64 + 3.0).collect();
        assert!(soft_term(&z, &t, 2.0, 0.0, None).abs() < 1e-12);
        let other = [2.0f64, 0.0, -1.0];
        assert!(soft_term(&other, &t, 2.0, 0.0, None) > 0.01);
    }

    #[test]
    fn probabilities_become_logits_and_bad_input_is_refused() {
        let d = Distill::new(&[0.25, 0.75], 2, TeacherKind::Proba, 1.0, 0.5).expect("ok");
        assert!((d.logits[1] - d.logits[0] - 3f32.ln()).abs() < 1e-6);
        assert!(Distill::new(&[0.25, 0.75, 0.1], 2, TeacherKind::Proba, 1.0, 0.5).is_err());
        assert!(Distill::new(&[-0.25, 0.75], 2, TeacherKind::Proba, 1.0, 0.5).is_err());
        assert!(Distill::new(&[0.25, 0.75], 2, TeacherKind::Proba, 0.0, 0.5).is_err());
        assert!(Distill::new(&[0.25, 0.75], 2, TeacherKind::Proba, 1.0, 1.5).is_err());
        assert_eq!(d.select(&[0, 0]).rows(), 2);
    }
}
