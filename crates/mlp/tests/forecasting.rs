//! Forecasting layers (FreTS, N-BEATS) end to end: spec validation, named architectures, the
//! model file, and FreTS against an NLinear baseline on a multi-channel two-sine series.

use mlp::Activation;
use mlp::architectures::{Arch, ArchConfig, SequenceLayout};
use mlp::data::{Dataset, Targets};
use mlp::estimator::MlpBuilder;
use mlp::model::Model;
use mlp::rng::Rng;
use mlp::spec::{LayerSpec, ModelSpec};
use mlp::train::ValidationSplit;

/// `channels` series of `len` steps: two sines per channel (periods 24 and 10, channel-specific
/// phases and amplitudes) plus Gaussian noise; row-major `channels x len`.
fn two_sines(channels: usize, len: usize, noise: f32, seed: u64) -> Vec<f32> {
    let mut rng = Rng::seed_from(seed);
    let mut out = Vec::with_capacity(channels * len);
    for c in 0..channels {
        let (p1, p2) = (
            rng.uniform() * std::f32::consts::TAU,
            rng.uniform() * std::f32::consts::TAU,
        );
        let a2 = 0.4 + 0.2 * c as f32;
        for t in 0..len {
            let t = t as f32;
            out.push(
                (std::f32::consts::TAU * t / 24.0 + p1).sin()
                    + a2 * (std::f32::consts::TAU * t / 10.0 + p2).sin()
                    + noise * rng.normal(),
            );
        }
    }
    out
}

/// Sliding windows in [`SequenceLayout`] rows (no exog): inputs `rows x channels*window`,
/// targets `rows x channels*horizon`, for window starts in `starts`.
fn windows(
    series: &[f32],
    len: usize,
    layout: SequenceLayout,
    starts: std::ops::Range<usize>,
) -> (Vec<f32>, Vec<f32>) {
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for s in starts {
        for c in 0..layout.channels {
            x.extend_from_slice(&series[c * len + s..c * len + s + layout.window]);
        }
        for c in 0..layout.channels {
            let f = c * len + s + layout.window;
            y.extend_from_slice(&series[f..f + layout.horizon]);
        }
    }
    (x, y)
}

fn regression(x: Vec<f32>, n_features: usize, y: Vec<f32>, n_outputs: usize) -> Dataset {
    Dataset::new(
        x,
        n_features,
        Targets::Values {
            values: y,
            n_outputs,
        },
    )
    .expect("a consistent data set")
}

fn mse(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(p, q)| (*p as f64 - *q as f64).powi(2))
        .sum::<f64>()
        / a.len() as f64
}

fn trainer(epochs: usize, lr: f32) -> MlpBuilder {
    MlpBuilder::regressor()
        .epochs(epochs)
        .batch_size(32)
        .lr(lr)
        .weight_decay(0.0)
        .validation(ValidationSplit::None)
        .patience(None)
        .seed(5)
        .threads(1)
}

#[test]
fn layouts_that_do_not_match_the_input_are_refused_with_the_reason() {
    let frets = |inputs, channels, window, exog| ModelSpec {
        inputs,
        layers: vec![LayerSpec::Frets {
            channels,
            window,
            exog,
            horizon: 2,
            embed_dim: 4,
            hidden: 8,
            channel_learner: false,
        }],
    };
    let err = frets(10, 2, 4, 1)
        .build(0)
        .expect_err("9 != 10")
        .to_string();
    assert!(
        err.contains("layers[0]") && err.contains("2 * 4 + 1") && err.contains("10"),
        "{err}"
    );
    let err = frets(1, 1, 0, 1)
        .build(0)
        .expect_err("window 0")
        .to_string();
    assert!(err.contains("at least 1"), "{err}");
    let nbeats = ModelSpec {
        inputs: 6,
        layers: vec![LayerSpec::NBeats {
            channels: 2,
            window: 3,
            exog: 0,
            horizon: 2,
            blocks: 0,
            layers: 2,
            units: 8,
        }],
    };
    let err = nbeats.build(0).expect_err("blocks 0").to_string();
    assert!(err.contains("blocks"), "{err}");
    // Output width is channels * horizon, so a following layer sees it.
    let ok = ModelSpec {
        inputs: 9,
        layers: vec![
            LayerSpec::Frets {
                channels: 2,
                window: 4,
                exog: 1,
                horizon: 3,
                embed_dim: 4,
                hidden: 8,
                channel_learner: true,
            },
            LayerSpec::dense(2, Activation::Identity),
        ],
    };
    assert_eq!(ok.build(0).expect("valid").layers()[1].in_features(), 6);
    assert_eq!(ok.outputs(), 2);
}

#[test]
fn specs_round_trip_through_json_with_their_defaults() {
    let spec: ModelSpec = serde_json::from_str(
        r#"{"inputs": 13, "layers": [
            {"type": "frets", "channels": 2, "window": 6, "exog": 1, "horizon": 4},
            {"type": "nbeats", "channels": 1, "window": 8, "horizon": 4,
             "blocks": 2, "layers": 3, "units": 16}
        ]}"#,
    )
    .expect("parse");
    assert_eq!(
        spec.layers[0],
        LayerSpec::Frets {
            channels: 2,
            window: 6,
            exog: 1,
            horizon: 4,
            embed_dim: 32,
            hidden: 256,
            channel_learner: false
        }
    );
    let text = serde_json::to_string(&spec).expect("json");
    assert!(text.contains(r#""type":"nbeats""#), "{text}");
    let back: ModelSpec = serde_json::from_str(&text).expect("reparse");
    assert_eq!(back, spec);
    let net = spec.build(1).expect("build");
    assert_eq!((net.inputs(), net.outputs()), (13, 4));
}

#[test]
fn named_architectures_build_forecasters_and_refuse_plain_stacks() {
    assert_eq!("frets".parse::<Arch>().expect("frets"), Arch::Frets);
    assert_eq!("N-BEATS".parse::<Arch>().expect("nbeats"), Arch::NBeats);
    assert_eq!("n_beats".parse::<Arch>().expect("nbeats"), Arch::NBeats);
    let err = "nope".parse::<Arch>().expect_err("unknown").to_string();
    assert!(err.contains("frets") && err.contains("nbeats"), "{err}");
    let layout = SequenceLayout {
        channels: 3,
        window: 12,
        exog: 2,
        horizon: 4,
    };
    for arch in [Arch::Frets, Arch::NBeats] {
        let cfg = ArchConfig {
            arch,
            widths: vec![16, 16],
            depth: 2,
            ..ArchConfig::default()
        };
        let err = cfg.hidden_stack().expect_err("no layout").to_string();
        assert!(err.contains("mlp forecast"), "{err}");
        let spec = cfg.forecaster_spec(layout).expect("forecaster");
        assert_eq!(spec.layers.len(), 1, "{arch:?}: a single layer");
        let net = spec.build(0).expect("build");
        assert_eq!((net.inputs(), net.outputs()), (38, 12));
    }
    let frets = ArchConfig {
        arch: Arch::Frets,
        widths: vec![16],
        ..ArchConfig::default()
    };
    // Channel learner: on by default for several channels, off for one.
    let learner = |layout| match frets.forecaster_spec(layout).expect("spec").layers[0] {
        LayerSpec::Frets {
            channel_learner,
            embed_dim,
            hidden,
            ..
        } => {
            assert_eq!((embed_dim, hidden), (32, 16));
            channel_learner
        }
        _ => panic!("not frets"),
    };
    assert!(learner(layout));
    assert!(!learner(SequenceLayout {
        channels: 1,
        ..layout
    }));
    match (ArchConfig {
        arch: Arch::NBeats,
        widths: vec![8, 8, 8],
        depth: 5,
        ..ArchConfig::default()
    })
    .forecaster_spec(layout)
    .expect("nbeats")
    .layers[0]
    {
        LayerSpec::NBeats {
            blocks,
            layers,
            units,
            ..
        } => assert_eq!((blocks, layers, units), (5, 3, 8)),
        _ => panic!("not nbeats"),
    }
    let uneven = ArchConfig {
        arch: Arch::NBeats,
        widths: vec![8, 4],
        ..ArchConfig::default()
    };
    let err = uneven
        .forecaster_spec(layout)
        .expect_err("uneven")
        .to_string();
    assert!(err.contains("one width"), "{err}");
}

#[test]
fn forecasters_train_and_survive_the_model_file() {
    let layout = SequenceLayout {
        channels: 2,
        window: 16,
        exog: 0,
        horizon: 4,
    };
    let len = 200;
    let series = two_sines(2, len, 0.05, 1);
    let (x, y) = windows(&series, len, layout, 0..len - 20);
    let rows = x.len() / layout.inputs();
    let data = regression(x.clone(), layout.inputs(), y.clone(), layout.outputs());
    let dir = std::env::temp_dir().join(format!("mlp-forecasting-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    for arch in [Arch::Frets, Arch::NBeats] {
        let cfg = ArchConfig {
            arch,
            widths: vec![16],
            depth: 2,
            embed_dim: 8,
            ..ArchConfig::default()
        };
        let spec = cfg.forecaster_spec(layout).expect("spec");
        let model = trainer(15, 3e-3)
            .layers(spec.layers)
            .fit(&data)
            .expect("fit");
        let pred = model.predict_values(&x, rows).expect("predict");
        let variance = mse(&y, &vec![0.0; y.len()]);
        let err = mse(&pred, &y);
        assert!(
            err < 0.5 * variance,
            "{arch:?}: mse {err} vs variance {variance}"
        );
        let path = dir.join(format!("{arch:?}.safetensors"));
        model.save(&path).expect("save");
        let loaded = Model::load(&path).expect("load");
        assert_eq!(loaded.network(), model.network());
        assert_eq!(loaded.predict_values(&x, rows).expect("predict"), pred);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// NLinear (Zeng et al. 2023): `y = W (x - x_last) + x_last` per channel, weights shared by the
/// channels; trained here as one dense layer on de-levelled per-channel rows.
fn nlinear_rows(x: &[f32], y: &[f32], layout: SequenceLayout) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let (w, h) = (layout.window, layout.horizon);
    let (mut xs, mut ys, mut last) = (Vec::new(), Vec::new(), Vec::new());
    for (xi, yi) in x.chunks_exact(w).zip(y.chunks_exact(h)) {
        let l = xi[w - 1];
        xs.extend(xi.iter().map(|v| v - l));
        ys.extend(yi.iter().map(|v| v - l));
        last.push(l);
    }
    (xs, ys, last)
}

/// The acceptance check of TECHNIQUES.md section 39: on a noisy two-sine multi-channel series,
/// FreTS (channel learner on, as by default for several channels) beats NLinear's test MSE by at
/// least 20%. NLinear is trained by the same trainer (Adam, batch 32, same epochs, the better of
/// two learning rates) and also solved exactly by least squares, and FreTS must beat the better
/// of the two. The split is chronological, test windows after every training target.
///
/// Why FreTS can win here: all channels share one clock (periods 24 and 10), so the noisy
/// windows of the other channels tell each channel its phase; NLinear is channel-independent and
/// carries the last value's noise into every forecast. Measured (data seeds 1-4, same settings):
/// 22-28% below least-squares NLinear.
#[test]
fn frets_beats_nlinear_on_two_sines_by_a_fifth() {
    let layout = SequenceLayout {
        channels: 3,
        window: 16,
        exog: 0,
        horizon: 12,
    };
    let len = 1000;
    let series = two_sines(3, len, 0.5, 11);
    let n = len - layout.window - layout.horizon + 1;
    let cut = n * 4 / 5;
    let (x_tr, y_tr) = windows(&series, len, layout, 0..cut);
    let (x_te, y_te) = windows(
        &series,
        len,
        layout,
        cut + layout.window + layout.horizon..n,
    );
    let (rows_tr, rows_te) = (x_tr.len() / layout.inputs(), x_te.len() / layout.inputs());
    let epochs = 20;

    let frets = ArchConfig {
        arch: Arch::Frets,
        widths: vec![64],
        embed_dim: 16,
        ..ArchConfig::default()
    }
    .forecaster_spec(layout)
    .expect("spec");
    assert!(matches!(
        frets.layers[0],
        LayerSpec::Frets {
            channel_learner: true,
            ..
        }
    ));
    let model = trainer(epochs, 1e-3)
        .layers(frets.layers)
        .fit(&regression(
            x_tr.clone(),
            layout.inputs(),
            y_tr.clone(),
            layout.outputs(),
        ))
        .expect("frets");
    let frets_mse = mse(&model.predict_values(&x_te, rows_te).expect("p"), &y_te);

    let (xs, ys, _) = nlinear_rows(&x_tr, &y_tr, layout);
    let (xs_te, _, last_te) = nlinear_rows(&x_te, &y_te, layout);
    let relevel = |mut pred: Vec<f32>| {
        for (row, l) in pred.chunks_exact_mut(layout.horizon).zip(&last_te) {
            row.iter_mut().for_each(|v| *v += l);
        }
        pred
    };
    let mut trained_mse = f64::INFINITY;
    for lr in [1e-3, 1e-2] {
        let model = trainer(epochs, lr)
            .layers(vec![LayerSpec::dense(layout.horizon, Activation::Identity)])
            .fit(&regression(
                xs.clone(),
                layout.window,
                ys.clone(),
                layout.horizon,
            ))
            .expect("nlinear");
        let pred = model
            .predict_values(&xs_te, rows_te * layout.channels)
            .expect("p");
        trained_mse = trained_mse.min(mse(&relevel(pred), &y_te));
    }
    let exact = least_squares_predict(&xs, &ys, layout.window, layout.horizon, &xs_te);
    let exact_mse = mse(&relevel(exact), &y_te);
    let nlinear_mse = trained_mse.min(exact_mse);
    eprintln!(
        "two-sine forecast, {rows_tr} training windows, test MSE: FreTS {frets_mse:.4}, NLinear trained {trained_mse:.4}, least squares {exact_mse:.4} (FreTS {:.1}% lower)",
        100.0 * (1.0 - frets_mse / nlinear_mse)
    );
    // The trained baseline is a fair one: close to its exact optimum.
    assert!(
        trained_mse < 1.1 * exact_mse,
        "{trained_mse} vs {exact_mse}"
    );
    assert!(
        frets_mse <= 0.8 * nlinear_mse,
        "FreTS {frets_mse} vs NLinear {nlinear_mse}"
    );
}

/// Least squares with an intercept (ridge 1e-6), by Gaussian elimination on the normal equations.
fn least_squares_predict(x: &[f32], y: &[f32], w: usize, h: usize, x_te: &[f32]) -> Vec<f32> {
    let n = x.len() / w;
    let d = w + 1;
    let row = |xs: &[f32], i: usize| -> Vec<f64> {
        let mut r: Vec<f64> = xs[i * w..(i + 1) * w].iter().map(|&v| v as f64).collect();
        r.push(1.0);
        r
    };
    let mut a = vec![0.0f64; d * d];
    let mut b = vec![0.0f64; d * h];
    for i in 0..n {
        let r = row(x, i);
        for p in 0..d {
            for q in 0..d {
                a[p * d + q] += r[p] * r[q];
            }
            for o in 0..h {
                b[p * h + o] += r[p] * y[i * h + o] as f64;
            }
        }
    }
    for p in 0..d {
        a[p * d + p] += 1e-6;
    }
    // Gauss-Jordan with partial pivoting.
    for col in 0..d {
        let piv = (col..d)
            .max_by(|&i, &j| a[i * d + col].abs().total_cmp(&a[j * d + col].abs()))
            .unwrap_or(col);
        for k in 0..d {
            a.swap(col * d + k, piv * d + k);
        }
        for k in 0..h {
            b.swap(col * h + k, piv * h + k);
        }
        let p = a[col * d + col];
        for i in 0..d {
            if i != col {
                let f = a[i * d + col] / p;
                for k in 0..d {
                    a[i * d + k] -= f * a[col * d + k];
                }
                for k in 0..h {
                    b[i * h + k] -= f * b[col * h + k];
                }
            }
        }
    }
    let coef: Vec<f64> = (0..d * h).map(|i| b[i] / a[(i / h) * d + i / h]).collect();
    let m = x_te.len() / w;
    let mut out = Vec::with_capacity(m * h);
    for i in 0..m {
        let r = row(x_te, i);
        for o in 0..h {
            out.push((0..d).map(|p| r[p] * coef[p * h + o]).sum::<f64>() as f32);
        }
    }
    out
}
