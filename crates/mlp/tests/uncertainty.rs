//! Uncertainty: split-conformal coverage over many seeds, temperature scaling, Monte-Carlo
//! dropout, the model-file field, and the errors for options a model cannot honour.

use mlp::Activation;
use mlp::data::preprocess::TargetEncoder;
use mlp::data::{Dataset, Targets};
use mlp::loss::Loss;
use mlp::model::{InputSchema, Model, Scaler, Task};
use mlp::rng::Rng;
use mlp::spec::ModelSpec;
use mlp::table::PredictOptions;
use mlp::uncertainty::{Conformal, ConformalScore, Uncertainty, conformal_rank, split_calibration};

/// A fixed linear model `outputs = W x + b` (no hidden layer), identity scaling.
fn linear_model(task: Task, weights: &[f32], bias: &[f32], inputs: usize) -> Model {
    let outputs = bias.len();
    let mut network = ModelSpec::mlp(inputs, &[], outputs, Activation::Identity, 0.0)
        .build(0)
        .expect("spec");
    let mut params = network.params().to_vec();
    for t in network.tensors() {
        let src = if t.name.ends_with("weight") {
            weights
        } else {
            bias
        };
        params[t.range.clone()].copy_from_slice(src);
    }
    network.set_params(params).expect("params");
    let (target, loss) = match task {
        Task::Regression => (
            TargetEncoder::Standardized {
                names: (0..outputs).map(|j| format!("y{j}")).collect(),
                mean: vec![0.0; outputs],
                scale: vec![1.0; outputs],
            },
            Loss::Mse,
        ),
        _ => (
            TargetEncoder::Classes {
                name: "class".into(),
                labels: (0..outputs).map(|j| format!("c{j}")).collect(),
            },
            Loss::CrossEntropy {
                label_smoothing: 0.0,
            },
        ),
    };
    Model::new(
        network,
        task,
        InputSchema::Matrix {
            feature_names: (0..inputs).map(|j| format!("x{j}")).collect(),
            source: "test".into(),
            value_scale: None,
        },
        Scaler::identity(inputs),
        target,
        loss,
    )
    .expect("consistent model")
}

/// `y = 2x + noise` with standard normal x and noise; the fixed predictor is `2x`.
fn regression_rows(n: usize, rng: &mut Rng) -> Dataset {
    let x: Vec<f32> = (0..n).map(|_| rng.normal()).collect();
    let y: Vec<f32> = x.iter().map(|&v| 2.0 * v + rng.normal()).collect();
    Dataset::new(
        x,
        1,
        Targets::Values {
            values: y,
            n_outputs: 1,
        },
    )
    .expect("consistent data")
}

/// Three classes whose labels are drawn from the model's own softmax(x) over 3 features.
fn class_rows(n: usize, rng: &mut Rng) -> Dataset {
    let mut x = Vec::with_capacity(3 * n);
    let mut labels = Vec::with_capacity(n);
    for _ in 0..n {
        let z: Vec<f32> = (0..3).map(|_| 1.5 * rng.normal()).collect();
        let m = z.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
        let e: Vec<f64> = z.iter().map(|&v| ((v - m) as f64).exp()).collect();
        let s: f64 = e.iter().sum();
        let u = rng.uniform_f64() * s;
        let mut acc = 0.0;
        let mut label = 2;
        for (k, &p) in e.iter().enumerate() {
            acc += p;
            if u < acc {
                label = k;
                break;
            }
        }
        x.extend_from_slice(&z);
        labels.push(label);
    }
    Dataset::new(
        x,
        3,
        Targets::Classes {
            labels,
            n_classes: 3,
        },
    )
    .expect("consistent data")
}

/// The bounds of the mean coverage over `seeds` repetitions, `n` calibration rows and `m` test
/// rows each: the theory gives `E[coverage] = k / (n + 1)` with `k = ceil((n+1)(1-alpha))`,
/// inside `[1 - alpha, 1 - alpha + 1/(n+1))`. One repetition's coverage is a Beta(k, n+1-k)
/// conditional coverage seen through `m` Bernoulli test rows: variance
/// `k(n+1-k)/((n+1)^2 (n+2)) + p(1-p)/m`; the mean over the repetitions gets 4.5 standard
/// errors of slack on each side (a false failure about once in 150,000 runs).
fn coverage_bounds(level: f64, n: usize, m: usize, seeds: usize) -> (f64, f64) {
    let k = conformal_rank(n, level) as f64;
    let n1 = n as f64 + 1.0;
    let p = k / n1;
    let var = k * (n1 - k) / (n1 * n1 * (n1 + 1.0)) + p * (1.0 - p) / m as f64;
    let se = (var / seeds as f64).sqrt();
    (level - 4.5 * se, level + 1.0 / n1 + 4.5 * se)
}

#[test]
fn conformal_rank_is_the_finite_sample_quantile() {
    assert_eq!(conformal_rank(9, 0.9), 9);
    assert_eq!(conformal_rank(10, 0.9), 10);
    assert_eq!(conformal_rank(19, 0.95), 19);
    assert_eq!(conformal_rank(50, 0.9), 46);
    assert_eq!(conformal_rank(100, 0.5), 51);
}

#[test]
fn regression_intervals_cover_at_the_nominal_level_over_many_seeds() {
    let (level, n, m, seeds) = (0.9, 50, 400, 300);
    let mut total = 0.0;
    for seed in 0..seeds {
        let mut rng = Rng::seed_from(1000 + seed as u64);
        let mut model = linear_model(Task::Regression, &[2.0], &[0.0], 1);
        let cal = regression_rows(n, &mut rng);
        model.calibrate_conformal(&cal).expect("calibrate");
        let test = regression_rows(m, &mut rng);
        let p = model
            .predictions_with(
                test.features(),
                m,
                &PredictOptions::default().interval(level),
            )
            .expect("predict");
        let (lo, hi) = (p.lower().expect("lower"), p.upper().expect("upper"));
        let Targets::Values { values, .. } = test.targets() else {
            unreachable!()
        };
        let covered = values
            .iter()
            .zip(lo.iter().zip(hi))
            .filter(|(y, (l, h))| *l <= *y && *y <= *h)
            .count();
        total += covered as f64 / m as f64;
    }
    let mean = total / seeds as f64;
    let (low, high) = coverage_bounds(level, n, m, seeds);
    assert!(
        (low..=high).contains(&mean),
        "mean coverage {mean} outside [{low}, {high}]"
    );
}

#[test]
fn prediction_sets_cover_at_the_nominal_level_over_many_seeds() {
    let (level, n, m, seeds) = (0.8, 40, 300, 300);
    let eye = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0];
    let mut total = 0.0;
    let mut size = 0.0;
    for seed in 0..seeds {
        let mut rng = Rng::seed_from(5000 + seed as u64);
        let mut model = linear_model(Task::Classification, &eye, &[0.0; 3], 3);
        let cal = class_rows(n, &mut rng);
        model.calibrate_conformal(&cal).expect("calibrate");
        let test = class_rows(m, &mut rng);
        let p = model
            .predictions_with(
                test.features(),
                m,
                &PredictOptions::default().prediction_sets(level),
            )
            .expect("predict");
        let sets = p.prediction_sets().expect("sets");
        let Targets::Classes { labels, .. } = test.targets() else {
            unreachable!()
        };
        let covered = sets
            .iter()
            .zip(labels)
            .filter(|(s, y)| s.contains(y))
            .count();
        total += covered as f64 / m as f64;
        size += sets.iter().map(Vec::len).sum::<usize>() as f64 / m as f64;
    }
    let mean = total / seeds as f64;
    let (low, high) = coverage_bounds(level, n, m, seeds);
    assert!(
        (low..=high).contains(&mean),
        "mean coverage {mean} outside [{low}, {high}]"
    );
    // Sets are informative: smaller than all three classes on average.
    assert!(
        size / (seeds as f64) < 2.5,
        "mean set size {}",
        size / seeds as f64
    );
}

/// TECHNIQUES.md #16 (KACQ-DCNN) acceptance: at alpha = 0.1, empirical set coverage on 2,000
/// held-out rows, averaged over 20 random splits, lies in [0.88, 0.93]. With 200 calibration
/// rows the expected coverage is 181/201 = 0.9005 and the mean's standard deviation about 0.005.
#[test]
fn lac_sets_meet_the_kacq_acceptance() {
    let eye = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0];
    let mut total = 0.0;
    for split in 0..20u64 {
        let mut rng = Rng::seed_from(90_000 + split);
        let mut model = linear_model(Task::Classification, &eye, &[0.0; 3], 3);
        model
            .calibrate_conformal(&class_rows(200, &mut rng))
            .expect("calibrate");
        let test = class_rows(2000, &mut rng);
        let proba = model.predict_proba(test.features(), 2000).expect("proba");
        let sets = model.prediction_sets(&proba, 0.9).expect("sets");
        let Targets::Classes { labels, .. } = test.targets() else {
            unreachable!()
        };
        total += sets
            .iter()
            .zip(labels)
            .filter(|(s, y)| s.contains(y))
            .count() as f64
            / 2000.0;
    }
    let mean = total / 20.0;
    assert!((0.88..=0.93).contains(&mean), "mean coverage {mean}");
}

#[test]
fn temperature_lowers_nll_and_ece_of_an_over_confident_model() {
    // Labels come from softmax(z); the model says softmax(4 z): over-confident by T = 4.
    let mut rng = Rng::seed_from(3);
    let data = class_rows(4000, &mut rng);
    let four = [4.0, 0.0, 0.0, 0.0, 4.0, 0.0, 0.0, 0.0, 4.0];
    let mut model = linear_model(Task::Classification, &four, &[0.0; 3], 3);
    let before = model
        .predict_proba(&data.features()[..3], 1)
        .expect("proba");
    let t = model
        .fit_temperature(&data, "validation")
        .expect("fit")
        .clone();
    assert!((t.value - 4.0).abs() < 0.4, "temperature {}", t.value);
    assert!(t.nll_after < t.nll_before, "{t:?}");
    assert!(t.ece_after < t.ece_before, "{t:?}");
    assert_eq!(t.rows, 4000);
    // Applied at predict time: same class, less confident.
    let after = model
        .predict_proba(&data.features()[..3], 1)
        .expect("proba");
    let top = |p: &[f32]| mlp::train::argmax(p);
    assert_eq!(top(&before), top(&after));
    assert!(after[top(&after)] < before[top(&before)]);
    // And it survives a save/load round trip.
    let file = model.to_tensor_file().expect("encode");
    let back = Model::from_tensor_file(&file, std::path::Path::new("m.safetensors")).expect("load");
    assert_eq!(back.temperature(), model.temperature());
    assert_eq!(
        back.predict_proba(&data.features()[..3], 1).expect("p"),
        after
    );
}

#[test]
fn temperature_does_not_sharpen_on_rows_that_are_all_right() {
    // Every row's top class is its label: the NLL falls as T -> 0; the fit keeps T at 1.
    let logits = [2.0f32, 0.0, 0.0, 1.0, 0.5, 3.0, -1.0, 0.0];
    let t = mlp::uncertainty::fit_temperature(&logits, &[0, 1, 1, 1], 2);
    assert!((0.999..1.01).contains(&t), "{t}");
    // One mistake gives an interior minimum, below 1 only if the data say so.
    let t = mlp::uncertainty::fit_temperature(&logits, &[1, 1, 1, 1], 2);
    assert!(t > 1.0, "{t}");
}

#[test]
fn conformal_scores_travel_in_the_model_file_and_are_checked_on_load() {
    let mut rng = Rng::seed_from(9);
    let mut model = linear_model(Task::Regression, &[2.0], &[0.0], 1);
    model
        .calibrate_conformal(&regression_rows(30, &mut rng))
        .expect("calibrate");
    let path = std::path::Path::new("m.safetensors");
    let file = model.to_tensor_file().expect("encode");
    let back = Model::from_tensor_file(&file, path).expect("load");
    assert_eq!(back.uncertainty(), model.uncertainty());
    // Hand-edited metadata: a negative score, or two lists for one target, is refused.
    let json = &file.metadata["mlp"];
    for (from, to, what) in [
        ("\"scores\":[[", "\"scores\":[[-1.0,", "negative"),
        ("\"scores\":[[", "\"scores\":[[1.0],[", "score lists"),
        ("\"absolute_residual\"", "\"lac\"", "do not fit"),
    ] {
        let mut bad = file.clone();
        bad.metadata
            .insert("mlp".into(), json.replacen(from, to, 1));
        let err = Model::from_tensor_file(&bad, path)
            .expect_err(what)
            .to_string();
        assert!(err.contains(what), "{err}");
    }
}

#[test]
fn split_calibration_is_stratified_disjoint_and_seeded() {
    let mut rng = Rng::seed_from(1);
    let data = class_rows(300, &mut rng);
    let (rest, cal) = split_calibration(&data, 0.2, 7).expect("split");
    assert_eq!(rest.len() + cal.len(), 300);
    assert!((55..=65).contains(&cal.len()), "{}", cal.len());
    let (rest2, cal2) = split_calibration(&data, 0.2, 7).expect("split");
    assert_eq!((rest2, cal2), (rest.clone(), cal.clone()));
    // Stratified: each class's share of the calibration rows is within one row of its share.
    let count = |d: &Dataset, c: usize| match d.targets() {
        Targets::Classes { labels, .. } => labels.iter().filter(|&&l| l == c).count(),
        _ => 0,
    };
    for c in 0..3 {
        let want = count(&data, c) as f64 * 0.2;
        assert!((count(&cal, c) as f64 - want).abs() <= 1.0);
    }
    assert!(split_calibration(&data, 1.5, 0).is_err());
    assert!(split_calibration(&data, 0.0, 0).is_err());
}

#[test]
fn options_a_model_cannot_honour_are_one_line_errors() {
    let mut rng = Rng::seed_from(2);
    let eye = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0];
    let mut clf = linear_model(Task::Classification, &eye, &[0.0; 3], 3);
    let mut reg = linear_model(Task::Regression, &[2.0], &[0.0], 1);
    let x3 = [0.1f32, 0.2, 0.3];
    let x1 = [0.5f32];
    let err = |r: mlp::Result<mlp::table::Predictions>| {
        let e = r.expect_err("must fail").to_string();
        assert!(!e.contains('\n'), "{e}");
        e
    };
    let no_cal = err(reg.predictions_with(&x1, 1, &PredictOptions::default().interval(0.9)));
    assert!(no_cal.contains("without calibration rows"), "{no_cal}");
    assert!(no_cal.contains("calibration_fraction"), "{no_cal}");
    reg.calibrate_conformal(&regression_rows(20, &mut rng))
        .expect("cal");
    clf.calibrate_conformal(&class_rows(20, &mut rng))
        .expect("cal");
    let e = err(clf.predictions_with(&x3, 1, &PredictOptions::default().interval(0.9)));
    assert!(
        e.contains("interval") && e.contains("classification"),
        "{e}"
    );
    let e = err(reg.predictions_with(&x1, 1, &PredictOptions::default().prediction_sets(0.9)));
    assert!(
        e.contains("prediction_sets") && e.contains("regression"),
        "{e}"
    );
    for level in [0.0, 1.0, 1.5, -0.1, f64::NAN] {
        let e = err(reg.predictions_with(&x1, 1, &PredictOptions::default().interval(level)));
        assert!(e.contains("between 0 and 1"), "{e}");
    }
    // 20 rows reach 0.95 (k = 20) but not 0.96 (k = 21).
    assert!(
        reg.predictions_with(&x1, 1, &PredictOptions::default().interval(0.95))
            .is_ok()
    );
    let e = err(reg.predictions_with(&x1, 1, &PredictOptions::default().interval(0.96)));
    assert!(
        e.contains("at least 24 calibration rows") && e.contains("has 20"),
        "{e}"
    );
    let e = err(reg.predictions_with(&x1, 1, &PredictOptions::default().mc_samples(10, 0)));
    assert!(e.contains("dropout"), "{e}");
    let _ = Uncertainty::default();
    let _ = Conformal {
        score: ConformalScore::Lac,
        scores: vec![],
    };
}

#[test]
fn mc_dropout_is_reproducible_with_a_seed_and_reports_spread() {
    let mut rng = Rng::seed_from(4);
    let data = regression_rows(64, &mut rng);
    let model = mlp::estimator::MlpBuilder::regressor()
        .hidden(&[16])
        .dropout(0.3)
        .epochs(5)
        .seed(1)
        .threads(1)
        .fit(&data)
        .expect("fit");
    let a = model.mc_dropout(data.features(), 64, 20, 7).expect("mc");
    let b = model.mc_dropout(data.features(), 64, 20, 7).expect("mc");
    let c = model.mc_dropout(data.features(), 64, 20, 8).expect("mc");
    assert_eq!(a, b);
    assert_ne!(a.mean, c.mean);
    let std = a.std.as_ref().expect("std");
    assert_eq!(std.len(), 64);
    assert!(std.iter().all(|s| *s > 0.0 && s.is_finite()));
    // The mean of the passes is near the deterministic prediction (dropout is unbiased in
    // expectation at the last hidden layer), within a few standard errors of 20 passes.
    let point = model.predict_values(data.features(), 64).expect("p");
    let close = point
        .iter()
        .zip(&a.mean)
        .zip(std)
        .filter(|((p, m), s)| (*p - *m).abs() <= 4.0 * *s / 20f32.sqrt() + 1e-3)
        .count();
    assert!(close >= 58, "{close} of 64 means near the point prediction");
    // Classification: mean probabilities sum to 1, entropy within [0, ln k].
    let mut rng = Rng::seed_from(5);
    let cls = class_rows(90, &mut rng);
    let clf = mlp::estimator::MlpBuilder::classifier()
        .hidden(&[8])
        .dropout(0.2)
        .epochs(3)
        .seed(1)
        .threads(1)
        .fit(&cls)
        .expect("fit");
    let r = clf.mc_dropout(cls.features(), 90, 10, 0).expect("mc");
    assert!(r.std.is_none());
    for (row, h) in r
        .mean
        .chunks_exact(3)
        .zip(r.entropy.as_ref().expect("entropy"))
    {
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-4);
        assert!(*h >= 0.0 && *h <= 3f32.ln() + 1e-5);
    }
    assert!(clf.mc_dropout(cls.features(), 90, 1, 0).is_err());
}
