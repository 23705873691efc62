//! Deep ensembles: bit-reproducible members with different seeds, independent of the thread
//! count; the ensemble's prediction is the mean of its members'; model files with and without
//! members; crafted files with bad member tensors fail cleanly.

use mlp::data::{Dataset, Targets};
use mlp::estimator::MlpBuilder;
use mlp::io::TensorFile;
use mlp::model::Model;
use mlp::rng::Rng;
use std::path::Path;

/// Three overlapping blobs, `n` rows.
fn class_rows(n: usize, seed: u64) -> Dataset {
    let mut rng = Rng::seed_from(seed);
    let centres = [(0.0, 0.0), (1.5, 0.0), (0.0, 1.5)];
    let mut features = Vec::new();
    let mut labels = Vec::new();
    for i in 0..n {
        let c = i % 3;
        features.push(centres[c].0 + rng.normal());
        features.push(centres[c].1 + rng.normal());
        labels.push(c);
    }
    Dataset::new(
        features,
        2,
        Targets::Classes {
            labels,
            n_classes: 3,
        },
    )
    .expect("data")
}

/// `y = sin(2 x) + noise`, one feature, `n` rows.
fn regression_rows(n: usize, seed: u64) -> Dataset {
    let mut rng = Rng::seed_from(seed);
    let mut features = Vec::new();
    let mut values = Vec::new();
    for _ in 0..n {
        let x = 4.0 * rng.uniform() - 2.0;
        features.push(x);
        values.push((2.0 * x).sin() + 0.1 * rng.normal());
    }
    Dataset::new(
        features,
        1,
        Targets::Values {
            values,
            n_outputs: 1,
        },
    )
    .expect("data")
}

fn builder(k: usize, threads: usize) -> MlpBuilder {
    MlpBuilder::new()
        .hidden(&[8])
        .epochs(15)
        .batch_size(32)
        .seed(7)
        .threads(threads)
        .ensemble(k)
}

fn all_params(model: &Model) -> Vec<f32> {
    let mut p = model.network().params().to_vec();
    for m in model.members() {
        p.extend_from_slice(m.params());
    }
    p
}

#[test]
fn an_ensemble_is_bit_reproducible_and_independent_of_threads() {
    let data = class_rows(150, 1);
    let a = builder(3, 1).fit(&data).expect("fit");
    let b = builder(3, 1).fit(&data).expect("fit");
    let c = builder(3, 3).fit(&data).expect("fit");
    assert_eq!(a.ensemble_size(), 3);
    let (pa, pb, pc) = (all_params(&a), all_params(&b), all_params(&c));
    assert!(pa.iter().zip(&pb).all(|(x, y)| x.to_bits() == y.to_bits()));
    assert!(pa.iter().zip(&pc).all(|(x, y)| x.to_bits() == y.to_bits()));
    // Member 0 is a single-network run with the same seed on one thread.
    let single = builder(1, 1).fit(&data).expect("fit");
    assert_eq!(single.ensemble_size(), 1);
    assert_eq!(single.network().params(), a.network().params());
}

#[test]
fn members_differ_and_have_derived_seeds() {
    let data = class_rows(150, 2);
    let model = builder(3, 2).fit(&data).expect("fit");
    let m0 = model.network().params();
    let m1 = model.members()[0].params();
    let m2 = model.members()[1].params();
    assert_ne!(m0, m1);
    assert_ne!(m1, m2);
    assert_eq!(mlp::ensemble::member_seed(7, 0), 7);
    assert_ne!(
        mlp::ensemble::member_seed(7, 1),
        mlp::ensemble::member_seed(7, 2)
    );
    assert_ne!(
        mlp::ensemble::member_seed(7, 1),
        mlp::ensemble::member_seed(8, 1)
    );
}

#[test]
fn the_ensemble_predicts_the_mean_of_its_members() {
    let data = class_rows(150, 3);
    let model = builder(3, 2).fit(&data).expect("fit");
    let n = data.len();
    let proba = model.predict_proba(data.features(), n).expect("proba");
    let mut mean = vec![0.0f64; proba.len()];
    for i in 0..3 {
        let member = model.member(i).expect("member");
        let p = member.predict_proba(data.features(), n).expect("proba");
        mean.iter_mut()
            .zip(&p)
            .for_each(|(m, &v)| *m += v as f64 / 3.0);
    }
    assert!(model.member(3).is_none());
    for (a, b) in proba.iter().zip(&mean) {
        assert!((*a as f64 - b).abs() < 1e-5, "{a} vs {b}");
    }
    // The serving path agrees.
    let mut out = vec![0.0; n * model.output_width()];
    model
        .predict_into(
            data.features(),
            n,
            &mut mlp::model::PredictScratch::new(),
            &mut out,
        )
        .expect("predict_into");
    assert_eq!(out, proba);

    let data = regression_rows(120, 4);
    let model = builder(4, 2).fit(&data).expect("fit");
    let values = model.predict_values(data.features(), 120).expect("values");
    let mut mean = vec![0.0f64; values.len()];
    for i in 0..4 {
        let v = model
            .member(i)
            .expect("member")
            .predict_values(data.features(), 120)
            .expect("values");
        mean.iter_mut()
            .zip(&v)
            .for_each(|(m, &x)| *m += x as f64 / 4.0);
    }
    for (a, b) in values.iter().zip(&mean) {
        assert!((*a as f64 - b).abs() < 1e-5, "{a} vs {b}");
    }
}

#[test]
fn ensemble_files_round_trip_and_single_files_stay_version_1() {
    let data = class_rows(90, 5);
    let model = builder(3, 1).fit(&data).expect("fit");
    let file = model.to_tensor_file().expect("file");
    assert_eq!(file.metadata["format_version"], "2");
    let back = Model::from_tensor_file(&file, Path::new("e.mlp")).expect("load");
    assert_eq!(back.ensemble_size(), 3);
    assert_eq!(all_params(&back), all_params(&model));

    // A single network is written exactly as before ensembles existed: version 1, no
    // `ensemble` key, no member tensors, so files of older versions are this shape and load.
    let single = builder(1, 1).fit(&data).expect("fit");
    let file = single.to_tensor_file().expect("file");
    assert_eq!(file.metadata["format_version"], "1");
    assert!(!file.metadata["mlp"].contains("\"ensemble\""));
    assert!(
        !file
            .tensors
            .iter()
            .any(|(n, _, _)| n.starts_with("members."))
    );
    let back = Model::from_tensor_file(&file, Path::new("s.mlp")).expect("load");
    assert_eq!(back.ensemble_size(), 1);
}

fn load_err(file: &TensorFile) -> String {
    Model::from_tensor_file(file, Path::new("bad.mlp"))
        .expect_err("a crafted file must not load")
        .to_string()
}

#[test]
fn crafted_member_tensors_are_clean_errors() {
    let data = class_rows(90, 6);
    let model = builder(3, 1).fit(&data).expect("fit");
    let good = model.to_tensor_file().expect("file");

    // A member tensor of the wrong shape.
    let mut f = good.clone();
    for (name, shape, values) in &mut f.tensors {
        if name == "members.2.layers.0.weight" {
            *shape = vec![4, 2];
            values.truncate(8);
        }
    }
    let e = load_err(&f);
    assert!(e.contains("members.2.layers.0.weight"), "{e}");

    // A missing member.
    let mut f = good.clone();
    f.tensors.retain(|(n, _, _)| !n.starts_with("members.2."));
    let e = load_err(&f);
    assert!(e.contains("members.2.layers.0"), "{e}");

    // A member the metadata does not count.
    let mut f = good.clone();
    let doc = f.metadata["mlp"].replace("\"ensemble\":3", "\"ensemble\":2");
    f.metadata.insert("mlp".into(), doc);
    let e = load_err(&f);
    assert!(e.contains("belongs to no member"), "{e}");

    // A member count past the limit is refused before anything is sized from it.
    let mut f = good.clone();
    let doc = f.metadata["mlp"].replace("\"ensemble\":3", "\"ensemble\":100000000000");
    f.metadata.insert("mlp".into(), doc);
    let e = load_err(&f);
    assert!(e.contains("between 1 and 64"), "{e}");
}

#[test]
fn ensemble_zero_is_a_config_error() {
    let e = builder(0, 1)
        .fit(&class_rows(30, 7))
        .expect_err("0 members")
        .to_string();
    assert!(e.contains("ensemble"), "{e}");
}

#[test]
fn conformal_scores_come_from_the_ensemble() {
    let data = regression_rows(200, 8);
    let (rest, cal) = mlp::uncertainty::split_calibration(&data, 0.3, 1).expect("split");
    let mut model = builder(3, 1).fit(&rest).expect("fit");
    // fit() standardizes targets; calibration rows need them encoded the same way.
    let mlp::data::preprocess::TargetEncoder::Standardized { mean, scale, .. } = model.target()
    else {
        panic!("a regression target encoding");
    };
    let (m, s) = (mean[0] as f32, scale[0] as f32);
    let Targets::Values { values, .. } = cal.targets() else {
        panic!("values");
    };
    let encoded = values.iter().map(|v| (v - m) / s).collect();
    let mut cal = cal.clone();
    cal.set_targets(Targets::Values {
        values: encoded,
        n_outputs: 1,
    })
    .expect("targets");
    let c = model.calibrate_conformal(&cal).expect("calibrate").clone();
    let pred = model
        .predict_values(cal.features(), cal.len())
        .expect("pred");
    let mut truth = match cal.targets() {
        Targets::Values { values, .. } => values.clone(),
        _ => unreachable!(),
    };
    model.target().decode_values(&mut truth);
    let mut expected: Vec<f32> = truth
        .iter()
        .zip(&pred)
        .map(|(y, p)| (y - p).abs())
        .collect();
    expected.sort_by(f32::total_cmp);
    assert_eq!(c.scores[0], expected);
}
