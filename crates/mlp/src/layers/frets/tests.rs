//! The FreTS layer's tests: the frequency MLP, chunked inference, and the whole layer against
//! a definition with no FFT library and no GEMM.

use super::*;
use std::f64::consts::PI;

#[test]
fn frequency_mlp_with_identity_weights_and_no_nonlinearity_is_the_identity() {
    let (rows, d) = (5, 4);
    let xr: Vec<f64> = (0..rows * d).map(|i| (i as f64 * 0.7).sin()).collect();
    let xi: Vec<f64> = (0..rows * d).map(|i| (i as f64 * 1.3).cos()).collect();
    let mut wr = vec![0.0; d * d];
    (0..d).for_each(|j| wr[j * d + j] = 1.0);
    let (wi, zero) = (vec![0.0; d * d], vec![0.0; d]);
    let w = FrequencyWeights {
        wr: &wr,
        wi: &wi,
        br: &zero,
        bi: &zero,
    };
    let (mut yr, mut yi) = (vec![9.0; rows * d], vec![9.0; rows * d]);
    frequency_mlp((&xr, &xi), rows, d, w, (&mut yr, &mut yi), false);
    assert_eq!(yr, xr);
    assert_eq!(yi, xi);
    // With the nonlinearity: max(x - 0.01, 0) per part.
    frequency_mlp((&xr, &xi), rows, d, w, (&mut yr, &mut yi), true);
    for (y, x) in yr.iter().zip(&xr).chain(yi.iter().zip(&xi)) {
        assert!((y - (x - 0.01).max(0.0)).abs() < 1e-15, "{y} vs {x}");
    }
}

#[test]
fn chunked_inference_equals_the_training_forward() {
    let layer = Frets::new(2, 5, 1, 2, 3, 4, true);
    let mut rng = Rng::seed_from(1);
    let mut params = vec![0.0f32; layer.n_params()];
    layer.init_params(&mut params, &mut rng);
    let batch = EVAL_CHUNK + 7;
    let x: Vec<f32> = (0..batch * layer.in_features())
        .map(|_| rng.normal())
        .collect();
    let mut train = vec![0.0f32; batch * layer.out_features()];
    let mut aux = vec![0.0f32; layer.aux_len(batch)];
    let mut rng = Rng::seed_from(0);
    layer.forward(
        &mut Cx::forward(&params, &mut aux, batch, &mut rng),
        &x,
        &mut train,
    );
    let mut eval = vec![0.0f32; batch * layer.out_features()];
    let mut scratch = vec![0.0f32; layer.infer_len(batch)];
    layer.infer(&params, &x, batch, &mut eval, &mut scratch);
    assert_eq!(train, eval);
    assert!(train.iter().any(|v| *v != 0.0));
}

/// Orthonormal rFFT by the definition.
fn rfft_naive(x: &[f64]) -> Vec<(f64, f64)> {
    let n = x.len();
    (0..=n / 2)
        .map(|k| {
            let (mut re, mut im) = (0.0, 0.0);
            for (t, &v) in x.iter().enumerate() {
                let a = -2.0 * PI * (k * t) as f64 / n as f64;
                re += v * a.cos();
                im += v * a.sin();
            }
            let s = (n as f64).sqrt();
            (re / s, im / s)
        })
        .collect()
}

/// Orthonormal irFFT by the definition: rebuild the Hermitian spectrum, take the real part.
fn irfft_naive(y: &[(f64, f64)], n: usize) -> Vec<f64> {
    let full: Vec<(f64, f64)> = (0..n)
        .map(|k| {
            if k <= n / 2 {
                let (re, im) = y[k];
                let real_bin = k == 0 || 2 * k == n;
                (re, if real_bin { 0.0 } else { im })
            } else {
                let (re, im) = y[n - k];
                (re, -im)
            }
        })
        .collect();
    (0..n)
        .map(|t| {
            let mut s = 0.0;
            for (k, &(re, im)) in full.iter().enumerate() {
                let a = 2.0 * PI * (k * t) as f64 / n as f64;
                s += re * a.cos() - im * a.sin();
            }
            s / (n as f64).sqrt()
        })
        .collect()
}

/// The frequency MLP on one row of `d` complex values, by the definition.
fn freq_naive(x: &[(f64, f64)], w: FrequencyWeights<'_, f64>) -> Vec<(f64, f64)> {
    let d = x.len();
    let act = |a: f64| (a.max(0.0) - 0.01).max(0.0);
    (0..d)
        .map(|j| {
            let (mut ar, mut ai) = (w.br[j], w.bi[j]);
            for (i, &(xr, xi)) in x.iter().enumerate() {
                let (wr, wi) = (w.wr[i * d + j], w.wi[i * d + j]);
                ar += xr * wr - xi * wi;
                ai += xi * wr + xr * wi;
            }
            (act(ar), act(ai))
        })
        .collect()
}

/// The whole layer by the definition, one sample, no FFT library and no GEMM.
fn frets_naive(layer: &Frets, params: &[f64], x: &[f64]) -> Vec<f64> {
    let (c, w, d) = (layer.channels, layer.window, layer.embed_dim);
    let p = layer.split_params(params);
    // z[c][t][d]
    let e: Vec<Vec<Vec<f64>>> = (0..c)
        .map(|ch| {
            (0..w)
                .map(|t| p.emb.iter().map(|&phi| x[ch * w + t] * phi).collect())
                .collect()
        })
        .collect();
    let mut v = e.clone();
    if let Some(cw) = p.channel {
        for t in 0..w {
            // Spectrum along channels, per embedding coordinate: spec[kc][d].
            let per_d: Vec<Vec<(f64, f64)>> = (0..d)
                .map(|j| rfft_naive(&(0..c).map(|ch| e[ch][t][j]).collect::<Vec<_>>()))
                .collect();
            let out: Vec<Vec<(f64, f64)>> = (0..c / 2 + 1)
                .map(|kc| freq_naive(&(0..d).map(|j| per_d[j][kc]).collect::<Vec<_>>(), cw))
                .collect();
            for j in 0..d {
                let col: Vec<(f64, f64)> = out.iter().map(|row| row[j]).collect();
                for (ch, val) in irfft_naive(&col, c).into_iter().enumerate() {
                    v[ch][t][j] = val;
                }
            }
        }
    }
    let mut y = Vec::new();
    let (h1w, rest) = p.h1.split_at(layer.hidden * layer.head1.in_features);
    let (h2w, h2b) = p.h2.split_at(layer.horizon * layer.hidden);
    for ch in 0..c {
        let per_d: Vec<Vec<(f64, f64)>> = (0..d)
            .map(|j| rfft_naive(&(0..w).map(|t| v[ch][t][j]).collect::<Vec<_>>()))
            .collect();
        let out: Vec<Vec<(f64, f64)>> = (0..w / 2 + 1)
            .map(|k| freq_naive(&(0..d).map(|j| per_d[j][k]).collect::<Vec<_>>(), p.temporal))
            .collect();
        let mut row = vec![0.0; w * d];
        for j in 0..d {
            let col: Vec<(f64, f64)> = out.iter().map(|r| r[j]).collect();
            for (t, val) in irfft_naive(&col, w).into_iter().enumerate() {
                row[t * d + j] = val + e[ch][t][j];
            }
        }
        row.extend_from_slice(&x[c * w..]);
        let hidden: Vec<f64> = (0..layer.hidden)
            .map(|o| {
                let a: f64 = row
                    .iter()
                    .enumerate()
                    .map(|(i, &r)| r * h1w[o * row.len() + i])
                    .sum::<f64>()
                    + rest[o];
                if a > 0.0 { a } else { 0.01 * a }
            })
            .collect();
        for o in 0..layer.horizon {
            y.push(
                hidden
                    .iter()
                    .enumerate()
                    .map(|(i, &h)| h * h2w[o * layer.hidden + i])
                    .sum::<f64>()
                    + h2b[o],
            );
        }
    }
    y
}

#[test]
fn forward_matches_the_definition() {
    for (c, w, e, channel_learner) in [(1, 8, 0, false), (3, 7, 2, true), (2, 6, 1, true)] {
        let layer = Frets::new(c, w, e, 3, 4, 5, channel_learner);
        let mut rng = Rng::seed_from(7);
        let mut p32 = vec![0.0f32; layer.n_params()];
        layer.init_params(&mut p32, &mut rng);
        // Larger frequency weights than at initialization, so the nonlinearity matters.
        let params: Vec<f64> = p32
            .iter()
            .map(|&v| v as f64 + 0.3 * rng.normal() as f64)
            .collect();
        let batch = 2;
        let x: Vec<f64> = (0..batch * layer.in_features())
            .map(|_| rng.normal() as f64)
            .collect();
        let mut y = vec![0.0; batch * layer.out_features()];
        let mut scratch = vec![0.0; layer.infer_len(batch)];
        layer.infer(&params, &x, batch, &mut y, &mut scratch);
        for b in 0..batch {
            let nin = layer.in_features();
            let want = frets_naive(&layer, &params, &x[b * nin..(b + 1) * nin]);
            let got = &y[b * layer.out_features()..(b + 1) * layer.out_features()];
            for (g, want) in got.iter().zip(&want) {
                assert!((g - want).abs() < 1e-10, "c={c} w={w}: {g} vs {want}");
            }
        }
    }
}
