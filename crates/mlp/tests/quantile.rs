//! Quantile (pinball) heads and conformalized quantile regression: the loss and its gradient,
//! the level checks, learned quantiles that cover, CQR coverage over many seeds within the
//! finite-sample bounds, intervals that follow the noise, and the model-file checks.

use mlp::Activation;
use mlp::data::preprocess::TargetEncoder;
use mlp::data::{Dataset, Targets};
use mlp::estimator::MlpBuilder;
use mlp::loss::{BatchTargets, Loss, LossWeights, QuantileLevels};
use mlp::model::{InputSchema, Model, Scaler, Task};
use mlp::rng::Rng;
use mlp::spec::ModelSpec;
use mlp::table::PredictOptions;
use mlp::uncertainty::{ConformalScore, conformal_rank};
use std::path::Path;

fn quantile(levels: &[f32]) -> Loss {
    Loss::Quantile {
        levels: QuantileLevels::new(levels).expect("levels"),
    }
}

#[test]
fn pinball_loss_has_the_textbook_values() {
    let loss = quantile(&[0.1, 0.9]);
    // target 1; outputs 0 (level 0.1) and 3 (level 0.9): 0.1 * (1 - 0) = 0.1 and
    // (0.9 - 1) * (1 - 3) = 0.2; mean 0.15.
    let (s, w) = loss.evaluate(
        &[0.0f64, 3.0],
        1,
        2,
        BatchTargets::Values(&[1.0]),
        LossWeights::default(),
        None,
    );
    // (levels are f32: 0.1 and 0.9 carry their single-precision rounding)
    assert!((s / w - 0.15).abs() < 1e-6, "{}", s / w);
}

#[test]
fn pinball_gradient_matches_central_differences() {
    let mut rng = Rng::seed_from(11);
    let levels = [0.05f32, 0.5, 0.95];
    let loss = quantile(&levels);
    let (batch, targets) = (4, 2);
    let width = targets * levels.len();
    for weighted in [false, true] {
        let outputs: Vec<f64> = (0..batch * width)
            .map(|_| 2.0 * rng.normal() as f64)
            .collect();
        let values: Vec<f32> = (0..batch * targets).map(|_| rng.normal()).collect();
        let sw: Vec<f32> = (0..batch).map(|_| 0.2 + rng.uniform()).collect();
        let weights = LossWeights {
            sample: weighted.then_some(sw.as_slice()),
            class: None,
        };
        let mean = |y: &[f64]| {
            let (s, w) = loss.evaluate(
                y,
                batch,
                width,
                BatchTargets::Values(&values),
                weights,
                None,
            );
            s / w
        };
        let mut grad = vec![0.0f64; outputs.len()];
        loss.evaluate(
            &outputs,
            batch,
            width,
            BatchTargets::Values(&values),
            weights,
            Some(&mut grad),
        );
        let h = 1e-6;
        for i in 0..outputs.len() {
            let (mut up, mut down) = (outputs.clone(), outputs.clone());
            up[i] += h;
            down[i] -= h;
            let numeric = (mean(&up) - mean(&down)) / (2.0 * h);
            assert!(
                (numeric - grad[i]).abs() < 1e-7,
                "output {i}: analytic {} numeric {numeric}",
                grad[i]
            );
        }
        assert!(grad.iter().any(|g| *g != 0.0));
    }
}

#[test]
fn bad_levels_are_refused() {
    for (levels, what) in [
        (vec![0.0f32, 0.5], "strictly between 0 and 1"),
        (vec![0.5, 1.0], "strictly between 0 and 1"),
        (vec![0.9, 0.1], "strictly increasing"),
        (vec![0.1, 0.1], "strictly increasing"),
        (vec![], "1 to 9 levels"),
        (vec![0.1; 10], "1 to 9 levels"),
    ] {
        let e = QuantileLevels::new(&levels).expect_err("bad levels");
        assert!(e.contains(what), "{levels:?}: {e}");
    }
    assert!(QuantileLevels::parse("0.05,x").is_err());
    let q = QuantileLevels::parse("0.05, 0.5,0.95").expect("parse");
    assert_eq!(q.as_slice(), &[0.05, 0.5, 0.95]);
    assert_eq!(q.point_levels(), (1, 1));
    assert_eq!(
        QuantileLevels::new(&[0.1, 0.3, 0.9])
            .expect("l")
            .point_levels(),
        (1, 1)
    );
    assert_eq!(
        QuantileLevels::new(&[0.1, 0.9]).expect("l").point_levels(),
        (0, 1)
    );
    // Saved as a plain list, and checked again when read.
    let json = serde_json::to_string(&quantile(&[0.1, 0.9])).expect("json");
    assert_eq!(json, r#"{"type":"quantile","levels":[0.1,0.9]}"#);
    assert!(serde_json::from_str::<Loss>(r#"{"type":"quantile","levels":[0.9,0.1]}"#).is_err());
}

/// `y = 2x + (0.1 + 0.6 |x|) e`, x uniform in [-2, 2], e standard normal: the noise grows
/// with `|x|`.
fn hetero_rows(n: usize, seed: u64) -> Dataset {
    let mut rng = Rng::seed_from(seed);
    let mut x = Vec::with_capacity(n);
    let mut y = Vec::with_capacity(n);
    for _ in 0..n {
        let v = rng.uniform_range(-2.0, 2.0);
        x.push(v);
        y.push(2.0 * v + (0.1 + 0.6 * v.abs()) * rng.normal());
    }
    Dataset::new(
        x,
        1,
        Targets::Values {
            values: y,
            n_outputs: 1,
        },
    )
    .expect("data")
}

#[test]
fn learned_quantiles_cover_and_cqr_follows_the_noise() {
    let train = hetero_rows(1500, 1);
    let model = MlpBuilder::regressor()
        .hidden(&[32, 32])
        .loss(quantile(&[0.05, 0.5, 0.95]))
        .epochs(150)
        .seed(0)
        .threads(1)
        .fit(&train)
        .expect("fit");
    assert_eq!(model.network().outputs(), 3);
    assert_eq!(model.output_width(), 1);
    let test = hetero_rows(3000, 2);
    let n = test.len();
    let q = model.predict_quantiles(test.features(), n).expect("q");
    let point = model.predict_values(test.features(), n).expect("values");
    let Targets::Values { values: y, .. } = test.targets() else {
        panic!("values")
    };
    let inside = (0..n)
        .filter(|&i| q[3 * i] <= y[i] && y[i] <= q[3 * i + 2])
        .count() as f64
        / n as f64;
    assert!(
        (0.85..=0.95).contains(&inside),
        "5-95% band covers {inside}"
    );
    // The point prediction is the median output, and the bands are ordered.
    assert!((0..n).all(|i| point[i] == q[3 * i + 1]));
    let ordered = (0..n)
        .filter(|&i| q[3 * i] <= q[3 * i + 1] && q[3 * i + 1] <= q[3 * i + 2])
        .count();
    assert!(ordered as f64 > 0.99 * n as f64, "{ordered} of {n} ordered");

    // CQR on calibration rows the model never saw: narrower where |x| (the noise) is small.
    let cal = hetero_rows(500, 3);
    let mut model = model;
    // fit() standardizes targets: encode the calibration targets the same way.
    let TargetEncoder::Standardized { mean, scale, .. } = model.target().clone() else {
        panic!("standardized")
    };
    let Targets::Values { values, .. } = cal.targets() else {
        panic!("values")
    };
    let enc = values
        .iter()
        .map(|v| ((*v as f64 - mean[0]) / scale[0]) as f32)
        .collect();
    let mut cal = cal.clone();
    cal.set_targets(Targets::Values {
        values: enc,
        n_outputs: 1,
    })
    .expect("targets");
    let c = model.calibrate_conformal(&cal).expect("calibrate");
    assert_eq!(c.score, ConformalScore::Cqr);
    let p = model
        .predictions_with(test.features(), n, &PredictOptions::default().interval(0.9))
        .expect("predict");
    let (lo, hi) = (p.lower().expect("lower"), p.upper().expect("upper"));
    let covered = (0..n).filter(|&i| lo[i] <= y[i] && y[i] <= hi[i]).count() as f64 / n as f64;
    assert!((0.87..=0.93).contains(&covered), "CQR covers {covered}");
    let x = test.features();
    let width_where = |keep: &dyn Fn(f32) -> bool| {
        let w: Vec<f32> = (0..n)
            .filter(|&i| keep(x[i]))
            .map(|i| hi[i] - lo[i])
            .collect();
        w.iter().sum::<f32>() / w.len().max(1) as f32
    };
    let (narrow, wide) = (
        width_where(&|v| v.abs() < 0.5),
        width_where(&|v| v.abs() > 1.5),
    );
    assert!(
        wide > 2.0 * narrow,
        "mean width {narrow} near x = 0, {wide} at |x| > 1.5"
    );
    // The quantile columns travel with the predictions.
    assert_eq!(p.quantile_levels(), &[0.05, 0.5, 0.95]);
    assert_eq!(p.quantiles().map(<[f32]>::len), Some(3 * n));
}

/// A fixed quantile model: `q_lo = 0.5 x - 1`, `q_hi = 0.5 x + 1` (identity scaling).
fn fixed_cqr_model() -> Model {
    let mut network = ModelSpec::mlp(1, &[], 2, Activation::Identity, 0.0)
        .build(0)
        .expect("spec");
    let mut params = network.params().to_vec();
    for t in network.tensors() {
        let src: &[f32] = if t.name.ends_with("weight") {
            &[0.5, 0.5]
        } else {
            &[-1.0, 1.0]
        };
        params[t.range.clone()].copy_from_slice(src);
    }
    network.set_params(params).expect("params");
    Model::new(
        network,
        Task::Regression,
        InputSchema::Matrix {
            feature_names: vec!["x".into()],
            source: "test".into(),
            value_scale: None,
        },
        Scaler::identity(1),
        TargetEncoder::Standardized {
            names: vec!["y".into()],
            mean: vec![0.0],
            scale: vec![1.0],
        },
        quantile(&[0.05, 0.95]),
    )
    .expect("model")
}

/// Bounds of the mean coverage over `seeds` repetitions (as in tests/uncertainty.rs): the
/// expectation `k / (n + 1)` plus and minus 4.5 standard deviations of the mean.
fn coverage_bounds(level: f64, n: usize, m: usize, seeds: usize) -> (f64, f64) {
    let k = conformal_rank(n, level) as f64;
    let n1 = n as f64 + 1.0;
    let e = k / n1;
    let beta_var = e * (1.0 - e) / (n1 + 1.0);
    let var = (beta_var + (e * (1.0 - e) - beta_var) / m as f64) / seeds as f64;
    (e - 4.5 * var.sqrt(), e + 4.5 * var.sqrt())
}

#[test]
fn cqr_covers_at_the_nominal_level_over_many_seeds() {
    let (level, n, m, seeds) = (0.9, 99, 200, 100);
    let model = fixed_cqr_model();
    let mut total = 0.0;
    for seed in 0..seeds {
        let mut m_ = model.clone();
        let cal = hetero_rows(n, 1000 + seed as u64);
        m_.calibrate_conformal(&cal).expect("calibrate");
        let test = hetero_rows(m, 5000 + seed as u64);
        let p = m_
            .predictions_with(
                test.features(),
                m,
                &PredictOptions::default().interval(level),
            )
            .expect("predict");
        let Targets::Values { values: y, .. } = test.targets() else {
            panic!("values")
        };
        let (lo, hi) = (p.lower().expect("lower"), p.upper().expect("upper"));
        total += (0..m).filter(|&i| lo[i] <= y[i] && y[i] <= hi[i]).count() as f64 / m as f64;
    }
    let mean = total / seeds as f64;
    let (low, high) = coverage_bounds(level, n, m, seeds);
    assert!(
        mean >= low && mean <= high,
        "mean coverage {mean} outside [{low}, {high}]"
    );
}

#[test]
fn quantile_models_and_cqr_scores_are_checked_on_load() {
    let mut model = fixed_cqr_model();
    model
        .calibrate_conformal(&hetero_rows(50, 9))
        .expect("calibrate");
    let file = model.to_tensor_file().expect("file");
    assert_eq!(file.metadata["format_version"], "2");
    let back = Model::from_tensor_file(&file, Path::new("q.mlp")).expect("load");
    assert_eq!(back, model);

    // CQR scores on a model whose loss has no quantile head.
    let mut f = file.clone();
    let doc = f.metadata["mlp"].replace(
        r#"{"type":"quantile","levels":[0.05,0.95]}"#,
        r#"{"type":"mse"}"#,
    );
    assert_ne!(doc, f.metadata["mlp"]);
    f.metadata.insert("mlp".into(), doc);
    let e = Model::from_tensor_file(&f, Path::new("q.mlp"))
        .expect_err("mismatch")
        .to_string();
    assert!(e.contains("network outputs") || e.contains("CQR"), "{e}");

    // A quantile loss on a classifier is refused.
    let network = ModelSpec::mlp(1, &[], 2, Activation::Identity, 0.0)
        .build(0)
        .expect("spec");
    let e = Model::new(
        network,
        Task::Classification,
        InputSchema::Matrix {
            feature_names: vec!["x".into()],
            source: "test".into(),
            value_scale: None,
        },
        Scaler::identity(1),
        TargetEncoder::Classes {
            name: "c".into(),
            labels: vec!["a".into(), "b".into()],
        },
        quantile(&[0.1, 0.9]),
    )
    .expect_err("classifier")
    .to_string();
    assert!(e.contains("regression"), "{e}");

    // Training a classifier with a quantile loss is one clear error.
    let data = Dataset::new(
        vec![0.0, 1.0, 2.0, 3.0],
        1,
        Targets::Classes {
            labels: vec![0, 1, 0, 1],
            n_classes: 2,
        },
    )
    .expect("data");
    let e = MlpBuilder::classifier()
        .loss(quantile(&[0.1, 0.9]))
        .epochs(2)
        .fit(&data)
        .expect_err("classes")
        .to_string();
    assert!(e.contains("regression target"), "{e}");
}
