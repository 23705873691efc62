//! On-the-fly data augmentation for training batches: random shifts and horizontal flips of
//! images, and MixUp (Zhang et al., 2018). Every draw comes from the batch's own random stream, so
//! augmented runs stay reproducible and resumable.

use crate::rng::Rng;
use serde::{Deserialize, Serialize};

/// Random translation (zero-filled) and horizontal flip of `height x width` images stored
/// row-major, one image per row of the batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageAugment {
    /// Image height in pixels.
    pub height: usize,
    /// Image width in pixels.
    pub width: usize,
    /// Largest shift in pixels along each axis (uniform in `-s..=s`).
    pub max_shift: usize,
    /// Mirror left-right with probability 1/2.
    pub flip: bool,
}

impl ImageAugment {
    /// Parses `shift:N`, `flip`, or both comma-separated (e.g. `shift:2,flip`), for images of the
    /// given size.
    pub fn parse(text: &str, height: usize, width: usize) -> crate::Result<Self> {
        let mut aug = ImageAugment {
            height,
            width,
            max_shift: 0,
            flip: false,
        };
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            if part == "flip" {
                aug.flip = true;
            } else if let Some(n) = part.strip_prefix("shift:") {
                aug.max_shift = n.parse().map_err(|_| {
                    crate::Error::config(
                        "augment",
                        format!("'{part}': the shift must be a whole number of pixels"),
                    )
                })?;
            } else {
                return Err(crate::Error::config(
                    "augment",
                    format!("unknown '{part}'; use shift:N and/or flip"),
                ));
            }
        }
        Ok(aug)
    }

    /// Augments each row of `x` (`rows x height*width`) in place; `tmp` is scratch.
    pub fn apply(&self, x: &mut [f32], rows: usize, rng: &mut Rng, tmp: &mut Vec<f32>) {
        let (h, w) = (self.height, self.width);
        let n = h * w;
        tmp.resize(n, 0.0);
        let s = self.max_shift as i64;
        for r in 0..rows {
            let img = &mut x[r * n..(r + 1) * n];
            let dy = if s > 0 {
                rng.below(2 * s as usize + 1) as i64 - s
            } else {
                0
            };
            let dx = if s > 0 {
                rng.below(2 * s as usize + 1) as i64 - s
            } else {
                0
            };
            let flip = self.flip && rng.next_u32() & 1 == 1;
            if dx == 0 && dy == 0 && !flip {
                continue;
            }
            tmp.copy_from_slice(img);
            for yy in 0..h as i64 {
                for xx in 0..w as i64 {
                    let sy = yy - dy;
                    let sx0 = xx - dx;
                    let sx = if flip { w as i64 - 1 - sx0 } else { sx0 };
                    img[(yy * w as i64 + xx) as usize] =
                        if (0..h as i64).contains(&sy) && (0..w as i64).contains(&sx) {
                            tmp[(sy * w as i64 + sx) as usize]
                        } else {
                            0.0
                        };
                }
            }
        }
    }
}

/// MixUp: `x_i <- lam x_i + (1 - lam) x_perm(i)` for the whole batch, `lam ~ Beta(alpha, alpha)`.
/// Returns `lam` and the permutation, which the loss applies to the targets the same way.
pub fn mixup(
    x: &mut [f32],
    width: usize,
    rows: usize,
    alpha: f32,
    rng: &mut Rng,
    tmp: &mut Vec<f32>,
) -> (f32, Vec<usize>) {
    let lam = rng.beta(alpha as f64, alpha as f64) as f32;
    let perm = rng.permutation(rows);
    tmp.clear();
    tmp.extend_from_slice(&x[..rows * width]);
    for (i, &j) in perm.iter().enumerate() {
        for k in 0..width {
            x[i * width + k] = lam * tmp[i * width + k] + (1.0 - lam) * tmp[j * width + k];
        }
    }
    (lam, perm)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shift_and_flip_move_pixels_exactly() {
        // 3x3 image with a single bright pixel at (0, 0).
        let aug = ImageAugment {
            height: 3,
            width: 3,
            max_shift: 0,
            flip: true,
        };
        let mut rng = Rng::seed_from(0);
        let mut tmp = Vec::new();
        let mut flipped = 0;
        for _ in 0..50 {
            let mut img = vec![1.0, 0., 0., 0., 0., 0., 0., 0., 0.];
            aug.apply(&mut img, 1, &mut rng, &mut tmp);
            assert_eq!(img.iter().sum::<f32>(), 1.0);
            if img[2] == 1.0 {
                flipped += 1;
            } else {
                assert_eq!(img[0], 1.0);
            }
        }
        assert!((10..=40).contains(&flipped), "{flipped} of 50 flipped");
        let shift = ImageAugment {
            height: 3,
            width: 3,
            max_shift: 1,
            flip: false,
        };
        for _ in 0..50 {
            let mut img = vec![0., 0., 0., 0., 1.0, 0., 0., 0., 0.];
            shift.apply(&mut img, 1, &mut rng, &mut tmp);
            // the centre pixel moves by at most one step in each direction and never vanishes
            assert_eq!(img.iter().sum::<f32>(), 1.0);
        }
        assert!(
            ImageAugment::parse("shift:2,flip", 28, 28).is_ok_and(|a| a.max_shift == 2 && a.flip)
        );
        assert!(ImageAugment::parse("rotate", 28, 28).is_err());
    }

    #[test]
    fn mixup_rows_are_convex_combinations() {
        let mut rng = Rng::seed_from(3);
        let x0: Vec<f32> = (0..12).map(|i| i as f32).collect();
        let mut x = x0.clone();
        let (lam, perm) = mixup(&mut x, 3, 4, 0.4, &mut rng, &mut Vec::new());
        assert!((0.0..=1.0).contains(&lam));
        for (i, &j) in perm.iter().enumerate() {
            for k in 0..3 {
                let want = lam * x0[i * 3 + k] + (1.0 - lam) * x0[j * 3 + k];
                assert!((x[i * 3 + k] - want).abs() < 1e-5);
            }
        }
    }
}
