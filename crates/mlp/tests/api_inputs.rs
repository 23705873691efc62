//! Property tests: every public entry point that takes user data, given malformed input, returns
//! an error instead of panicking (a panic fails the property), and rejects what is clearly wrong.

use mlp::prelude::*;
use proptest::prelude::*;
use std::sync::OnceLock;

/// A small trained classifier (3 features, 3 classes) and regressor (3 features, 2 outputs).
fn models() -> &'static (Model, Model) {
    static MODELS: OnceLock<(Model, Model)> = OnceLock::new();
    MODELS.get_or_init(|| {
        let x: Vec<f32> = (0..60).map(|i| ((i * 37) % 17) as f32 / 17.0).collect();
        let classes = Dataset::new(
            x.clone(),
            3,
            Targets::Classes {
                labels: (0..20).map(|i| i % 3).collect(),
                n_classes: 3,
            },
        )
        .expect("classes");
        let values = Dataset::new(
            x,
            3,
            Targets::Values {
                values: (0..40).map(|i| i as f32 * 0.5).collect(),
                n_outputs: 2,
            },
        )
        .expect("values");
        let b = MlpBuilder::new().hidden(&[4]).epochs(2).seed(1).threads(1);
        (
            b.clone().fit(&classes).expect("classifier"),
            b.fit(&values).expect("regressor"),
        )
    })
}

fn value() -> impl Strategy<Value = f32> {
    prop_oneof![
        8 => -3.0f32..3.0,
        1 => Just(f32::NAN),
        1 => Just(f32::INFINITY),
    ]
}

fn targets() -> impl Strategy<Value = Targets> {
    prop_oneof![
        (proptest::collection::vec(0usize..5, 0..12), 0usize..4)
            .prop_map(|(labels, n_classes)| Targets::Classes { labels, n_classes }),
        (proptest::collection::vec(value(), 0..12), 0usize..3)
            .prop_map(|(values, n_outputs)| Targets::Values { values, n_outputs }),
        (proptest::collection::vec(0u8..2, 0..12), 0usize..3).prop_map(|(v, n_labels)| {
            Targets::MultiLabel {
                values: v.into_iter().map(f32::from).collect(),
                n_labels,
            }
        }),
    ]
}

/// The parts of a data set, often inconsistent with each other.
type Parts = (Vec<f32>, usize, Targets, Option<Vec<f32>>);

fn dataset() -> impl Strategy<Value = Parts> {
    (
        proptest::collection::vec(value(), 0..40),
        0usize..5,
        targets(),
        proptest::option::of(proptest::collection::vec(-1.0f32..2.0, 0..12)),
    )
}

/// A data set from the parts: the constructors are where inconsistent parts are refused.
fn build((features, n_features, targets, weights): Parts) -> mlp::Result<Dataset> {
    Dataset::new(features, n_features, targets)?.with_weights(weights)
}

fn cell() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (-50i32..50).prop_map(|v| (v as f32 / 4.0).to_string()),
        1 => prop_oneof![
            Just(String::new()),
            Just("NA".to_string()),
            Just("null".to_string()),
            Just("?".to_string()),
            Just("inf".to_string()),
            Just("1e999".to_string()),
        ],
        2 => "[a-c]{1,2}",
    ]
}

fn table() -> impl Strategy<Value = Table> {
    (1usize..4, 0usize..8).prop_flat_map(|(cols, rows)| {
        proptest::collection::vec(proptest::collection::vec(cell(), rows), cols).prop_map(
            move |columns| {
                Table::from_columns(
                    columns
                        .into_iter()
                        .enumerate()
                        .map(|(i, c)| (format!("c{i}"), c)),
                )
                .expect("rectangular by construction")
            },
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn fit_never_panics_on_a_malformed_dataset(parts in dataset()) {
        // Inconsistent parts are an error from the constructor (a panic fails the property);
        // what it accepts trains or errors.
        if let Ok(data) = build(parts) {
            prop_assert!(data.validate().is_ok());
            let _ = MlpBuilder::new().hidden(&[2]).epochs(1).threads(1).fit(&data);
        }
    }

    #[test]
    fn evaluate_never_panics(parts in dataset()) {
        let Ok(data) = build(parts) else {
            return Ok(());
        };
        let (classifier, regressor) = models();
        let a = classifier.evaluate(&data);
        let b = regressor.evaluate(&data);
        if data.n_features() != 3 {
            prop_assert!(a.is_err() && b.is_err());
        }
        if let Targets::Classes { labels, .. } = data.targets()
            && labels.iter().any(|&l| l >= 3)
        {
            prop_assert!(a.is_err(), "unknown class index accepted");
        }
    }

    #[test]
    fn predictions_never_panic(x in proptest::collection::vec(value(), 0..30), rows in 0usize..12) {
        let (classifier, regressor) = models();
        let well_formed = rows * 3 == x.len() && x.iter().all(|v| v.is_finite());
        for model in [classifier, regressor] {
            let p = model.predictions(&x, rows);
            prop_assert_eq!(p.is_ok(), well_formed);
            let mut scratch = PredictScratch::new();
            let mut out = vec![0.0; rows * model.output_width()];
            prop_assert_eq!(model.predict_into(&x, rows, &mut scratch, &mut out).is_ok(), well_formed);
            let _ = model.predict_proba(&x, rows);
            let _ = model.predict_classes(&x, rows);
            let _ = model.predict_values(&x, rows);
        }
        if rows > 0
            && x.len() % rows == 0
            && let Ok(a) = mlp::ndarray::ArrayView2::from_shape((rows, x.len() / rows), &x)
        {
            let _ = classifier.predict_proba_array(a);
            let _ = regressor.predict_values_array(a);
        }
    }

    #[test]
    fn fit_array_checks_lengths(rows in 0usize..8, cols in 0usize..3, labels in proptest::collection::vec(0usize..3, 0..10)) {
        let x = mlp::ndarray::Array2::from_shape_fn((rows, cols), |(i, j)| (i + j) as f32);
        let result = MlpBuilder::new().hidden(&[2]).epochs(1).threads(1).fit_array(x.view(), &labels);
        if labels.len() != rows || cols == 0 {
            prop_assert!(result.is_err());
        }
        let y = mlp::ndarray::Array2::from_shape_fn((labels.len(), 1), |(i, _)| i as f32);
        let result = MlpBuilder::new().hidden(&[2]).epochs(1).threads(1).fit_array_regression(x.view(), y.view());
        if labels.len() != rows {
            prop_assert!(result.is_err());
        }
    }

    #[test]
    fn tables_never_panic(t in table(), target in 0usize..4, unknown in 0u8..3) {
        let target = format!("c{target}");
        let _ = MlpBuilder::new().hidden(&[2]).epochs(1).threads(1).fit_table(&t, &target);
        let _ = MlpBuilder::regressor().hidden(&[2]).epochs(1).threads(1).fit_table(&t, &target);
        let policy = [UnknownCategory::Warn, UnknownCategory::Ignore, UnknownCategory::Error][unknown as usize];
        let (classifier, _) = models();
        // A matrix model refuses a table; it never panics.
        prop_assert!(classifier.predict_table_with(&t, policy).is_err());
    }

    #[test]
    fn records_of_any_shape(rows in proptest::collection::vec(proptest::collection::vec(cell(), 0..4), 0..5)) {
        let r = Table::from_records(&["a", "b", "c"], rows.clone());
        prop_assert_eq!(r.is_ok(), rows.iter().all(|row| row.len() == 3));
    }
}

/// A model trained on a table, given tables with missing, extra and malformed columns.
#[test]
fn table_model_rejects_bad_tables_without_panicking() {
    let t = Table::from_columns([
        ("x", vec!["1", "2", "3", "4", "5", "6"]),
        ("k", vec!["a", "b", "a", "b", "c", "c"]),
        ("y", vec!["p", "q", "p", "q", "p", "q"]),
    ])
    .expect("table");
    let model = MlpBuilder::classifier()
        .hidden(&[2])
        .epochs(2)
        .fit_table(&t, "y")
        .expect("fit");
    let no_x = Table::from_columns([("k", vec!["a"])]).expect("table");
    assert!(model.predict_table(&no_x).is_err());
    let text_in_numeric = Table::from_columns([("x", vec!["abc"]), ("k", vec!["a"])]).expect("t");
    let err = model.predict_table(&text_in_numeric).expect_err("text");
    assert!(err.to_string().contains("column 'x'"), "{err}");
    let inf = Table::from_columns([("x", vec!["inf"]), ("k", vec!["a"])]).expect("t");
    assert!(model.predict_table(&inf).is_err());
    let missing = Table::from_columns([("x", vec!["NA"]), ("k", vec!["a"])]).expect("t");
    assert!(model.predict_table(&missing).is_err());
    let empty = Table::from_columns([("x", Vec::<&str>::new()), ("k", Vec::new())]).expect("t");
    let p = model.predict_table(&empty).expect("no rows is fine");
    assert_eq!(p.n_rows(), 0);
    // Unknown target column and no feature columns left.
    assert!(MlpBuilder::new().fit_table(&t, "nope").is_err());
    let only_target = Table::from_columns([("y", vec!["p", "q"])]).expect("t");
    assert!(MlpBuilder::new().fit_table(&only_target, "y").is_err());
}

#[test]
fn model_new_checks_that_its_parts_fit_together() {
    let (classifier, _) = models();
    let parts = |scaler: mlp::model::Scaler, task: Task| {
        Model::new(
            classifier.network().clone(),
            task,
            classifier.input().clone(),
            scaler,
            classifier.target().clone(),
            classifier.loss(),
        )
    };
    let same = parts(classifier.scaler().clone(), classifier.task()).expect("consistent parts");
    let x = [0.1f32, 0.5, 0.9];
    assert_eq!(
        same.predict_proba(&x, 1).expect("same"),
        classifier.predict_proba(&x, 1).expect("trained")
    );
    assert!(same.training().is_none());
    // A scaler for two features in front of a three-input network, a zero scale, and class
    // labels under a regression task are refused.
    assert!(parts(mlp::model::Scaler::identity(2), classifier.task()).is_err());
    let mut zero = mlp::model::Scaler::identity(3);
    zero.scale[1] = 0.0;
    assert!(parts(zero, classifier.task()).is_err());
    assert!(parts(classifier.scaler().clone(), Task::Regression).is_err());
}

#[test]
fn dataset_constructors_refuse_inconsistent_parts_and_keep_the_old_targets() {
    let classes = |labels: Vec<usize>| Targets::Classes {
        labels,
        n_classes: 2,
    };
    let mut d = Dataset::new(vec![1.0, 2.0, 3.0, 4.0], 2, classes(vec![0, 1])).expect("data");
    assert_eq!(d.row(1), Some(&[3.0f32, 4.0][..]));
    assert_eq!(d.row(2), None);
    assert!(Dataset::new(vec![1.0, 2.0, 3.0], 2, classes(vec![0, 1])).is_err());
    assert!(d.set_targets(classes(vec![0, 2])).is_err());
    assert_eq!(d.targets(), &classes(vec![0, 1]));
    assert!(d.clone().with_weights(vec![1.0]).is_err());
    assert!(d.clone().with_weights(vec![1.0, f32::NAN]).is_err());
    let w = d.with_weights(vec![1.0, 2.0]).expect("weights");
    assert_eq!(w.weights(), Some(&[1.0f32, 2.0][..]));
}
