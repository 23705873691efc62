//! Synthetic data sets for demos, tests and benchmarks, deterministic from a seed.
//!
//! The classification generators follow scikit-learn's `make_moons`, `make_circles` and
//! `make_blobs` in shape and meaning (not in their random streams, which come from
//! [`crate::rng::Rng`]); like scikit-learn's defaults, their samples come out shuffled.
//! [`w2_data`] reproduces a NumPy benchmark generator bit for bit, so that results can be
//! compared with a PyTorch run on identical data.

use std::f64::consts::PI;

use super::{Dataset, Targets};
use crate::error::{Error, Result};
use crate::rng::Rng;

/// Checks that a noise or spread parameter is finite and non-negative.
fn check_scale(field: &str, v: f32) -> Result<()> {
    if !(v.is_finite() && v >= 0.0) {
        return Err(Error::config(
            field,
            format!("must be a finite number >= 0, got {v}"),
        ));
    }
    Ok(())
}

/// Checks that the sample count is positive.
fn check_n(n: usize) -> Result<()> {
    if n == 0 {
        return Err(Error::config("n", "must be at least 1"));
    }
    Ok(())
}

/// `numpy.linspace(start, stop, n, endpoint)` in `f64`.
fn linspace(start: f64, stop: f64, n: usize, endpoint: bool) -> Vec<f64> {
    let div = if endpoint { n.saturating_sub(1) } else { n };
    if div == 0 {
        return vec![start; n];
    }
    let step = (stop - start) / div as f64;
    let mut v: Vec<f64> = (0..n).map(|i| start + i as f64 * step).collect();
    if endpoint && n > 1 {
        v[n - 1] = stop;
    }
    v
}

/// Builds a 2-feature, 2-class data set from points and labels: shuffles, then adds noise (the
/// order of scikit-learn's generators, so the sample order does not depend on `noise`).
fn finish_2d(points: Vec<[f64; 2]>, labels: Vec<usize>, noise: f32, rng: &mut Rng) -> Dataset {
    let perm = rng.permutation(points.len());
    let mut features = Vec::with_capacity(points.len() * 2);
    for &r in &perm {
        for c in points[r] {
            let eps = if noise > 0.0 {
                f64::from(noise) * f64::from(rng.normal())
            } else {
                0.0
            };
            features.push((c + eps) as f32);
        }
    }
    Dataset {
        features,
        n_features: 2,
        targets: Targets::Classes {
            labels: perm.iter().map(|&r| labels[r]).collect(),
            n_classes: 2,
        },
        weights: None,
    }
}

/// Two interleaving half circles (scikit-learn's `make_moons`), class 0 and class 1.
///
/// `n / 2` samples (rounded down) lie on the outer moon `(cos t, sin t)` and the rest on the inner
/// moon `(1 - cos t, 1 - sin t - 0.5)`, `t` evenly spaced over `[0, pi]` (ends included); the
/// samples are shuffled, then each coordinate gets Gaussian noise of standard deviation `noise`.
///
/// # Errors
/// [`Error::InvalidConfig`] when `n` is 0 or `noise` is negative or not finite.
pub fn two_moons(n: usize, noise: f32, seed: u64) -> Result<Dataset> {
    check_n(n)?;
    check_scale("noise", noise)?;
    let n_out = n / 2;
    let n_in = n - n_out;
    let mut points = Vec::with_capacity(n);
    let mut labels = Vec::with_capacity(n);
    for t in linspace(0.0, PI, n_out, true) {
        points.push([t.cos(), t.sin()]);
        labels.push(0);
    }
    for t in linspace(0.0, PI, n_in, true) {
        points.push([1.0 - t.cos(), 1.0 - t.sin() - 0.5]);
        labels.push(1);
    }
    Ok(finish_2d(points, labels, noise, &mut Rng::seed_from(seed)))
}

/// A small circle inside a large one (scikit-learn's `make_circles`): class 0 outer, 1 inner.
///
/// `n / 2` samples (rounded down) lie on the unit circle and the rest on a circle of radius
/// `factor`, at angles evenly spaced over `[0, 2 pi)`; the samples are shuffled, then each
/// coordinate gets Gaussian noise of standard deviation `noise`.
///
/// # Errors
/// [`Error::InvalidConfig`] when `n` is 0, `noise` is negative or not finite, or `factor` is not
/// in `[0, 1)`.
pub fn circles(n: usize, noise: f32, factor: f32, seed: u64) -> Result<Dataset> {
    check_n(n)?;
    check_scale("noise", noise)?;
    if !(0.0..1.0).contains(&factor) {
        return Err(Error::config(
            "factor",
            format!("the inner circle's radius must be in [0, 1), got {factor}"),
        ));
    }
    let n_out = n / 2;
    let n_in = n - n_out;
    let f = f64::from(factor);
    let mut points = Vec::with_capacity(n);
    let mut labels = Vec::with_capacity(n);
    for t in linspace(0.0, 2.0 * PI, n_out, false) {
        points.push([t.cos(), t.sin()]);
        labels.push(0);
    }
    for t in linspace(0.0, 2.0 * PI, n_in, false) {
        points.push([f * t.cos(), f * t.sin()]);
        labels.push(1);
    }
    Ok(finish_2d(points, labels, noise, &mut Rng::seed_from(seed)))
}

/// Isotropic Gaussian blobs (scikit-learn's `make_blobs`), one class per blob.
///
/// The `centers` centres are drawn uniformly from `[-10, 10)^n_features`; samples are split as
/// evenly as possible (the first `n % centers` blobs get one extra), each is its centre plus
/// Gaussian noise of standard deviation `std` per feature, and the samples are shuffled.
///
/// # Errors
/// [`Error::InvalidConfig`] when `n`, `n_features` or `centers` is 0, or `std` is negative or not
/// finite.
pub fn blobs(n: usize, n_features: usize, centers: usize, std: f32, seed: u64) -> Result<Dataset> {
    check_n(n)?;
    check_scale("std", std)?;
    if n_features == 0 {
        return Err(Error::config("n_features", "must be at least 1"));
    }
    if centers == 0 {
        return Err(Error::config("centers", "must be at least 1"));
    }
    let mut rng = Rng::seed_from(seed);
    let centre: Vec<f32> = (0..centers * n_features)
        .map(|_| rng.uniform_range(-10.0, 10.0))
        .collect();
    let mut features = Vec::with_capacity(n * n_features);
    let mut labels = Vec::with_capacity(n);
    for c in 0..centers {
        let count = n / centers + usize::from(c < n % centers);
        for _ in 0..count {
            for j in 0..n_features {
                features.push(centre[c * n_features + j] + std * rng.normal());
            }
            labels.push(c);
        }
    }
    let data = Dataset {
        features,
        n_features,
        targets: Targets::Classes {
            labels,
            n_classes: centers,
        },
        weights: None,
    };
    let perm = rng.permutation(n);
    Ok(data.select(&perm))
}

/// A linear regression problem: `y = x . w + noise * e`, one output.
///
/// The true weights `w` are drawn first, uniformly from `[-1, 1)^n_features`; then each sample's
/// features are standard normal and `e` is a standard normal draw.
///
/// # Errors
/// [`Error::InvalidConfig`] when `n` or `n_features` is 0 or `noise` is negative or not finite.
pub fn linear_regression(n: usize, n_features: usize, noise: f32, seed: u64) -> Result<Dataset> {
    check_n(n)?;
    check_scale("noise", noise)?;
    if n_features == 0 {
        return Err(Error::config("n_features", "must be at least 1"));
    }
    let mut rng = Rng::seed_from(seed);
    let w: Vec<f32> = (0..n_features)
        .map(|_| rng.uniform_range(-1.0, 1.0))
        .collect();
    let mut features = Vec::with_capacity(n * n_features);
    let mut values = Vec::with_capacity(n);
    for _ in 0..n {
        let row: Vec<f32> = (0..n_features).map(|_| rng.normal()).collect();
        let dot: f64 = row
            .iter()
            .zip(&w)
            .map(|(&x, &wi)| f64::from(x) * f64::from(wi))
            .sum();
        values.push((dot + f64::from(noise) * f64::from(rng.normal())) as f32);
        features.extend_from_slice(&row);
    }
    Ok(Dataset {
        features,
        n_features,
        targets: Targets::Values {
            values,
            n_outputs: 1,
        },
        weights: None,
    })
}

/// Input dimension of [`w2_data`].
pub(crate) const W2_DIM: usize = 8;

/// SplitMix64 (Steele, Lea and Flood): the stream `w2_data` draws from.
struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)` from the top 24 bits, in `f64` (exact).
    fn uniform(&mut self) -> f64 {
        (self.next() >> 40) as f64 / 16_777_216.0
    }
}

/// The "W2" regression benchmark: `y = sum_j sin(x_j) + small noise`, `x` uniform in
/// `[-pi, pi)^8`.
///
/// Reproduces, bit for bit, this NumPy generator (`splitmix64(seed, n)` being the first `n`
/// outputs of SplitMix64 seeded with `seed`, as `uint64`):
///
/// ```python
/// n = n_train + n_test; d = 8
/// u = (splitmix64(seed, n * (d + 1)) >> 40).astype(float64) / 2**24; u = u.reshape(n, d + 1)
/// x = (2.0 * u[:, :d] - 1.0) * pi
/// y = sin(x).sum(axis=1) + 0.05 * (2.0 * u[:, d] - 1.0)        # float64
/// x = x.astype(float32); y = y.astype(float32).reshape(-1, 1)  # train: first n_train rows
/// ```
///
/// The row sum is evaluated in NumPy's pairwise order for 8 terms,
/// `((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))`. This generator uses its own SplitMix64
/// stream rather than [`crate::rng::Rng`] because the stream is part of the benchmark's
/// definition. Returns `(train, test)`, both [`Targets::Values`] with one output.
pub fn w2_data(n_train: usize, n_test: usize, seed: u64) -> (Dataset, Dataset) {
    let mut sm = SplitMix64 { state: seed };
    let mut make = |n: usize| {
        let mut features = Vec::with_capacity(n * W2_DIM);
        let mut values = Vec::with_capacity(n);
        for _ in 0..n {
            let mut s = [0f64; W2_DIM];
            for sj in &mut s {
                let x = (2.0 * sm.uniform() - 1.0) * PI;
                features.push(x as f32);
                *sj = x.sin();
            }
            let sum = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
            let y = sum + 0.05 * (2.0 * sm.uniform() - 1.0);
            values.push(y as f32);
        }
        Dataset {
            features,
            n_features: W2_DIM,
            targets: Targets::Values {
                values,
                n_outputs: 1,
            },
            weights: None,
        }
    };
    let train = make(n_train);
    let test = make(n_test);
    (train, test)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn labels(d: &Dataset) -> &[usize] {
        match &d.targets {
            Targets::Classes { labels, .. } => labels,
            other => panic!("expected classes, got {other:?}"),
        }
    }

    fn counts(d: &Dataset, k: usize) -> Vec<usize> {
        let mut c = vec![0; k];
        for &l in labels(d) {
            c[l] += 1;
        }
        c
    }

    #[test]
    fn moons_shape_balance_determinism() {
        let d = two_moons(101, 0.1, 3).unwrap();
        assert_eq!((d.len(), d.n_features, d.features.len()), (101, 2, 202));
        assert_eq!(counts(&d, 2), vec![50, 51]);
        assert_eq!(d, two_moons(101, 0.1, 3).unwrap());
        assert_ne!(d, two_moons(101, 0.1, 4).unwrap());
        // Without noise every point is on its moon.
        let d = two_moons(40, 0.0, 1).unwrap();
        for (i, &l) in labels(&d).iter().enumerate() {
            let (x, y) = (
                f64::from(d.features[2 * i]),
                f64::from(d.features[2 * i + 1]),
            );
            let r = if l == 0 {
                x.hypot(y)
            } else {
                (x - 1.0).hypot(y - 0.5)
            };
            assert!((r - 1.0).abs() < 1e-6, "{x} {y} {l}");
            assert!(if l == 0 { y >= -1e-7 } else { y <= 0.5 + 1e-7 });
        }
        // Shuffled (not all class 0 first), in an order that does not depend on the noise.
        assert_ne!(labels(&d)[..20], [0; 20]);
        assert_eq!(labels(&d), labels(&two_moons(40, 0.3, 1).unwrap()));
        assert!(two_moons(0, 0.1, 1).is_err());
        assert!(two_moons(10, -0.1, 1).is_err());
        assert!(two_moons(10, f32::NAN, 1).is_err());
    }

    #[test]
    fn circles_shape_balance_determinism() {
        let d = circles(60, 0.0, 0.5, 9).unwrap();
        assert_eq!((d.len(), d.n_features), (60, 2));
        assert_eq!(counts(&d, 2), vec![30, 30]);
        for (i, &l) in labels(&d).iter().enumerate() {
            let r = f64::from(d.features[2 * i]).hypot(f64::from(d.features[2 * i + 1]));
            let want = if l == 0 { 1.0 } else { 0.5 };
            assert!((r - want).abs() < 1e-6);
        }
        assert_eq!(
            circles(61, 0.05, 0.3, 2).unwrap(),
            circles(61, 0.05, 0.3, 2).unwrap()
        );
        assert!(circles(10, 0.1, 1.0, 1).is_err());
        assert!(circles(10, 0.1, -0.5, 1).is_err());
    }

    #[test]
    fn blobs_shape_balance_determinism() {
        let d = blobs(100, 3, 3, 0.5, 11).unwrap();
        assert_eq!((d.len(), d.n_features, d.features.len()), (100, 3, 300));
        assert_eq!(counts(&d, 3), vec![34, 33, 33]);
        assert!(matches!(d.targets, Targets::Classes { n_classes: 3, .. }));
        assert_eq!(d, blobs(100, 3, 3, 0.5, 11).unwrap());
        assert_ne!(d, blobs(100, 3, 3, 0.5, 12).unwrap());
        // With std 0 every sample of a class is exactly its centre.
        let d = blobs(30, 2, 4, 0.0, 5).unwrap();
        let mut centre = [None; 4];
        for (i, &l) in labels(&d).iter().enumerate() {
            let p = [d.features[2 * i], d.features[2 * i + 1]];
            assert!(p.iter().all(|v| (-10.0..10.0).contains(v)));
            assert_eq!(*centre[l].get_or_insert(p), p);
        }
        assert!(blobs(10, 2, 0, 1.0, 1).is_err());
        assert!(blobs(10, 0, 2, 1.0, 1).is_err());
    }

    #[test]
    fn linear_regression_is_linear() {
        let d = linear_regression(50, 3, 0.0, 8).unwrap();
        assert_eq!((d.len(), d.n_features), (50, 3));
        let Targets::Values { values, n_outputs } = &d.targets else {
            panic!("expected values")
        };
        assert_eq!((*n_outputs, values.len()), (1, 50));
        // Recover w from three samples by solving the 3x3 system (Cramer's rule), then check
        // the rest.
        let x = |i: usize, j: usize| f64::from(d.features[3 * i + j]);
        let det3 = |m: [[f64; 3]; 3]| {
            m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
                - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
                + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
        };
        let a = [
            [x(0, 0), x(0, 1), x(0, 2)],
            [x(1, 0), x(1, 1), x(1, 2)],
            [x(2, 0), x(2, 1), x(2, 2)],
        ];
        let b = [0, 1, 2].map(|i| f64::from(values[i]));
        let det = det3(a);
        let w: Vec<f64> = (0..3)
            .map(|j| {
                let mut m = a;
                for i in 0..3 {
                    m[i][j] = b[i];
                }
                det3(m) / det
            })
            .collect();
        assert!(w.iter().all(|v| (-1.0..1.0).contains(v)), "{w:?}");
        for (i, &v) in values.iter().enumerate().skip(3) {
            let pred: f64 = (0..3).map(|j| x(i, j) * w[j]).sum();
            assert!((pred - f64::from(v)).abs() < 1e-4);
        }
        assert_eq!(d, linear_regression(50, 3, 0.0, 8).unwrap());
        assert_ne!(
            linear_regression(50, 3, 0.5, 8).unwrap(),
            linear_regression(50, 3, 0.0, 8).unwrap()
        );
        assert!(linear_regression(5, 0, 0.0, 1).is_err());
    }

    #[test]
    fn splitmix_matches_numpy() {
        // splitmix64(42, 3) from the NumPy reference code.
        let mut s = SplitMix64 { state: 42 };
        assert_eq!(
            [s.next(), s.next(), s.next()],
            [
                13679457532755275413,
                2949826092126892291,
                5139283748462763858
            ]
        );
    }

    /// The first 10 training samples of `w2_data(20, 5, seed=42)`, as f32 bit patterns, computed
    /// with the NumPy reference code quoted in [`w2_data`]'s documentation (numpy 2.4.6).
    const W2_X_BITS: [[u32; 8]; 10] = [
        [
            0x3fc2472b, 0xc008c216, 0xbfb20f3f, 0xbf7a9e5e, 0xc039c4e4, 0x401412c2, 0xbfe278d4,
            0x3ff1c84f,
        ],
        [
            0x3f3e93ed, 0xbfed5501, 0xbd346e0d, 0x3dac615d, 0x3e00c3d9, 0x3f84d43e, 0xbfee82fd,
            0xc01f698a,
        ],
        [
            0xc0237e12, 0x3f97f5ae, 0x4037e6c1, 0xc02baf6f, 0x3f208dd3, 0x3f40ba71, 0xc02b3d79,
            0xbfb2e417,
        ],
        [
            0x3fe59cbf, 0x4031b5a3, 0x3f9c2ab8, 0x3fe92875, 0x4008ee07, 0x3f6c99db, 0x3fe2ec6e,
            0x3f5d3709,
        ],
        [
            0xc02fb7d5, 0xbfbc26ca, 0x3fd212d7, 0xc0241470, 0x3e42a78d, 0xc0091a28, 0xbfb68331,
            0x3fdcfe61,
        ],
        [
            0xbf8fa549, 0xc02716fd, 0xc00fc22e, 0x3cfab9e1, 0x403cbed0, 0xbf540da4, 0xbffa8676,
            0xc00b0151,
        ],
        [
            0xc03e9352, 0x4001af94, 0x3f93c0e9, 0x3eb409ea, 0x4016da43, 0xc03c16de, 0xbfc1b47b,
            0x403ae883,
        ],
        [
            0xc03702e5, 0xbf8cc752, 0x3f461c4d, 0x4043ba1a, 0xbf99fc27, 0x401d7288, 0x402aa887,
            0x401f9def,
        ],
        [
            0xc0072943, 0x4006ca3c, 0x3fef955d, 0x3ffeca2d, 0xc0214308, 0x3ff99135, 0xbf92a7b0,
            0xbcb8b5af,
        ],
        [
            0x3fb9359e, 0xbfcad369, 0xbf71d5b9, 0x3fc2a830, 0xbfedf34c, 0x3ff420b9, 0x3fb5cdc0,
            0x400cc88e,
        ],
    ];
    /// `y` of the same 10 samples (same NumPy run); e.g. the first is -1.2059378623962402.
    const W2_Y_BITS: [u32; 10] = [
        0xbf9a5c2c, 0xbf51d238, 0x3d6459c5, 0x40d37b90, 0xbfc87cf3, 0xc08f1774, 0x3fdd9119,
        0x3ec66305, 0x3f9e26fb, 0x3ffe16dd,
    ];

    /// Distance in units in the last place between two finite f32s of the same sign.
    fn ulps(a: f32, b: f32) -> u32 {
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs() as u32
    }

    /// Order-sensitive checksum: wrapping sum of `bits(v_i) * (i + 1)` over the f32 values.
    fn checksum(v: &[f32]) -> u64 {
        v.iter().enumerate().fold(0u64, |acc, (i, x)| {
            acc.wrapping_add(u64::from(x.to_bits()).wrapping_mul(i as u64 + 1))
        })
    }

    #[test]
    fn w2_full_benchmark_size_matches_numpy_checksums() {
        // Checksums of the NumPy reference `w2_data()` with its defaults (n_train=200_000,
        // n_test=10_000, seed=42), numpy 2.4.6:
        //   w = a.astype('<f4').ravel().view(np.uint32).astype(np.uint64)
        //   (w * np.arange(1, len(w) + 1, dtype=np.uint64)).sum(dtype=np.uint64)
        let (train, test) = w2_data(200_000, 10_000, 42);
        let y = |d: &Dataset| match &d.targets {
            Targets::Values { values, .. } => checksum(values),
            _ => 0,
        };
        assert_eq!(checksum(&train.features), 8712081823740396456);
        assert_eq!(checksum(&test.features), 6854492240856210286);
        assert_eq!(y(&train), 5867199711639616043);
        assert_eq!(y(&test), 106980686556082727);
    }

    #[test]
    fn w2_matches_numpy_reference() {
        let (train, test) = w2_data(20, 5, 42);
        assert_eq!((train.len(), train.n_features), (20, 8));
        assert_eq!((test.len(), test.n_features), (5, 8));
        let Targets::Values {
            values: y,
            n_outputs: 1,
        } = &train.targets
        else {
            panic!("expected one output")
        };
        for (i, (row, &y_bits)) in W2_X_BITS.iter().zip(&W2_Y_BITS).enumerate() {
            for (j, &bits) in row.iter().enumerate() {
                assert_eq!(train.features[i * 8 + j].to_bits(), bits, "x[{i}][{j}]");
            }
            let want = f32::from_bits(y_bits);
            assert!(ulps(y[i], want) <= 1, "y[{i}]: {} vs {want}", y[i]);
        }
        // The test split continues the same stream: NumPy's row 20 starts with 0x3f6abbac and
        // has y = 0xbfb2cf54.
        assert_eq!(test.features[0].to_bits(), 0x3f6abbac);
        assert_eq!(test.features[7].to_bits(), 0x3da8c5ee);
        let Targets::Values { values: ty, .. } = &test.targets else {
            panic!("expected values")
        };
        assert!(ulps(ty[0], f32::from_bits(0xbfb2cf54)) <= 1);
        // A different split of the same stream gives the same rows.
        let (all, _) = w2_data(25, 0, 42);
        assert_eq!(&all.features[20 * 8..], &test.features[..]);
        assert_ne!(w2_data(3, 0, 43).0, w2_data(3, 0, 42).0);
    }
}
