//! Unit tests of the preprocessing rules.
#![allow(clippy::unwrap_used)]

use super::*;
use crate::data::Targets;
use crate::data::csv::{read_csv, read_csv_from_reader};

fn temp_file(tag: &str, contents: &[u8]) -> std::path::PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let path = std::env::temp_dir().join(format!(
        "mlp-preprocess-test-{}-{tag}-{n}.csv",
        std::process::id()
    ));
    std::fs::write(&path, contents).unwrap();
    path
}

fn table(contents: &str) -> RawTable {
    read_csv_from_reader("mem.csv", contents.as_bytes(), None).unwrap()
}

fn config(targets: &[&str]) -> FeatureConfig {
    FeatureConfig {
        targets: targets.iter().map(|s| s.to_string()).collect(),
        ..FeatureConfig::default()
    }
}

fn parse_err(err: Error) -> (u64, String, String) {
    match err {
        Error::Parse {
            line, column, msg, ..
        } => (line, column, msg),
        other => panic!("expected a parse error, got {other:?}"),
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * (1.0 + b.abs())
}

#[test]
fn impute_parse_and_serde() {
    assert_eq!("mean".parse::<Impute>().unwrap(), Impute::Mean);
    assert_eq!(
        "most-frequent".parse::<Impute>().unwrap(),
        Impute::MostFrequent
    );
    assert_eq!("None".parse::<Impute>().unwrap(), Impute::None);
    assert!(matches!(
        "avg".parse::<Impute>(),
        Err(Error::InvalidConfig { .. })
    ));
    assert_eq!(
        serde_json::to_string(&Impute::MostFrequent).unwrap(),
        "\"most-frequent\""
    );
    assert_eq!(Impute::MostFrequent.to_string(), "most-frequent");
    assert_eq!(
        serde_json::to_string(&TargetKind::Classify).unwrap(),
        "\"classify\""
    );
    assert_eq!(
        "regression".parse::<TargetKind>().unwrap(),
        TargetKind::Regress
    );
}

#[test]
fn standardization_matches_hand_values() {
    // x = 1, 2, 3, 4: mean 2.5, population std sqrt(1.25).
    let t = table("x,c,y\n1,5,a\n2,5,b\n3,5,a\n4,5,b\n");
    let pre = Preprocessor::fit(&t, &config(&["y"])).unwrap();
    match &pre.columns[0] {
        FeatureColumn::Numeric {
            name, mean, scale, ..
        } => {
            assert_eq!(name, "x");
            assert!(close(*mean, 2.5));
            assert!(close(*scale, 1.25f64.sqrt()));
        }
        other => panic!("{other:?}"),
    }
    // Constant column: scale 1.
    match &pre.columns[1] {
        FeatureColumn::Numeric { mean, scale, .. } => {
            assert!(close(*mean, 5.0));
            assert_eq!(*scale, 1.0);
        }
        other => panic!("{other:?}"),
    }
    let x = pre.transform(&t).unwrap();
    let s = 1.25f64.sqrt();
    let expected = [-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s];
    for (r, e) in expected.iter().enumerate() {
        assert!((x[r * 2] as f64 - e).abs() < 1e-6);
        assert_eq!(x[r * 2 + 1], 0.0);
    }
    // Standardization off.
    let cfg = FeatureConfig {
        standardize: false,
        ..config(&["y"])
    };
    let pre = Preprocessor::fit(&t, &cfg).unwrap();
    assert_eq!(pre.transform(&t).unwrap()[..4], [1.0, 5.0, 2.0, 5.0]);
}

#[test]
fn constant_fractional_column_gets_unit_scale() {
    let t = table("x,y\n0.1,a\n0.1,b\n0.1,a\n0.1,b\n0.1,a\n0.1,b\n0.1,a\n");
    let pre = Preprocessor::fit(&t, &config(&["y"])).unwrap();
    match &pre.columns[0] {
        FeatureColumn::Numeric { scale, .. } => assert_eq!(*scale, 1.0),
        other => panic!("{other:?}"),
    }
}

#[test]
fn one_hot_vocabulary_and_unseen_category() {
    let t = table("color,n,y\nred,1,0\nblue,2,1\nred,3,0\ngreen,4,1\n");
    let pre = Preprocessor::fit(&t, &config(&["y"])).unwrap();
    assert_eq!(
        pre.columns[0],
        FeatureColumn::Categorical {
            name: "color".into(),
            categories: vec!["blue".into(), "green".into(), "red".into()],
            fill: None,
        }
    );
    assert_eq!(pre.n_features, 4);
    assert_eq!(
        pre.feature_names,
        vec!["color=blue", "color=green", "color=red", "n"]
    );
    assert_eq!(pre.input_names(), vec!["color", "n"]);
    let x = pre.transform(&t).unwrap();
    assert_eq!(&x[0..3], &[0.0, 0.0, 1.0]);
    assert_eq!(&x[4..7], &[1.0, 0.0, 0.0]);
    // New data: columns in another order, an extra column, an unseen category.
    let new = table("extra,n,color\nq,1,purple\nq,2,green\n");
    let x = pre.transform(&new).unwrap();
    assert_eq!(&x[0..3], &[0.0, 0.0, 0.0]);
    assert_eq!(&x[4..7], &[0.0, 1.0, 0.0]);
    // A needed column absent.
    let err = pre.transform(&table("n\n1\n")).unwrap_err();
    assert!(matches!(err, Error::UnknownColumn { ref name, .. } if name == "color"));
}

#[test]
fn serde_round_trip() {
    let t = table("color,n,y\nred,1,0\nblue,2,1\nred,NA,0\ngreen,4,1\n");
    let cfg = FeatureConfig {
        impute: Impute::Median,
        ..config(&["y"])
    };
    let (pre, enc, _) = load_tabular(&t, &cfg, None).unwrap();
    let json = serde_json::to_string(&pre).unwrap();
    assert_eq!(serde_json::from_str::<Preprocessor>(&json).unwrap(), pre);
    let json = serde_json::to_string(&enc).unwrap();
    assert_eq!(serde_json::from_str::<TargetEncoder>(&json).unwrap(), enc);
    let json = serde_json::to_string(&cfg).unwrap();
    assert_eq!(serde_json::from_str::<FeatureConfig>(&json).unwrap(), cfg);
}

fn numeric_fill(pre: &Preprocessor, i: usize) -> Option<f64> {
    match &pre.columns[i] {
        FeatureColumn::Numeric { fill, .. } => *fill,
        other => panic!("{other:?}"),
    }
}

#[test]
fn impute_modes_match_hand_values() {
    // x: 1, 2, 2, 10, missing -> mean 3.75, median 2, most frequent 2.
    // z: 3, 1, 3, 1, missing -> most frequent tie -> 1 (smallest).
    // c: b, a, b, ?, a -> most frequent tie -> "a".
    let csv = "x,z,c,y\n1,3,b,0\n2,1,a,1\n2,3,b,0\n10,1,?,1\nNA,,a,0\n";
    let t = table(csv);
    let fit = |impute| {
        let cfg = FeatureConfig {
            impute,
            standardize: false,
            ..config(&["y"])
        };
        Preprocessor::fit(&t, &cfg).unwrap()
    };
    let mean = fit(Impute::Mean);
    assert!(close(numeric_fill(&mean, 0).unwrap(), 3.75));
    assert!(close(numeric_fill(&mean, 1).unwrap(), 2.0));
    let median = fit(Impute::Median);
    assert!(close(numeric_fill(&median, 0).unwrap(), 2.0));
    assert!(close(numeric_fill(&median, 1).unwrap(), 2.0));
    let mode = fit(Impute::MostFrequent);
    assert_eq!(numeric_fill(&mode, 0), Some(2.0));
    assert_eq!(numeric_fill(&mode, 1), Some(1.0));
    for pre in [&mean, &median, &mode] {
        match &pre.columns[2] {
            FeatureColumn::Categorical {
                categories, fill, ..
            } => {
                assert_eq!(categories, &vec!["a".to_string(), "b".to_string()]);
                assert_eq!(fill.as_deref(), Some("a"));
            }
            other => panic!("{other:?}"),
        }
    }
    // Filled cells are used in the transform (row 4 = line 5: x missing, z missing).
    let x = mean.transform(&t).unwrap();
    assert!((x[4 * 4] as f64 - 3.75).abs() < 1e-6);
    assert!((x[4 * 4 + 1] as f64 - 2.0).abs() < 1e-6);
    // Row 3: c missing -> filled with "a".
    assert_eq!(&x[3 * 4 + 2..3 * 4 + 4], &[1.0, 0.0]);
    // Even-count median.
    let t2 = table("x,y\n4,a\n1,b\nNA,a\n3,b\n8,a\n");
    let cfg = FeatureConfig {
        impute: Impute::Median,
        ..config(&["y"])
    };
    let pre = Preprocessor::fit(&t2, &cfg).unwrap();
    assert!(close(numeric_fill(&pre, 0).unwrap(), 3.5));
    // Standardization statistics include the imputed value: 4, 1, 3.5, 3, 8.
    match &pre.columns[0] {
        FeatureColumn::Numeric { mean, scale, .. } => {
            let v = [4.0, 1.0, 3.5, 3.0, 8.0];
            let m = v.iter().sum::<f64>() / 5.0;
            let s = (v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / 5.0).sqrt();
            assert!(close(*mean, m));
            assert!(close(*scale, s));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn imputation_uses_training_statistics_only() {
    let train = table("x,y\n1,a\n3,b\n");
    let cfg = FeatureConfig {
        impute: Impute::Mean,
        standardize: false,
        ..config(&["y"])
    };
    let pre = Preprocessor::fit(&train, &cfg).unwrap();
    let test = table("x,y\n100,a\nNA,b\n");
    assert_eq!(pre.transform(&test).unwrap(), vec![100.0, 2.0]);
}

#[test]
fn missing_cell_without_impute_names_line_and_column() {
    // First offending line is 3 (column b), though column a has one on line 4.
    let t = table("a,b,y\n1,2,x\n3,,x\nnull,4,x\n");
    let (line, column, msg) = parse_err(Preprocessor::fit(&t, &config(&["y"])).unwrap_err());
    assert_eq!((line, column.as_str()), (3, "b"));
    assert!(
        msg.contains("set `impute` to mean|median|most-frequent"),
        "{msg}"
    );
    let err = Preprocessor::fit(&t, &config(&["y"])).unwrap_err();
    assert!(
        err.to_string().contains("mem.csv, line 3, column 'b'"),
        "{err}"
    );
    // Missing at transform time with no fill.
    let train = table("a,y\n1,x\n2,z\n");
    let pre = Preprocessor::fit(&train, &config(&["y"])).unwrap();
    let (line, column, _) = parse_err(pre.transform(&table("a\n1\n\n?\n")).unwrap_err());
    assert_eq!((line, column.as_str()), (4, "a"));
}

#[test]
fn missing_tokens() {
    for tok in MISSING_TOKENS {
        assert!(is_missing(tok));
    }
    assert!(is_missing("  NA "));
    // Case does not matter: one rule for train, predict and forecast.
    for tok in ["na", "Na", "n/a", "nan", "NAN", "Null", "NULL"] {
        assert!(is_missing(tok), "{tok}");
    }
    assert!(!is_missing("none"));
    assert!(!is_missing("nana"));
    assert!(!is_missing("0"));
}

#[test]
fn non_finite_and_text_in_numeric_columns() {
    let t = table("a,y\n1,x\ninf,z\n");
    let (line, column, msg) = parse_err(Preprocessor::fit(&t, &config(&["y"])).unwrap_err());
    assert_eq!((line, column.as_str()), (3, "a"));
    assert!(msg.contains("not a finite number"), "{msg}");
    let t = table("a,y\n1,x\n-Infinity,z\n");
    assert!(matches!(
        Preprocessor::fit(&t, &config(&["y"])),
        Err(Error::Parse { line: 3, .. })
    ));
    // "NaN" is missing, not a value.
    let t = table("a,y\n1,x\nNaN,z\n");
    let (line, _, msg) = parse_err(Preprocessor::fit(&t, &config(&["y"])).unwrap_err());
    assert_eq!(line, 3);
    assert!(msg.contains("missing"));
    // A text cell makes the training column categorical...
    let t = table("a,y\n1,x\nabc,z\n");
    let pre = Preprocessor::fit(&t, &config(&["y"])).unwrap();
    assert!(matches!(pre.columns[0], FeatureColumn::Categorical { .. }));
    // ...but at transform time a numeric column rejects text.
    let pre = Preprocessor::fit(&table("a,y\n1,x\n2,z\n"), &config(&["y"])).unwrap();
    let (line, column, msg) = parse_err(pre.transform(&table("a\n1\nabc\n")).unwrap_err());
    assert_eq!((line, column.as_str()), (3, "a"));
    assert!(msg.contains("cannot parse 'abc' as a number"), "{msg}");
    let (line, _, _) = parse_err(pre.transform(&table("a\ninf\n")).unwrap_err());
    assert_eq!(line, 2);
}

#[test]
fn all_missing_column_is_an_error() {
    let t = table("a,b,y\n1,,x\n2,NA,z\n");
    let cfg = FeatureConfig {
        impute: Impute::Mean,
        ..config(&["y"])
    };
    let err = Preprocessor::fit(&t, &cfg).unwrap_err();
    assert!(
        matches!(err, Error::InvalidData(ref m) if m.contains("'b'")),
        "{err}"
    );
}

#[test]
fn feature_selection() {
    let t = table("id,a,b,w,y\n1,2,3,1,x\n2,3,4,1,z\n");
    let cfg = FeatureConfig {
        ignore: vec!["id".into()],
        weight_column: Some("w".into()),
        ..config(&["y"])
    };
    let pre = Preprocessor::fit(&t, &cfg).unwrap();
    assert_eq!(pre.input_names(), vec!["a", "b"]);
    let cfg = FeatureConfig {
        features: Some(vec!["b".into(), "1".into()]),
        ..config(&["4"])
    };
    let pre = Preprocessor::fit(&t, &cfg).unwrap();
    assert_eq!(pre.input_names(), vec!["b", "a"]);
    let cfg = FeatureConfig {
        features: Some(vec!["y".into()]),
        ..config(&["y"])
    };
    assert!(matches!(
        Preprocessor::fit(&t, &cfg),
        Err(Error::InvalidConfig { .. })
    ));
    let cfg = FeatureConfig {
        ignore: vec!["nope".into()],
        ..config(&["y"])
    };
    let err = Preprocessor::fit(&t, &cfg).unwrap_err();
    assert!(
        matches!(err, Error::UnknownColumn { ref available, .. } if available == "id, a, b, w, y")
    );
}

fn labels_of(enc: &TargetEncoder) -> Vec<String> {
    match enc {
        TargetEncoder::Classes { labels, .. } => labels.clone(),
        other => panic!("expected classes, got {other:?}"),
    }
}

#[test]
fn target_inference_rules() {
    // Text -> classification.
    let t = table("x,y\n1,cat\n2,dog\n3,cat\n");
    assert_eq!(
        fit_targets(&t, &[1], None).unwrap().kind(),
        TargetKind::Classify
    );
    // Few distinct integers, fewer than half the rows -> classification.
    let t = table("x,y\n1,0\n2,1\n3,0\n4,1\n5,1\n");
    assert_eq!(
        fit_targets(&t, &[1], None).unwrap().kind(),
        TargetKind::Classify
    );
    // Fractional values -> regression.
    let t = table("x,y\n1,0.5\n2,1\n3,0\n4,1\n5,1\n");
    assert_eq!(
        fit_targets(&t, &[1], None).unwrap().kind(),
        TargetKind::Regress
    );
    // Integers, but distinct count not below half the rows -> regression.
    let t = table("x,y\n1,0\n2,1\n3,2\n4,0\n");
    assert_eq!(
        fit_targets(&t, &[1], None).unwrap().kind(),
        TargetKind::Regress
    );
    // 21 distinct integers over many rows -> regression; 20 -> classification.
    let make = |k: usize| {
        let mut s = String::from("x,y\n");
        for i in 0..100 {
            s.push_str(&format!("{i},{}\n", i % k));
        }
        table(&s)
    };
    assert_eq!(
        fit_targets(&make(21), &[1], None).unwrap().kind(),
        TargetKind::Regress
    );
    assert_eq!(
        fit_targets(&make(20), &[1], None).unwrap().kind(),
        TargetKind::Classify
    );
    // Several targets -> regression; classification with several is refused.
    let t = table("x,y,z\n1,2,3\n2,3,4\n");
    assert_eq!(
        fit_targets(&t, &[1, 2], None).unwrap().kind(),
        TargetKind::Regress
    );
    assert!(matches!(
        fit_targets(&t, &[1, 2], Some(TargetKind::Classify)),
        Err(Error::InvalidConfig { .. })
    ));
    // Explicit kind overrides inference.
    let t = table("x,y\n1,0.5\n2,1.5\n");
    assert_eq!(
        fit_targets(&t, &[1], Some(TargetKind::Classify))
            .unwrap()
            .kind(),
        TargetKind::Classify
    );
    // Text with explicit regression: parse error.
    let t = table("x,y\n1,2\n2,abc\n");
    let (line, column, _) =
        parse_err(fit_targets(&t, &[1], Some(TargetKind::Regress)).unwrap_err());
    assert_eq!((line, column.as_str()), (3, "y"));
    // Single class refused.
    let t = table("x,y\n1,a\n2,a\n");
    assert!(matches!(
        fit_targets(&t, &[1], None),
        Err(Error::InvalidData(_))
    ));
}

#[test]
fn missing_target_is_an_error_even_with_impute() {
    let t = table("x,y\n1,a\n2,\n3,b\n");
    let cfg = FeatureConfig {
        impute: Impute::Mean,
        ..config(&["y"])
    };
    let (line, column, msg) = parse_err(load_tabular(&t, &cfg, None).unwrap_err());
    assert_eq!((line, column.as_str()), (3, "y"));
    assert!(msg.contains("never imputed"), "{msg}");
}

#[test]
fn label_sorting_numeric_and_text() {
    let t = table("x,y\n1,10\n2,2\n3,1\n4,10\n5,2\n6,1\n7,2\n");
    let enc = fit_targets(&t, &[1], None).unwrap();
    assert_eq!(labels_of(&enc), vec!["1", "2", "10"]);
    match enc.encode(&t).unwrap() {
        Targets::Classes { labels, n_classes } => {
            assert_eq!(n_classes, 3);
            assert_eq!(labels, vec![2, 1, 0, 2, 1, 0, 1]);
        }
        other => panic!("{other:?}"),
    }
    // Numeric labels match by value at encoding time.
    let ev = table("y\n2.0\n10\n");
    match enc.encode(&ev).unwrap() {
        Targets::Classes { labels, .. } => assert_eq!(labels, vec![1, 2]),
        other => panic!("{other:?}"),
    }
    let t = table("x,y\n1,b10\n2,b2\n3,a\n");
    let enc = fit_targets(&t, &[1], None).unwrap();
    assert_eq!(labels_of(&enc), vec!["a", "b10", "b2"]);
    // Negative and fractional numeric labels.
    let t = table("x,y\n1,-1\n2,0.5\n3,-10\n");
    let enc = fit_targets(&t, &[1], Some(TargetKind::Classify)).unwrap();
    assert_eq!(labels_of(&enc), vec!["-10", "-1", "0.5"]);
}

#[test]
fn unknown_label_names_the_line() {
    let t = table("x,y\n1,cat\n2,dog\n");
    let enc = fit_targets(&t, &[1], None).unwrap();
    let ev = table("x,y\n1,dog\n2,cat\n3,bird\n");
    let (line, column, msg) = parse_err(enc.encode(&ev).unwrap_err());
    assert_eq!((line, column.as_str()), (4, "y"));
    assert!(msg.contains("unknown class label 'bird'"), "{msg}");
    assert!(msg.contains("cat, dog"), "{msg}");
}

#[test]
fn regression_round_trip() {
    let t = table("x,a,b\n1,1.5,-100.25\n2,-2.25,300.5\n3,3.75,12.125\n4,0.1,7\n");
    let enc = fit_targets(&t, &[1, 2], None).unwrap();
    assert_eq!(enc.n_outputs(), 2);
    assert_eq!(enc.column_names(), vec!["a", "b"]);
    let originals: [f64; 8] = [1.5, -100.25, -2.25, 300.5, 3.75, 12.125, 0.1, 7.0];
    let mut values = match enc.encode(&t).unwrap() {
        Targets::Values { values, n_outputs } => {
            assert_eq!(n_outputs, 2);
            // Standardized: mean ~0 and population std ~1 per column.
            for j in 0..2 {
                let col: Vec<f64> = (0..4).map(|r| values[r * 2 + j] as f64).collect();
                let m = col.iter().sum::<f64>() / 4.0;
                let v = col.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / 4.0;
                assert!(m.abs() < 1e-6 && (v - 1.0).abs() < 1e-5);
            }
            values
        }
        other => panic!("{other:?}"),
    };
    enc.decode_values(&mut values);
    for (got, want) in values.iter().zip(originals) {
        let tol = 1e-6 * (1.0 + want.abs());
        assert!((*got as f64 - want).abs() <= tol, "{got} vs {want}");
    }
    // Classification decode is a no-op.
    let cls = TargetEncoder::Classes {
        name: "y".into(),
        labels: vec!["a".into(), "b".into()],
    };
    let mut v = vec![0.25f32, 0.75];
    cls.decode_values(&mut v);
    assert_eq!(v, vec![0.25, 0.75]);
    assert_eq!(cls.n_outputs(), 2);
}

#[test]
fn weight_column_errors() {
    let base = |w: &str| table(&format!("x,w,y\n1,1,a\n2,{w},b\n3,0.5,a\n"));
    let cfg = FeatureConfig {
        weight_column: Some("w".into()),
        ..config(&["y"])
    };
    let (_, _, data) = load_tabular(&base("2"), &cfg, None).unwrap();
    assert_eq!(data.weights, Some(vec![1.0, 2.0, 0.5]));
    assert_eq!(data.n_features, 1);
    for bad in ["-1", "abc", "inf", ""] {
        let (line, column, _) = parse_err(load_tabular(&base(bad), &cfg, None).unwrap_err());
        assert_eq!((line, column.as_str()), (3, "w"), "{bad}");
    }
    let t = table("x,w,y\n1,0,a\n2,0,b\n");
    assert!(matches!(
        load_tabular(&t, &cfg, None),
        Err(Error::InvalidData(_))
    ));
    let cfg = FeatureConfig {
        weight_column: Some("nope".into()),
        ..config(&["y"])
    };
    assert!(matches!(
        load_tabular(&base("1"), &cfg, None),
        Err(Error::UnknownColumn { .. })
    ));
}

#[test]
fn load_and_apply_from_files() {
    let train_path = temp_file(
        "train",
        b"sepal;species;color\n5.1;setosa;red\n4.9;setosa;blue\n6.3;virginica;red\n5.8;virginica;blue\n",
    );
    let eval_path = temp_file(
        "eval",
        b"color;sepal;species\nred;5.0;virginica\ngreen;6.0;setosa\n",
    );
    let train = read_csv(&train_path, None).unwrap();
    let eval = read_csv(&eval_path, None).unwrap();
    let _ = std::fs::remove_file(&train_path);
    let _ = std::fs::remove_file(&eval_path);
    let (pre, enc, data) = load_tabular(&train, &config(&["species"]), None).unwrap();
    assert_eq!(pre.feature_names, vec!["sepal", "color=blue", "color=red"]);
    assert_eq!(data.len(), 4);
    assert_eq!(data.features.len(), 12);
    assert_eq!(
        data.targets,
        Targets::Classes {
            labels: vec![0, 0, 1, 1],
            n_classes: 2
        }
    );
    let ev = apply_tabular(&pre, &enc, &eval, None).unwrap();
    assert_eq!(ev.len(), 2);
    assert_eq!(&ev.features[4..6], &[0.0, 0.0]);
    assert_eq!(
        ev.targets,
        Targets::Classes {
            labels: vec![1, 0],
            n_classes: 2
        }
    );
    // Targets missing from an evaluation file.
    let no_target = table("sepal,color\n5,red\n");
    assert!(matches!(
        apply_tabular(&pre, &enc, &no_target, None),
        Err(Error::UnknownColumn { .. })
    ));
    // No targets configured.
    assert!(matches!(
        load_tabular(&train, &config(&[]), None),
        Err(Error::InvalidConfig { .. })
    ));
}

#[test]
fn header_only_table_is_invalid_data() {
    let t = table("x,y\n");
    assert!(matches!(
        load_tabular(&t, &config(&["y"]), None),
        Err(Error::InvalidData(_))
    ));
}

#[test]
fn malformed_in_memory_table_is_an_error() {
    let mut t = table("a,y\n1,x\n2,z\n");
    t.columns[0].pop();
    assert!(matches!(
        Preprocessor::fit(&t, &config(&["y"])),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(matches!(
        fit_targets(&t, &[1], None),
        Err(Error::ShapeMismatch { .. })
    ));
}

#[test]
fn too_many_categories() {
    let mut s = String::from("id,y\n");
    for i in 0..=MAX_CATEGORIES {
        s.push_str(&format!("u{i},{}\n", i % 2));
    }
    let err = Preprocessor::fit(&table(&s), &config(&["y"])).unwrap_err();
    assert!(
        matches!(err, Error::InvalidData(ref m) if m.contains("`ignore`")),
        "{err}"
    );
}
