//! Untrusted model files: a file whose JSON spec disagrees with its tensors (here by a huge size,
//! as a hand edit or an attack would) must give one clear error line from every command that
//! opens it, never an allocation abort (SIGABRT) or a panic. The same for checkpoints and
//! forecasters.

use std::path::Path;
mod common;
use common::{TempDir, mlp, run_ok as ok};

/// Runs a command that must fail cleanly (an exit code, not a signal; one `error:` line).
fn fails(args: &[&str]) -> String {
    let o = mlp(args);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(
        o.status.code().is_some_and(|c| c != 0),
        "mlp {args:?} should exit with an error code, got {:?}:\n{err}",
        o.status
    );
    assert!(
        !err.contains("panicked") && !err.contains("memory allocation"),
        "abort or panic on {args:?}:\n{err}"
    );
    assert!(
        err.trim_start().starts_with("error:") && err.trim().lines().count() == 1,
        "no single clear error line for {args:?}:\n{err}"
    );
    err
}

fn tabular_csv(rows: usize) -> String {
    let mut s = String::from("a,b,label\n");
    for i in 0..rows {
        let (a, b) = ((i as f64 * 0.37).sin(), (i as f64 * 0.11).cos());
        let label = if a + b > 0.3 { "yes" } else { "no" };
        s.push_str(&format!("{a:.4},{b:.4},{label}\n"));
    }
    s
}

/// Rewrites the JSON document stored under `key` in a model file's metadata.
fn edit_metadata(path: &str, key: &str, edit: impl FnOnce(&mut serde_json::Value)) {
    let p = Path::new(path);
    let mut file = mlp::io::TensorFile::read(p).expect("read model file");
    let mut doc: serde_json::Value =
        serde_json::from_str(file.metadata.get(key).expect("metadata key")).expect("json");
    edit(&mut doc);
    file.metadata.insert(key.into(), doc.to_string());
    file.write(p).expect("write model file");
}

/// An edit of a metadata document.
type Edit = fn(&mut serde_json::Value);

fn huge_units(doc: &mut serde_json::Value) {
    doc["spec"]["layers"][0]["units"] = serde_json::json!(100_000_000_000u64);
}

#[test]
fn a_spec_edited_to_a_huge_size_is_an_error_in_every_command() {
    let dir = TempDir::new("huge");
    let data = dir.file("train.csv", &tabular_csv(60));
    let model = dir.path("m.safetensors");
    let ckpt = dir.path("run.ckpt");
    ok(&[
        "train",
        "--data",
        &data,
        "--target",
        "label",
        "--out",
        &model,
        "--hidden",
        "4",
        "--epochs",
        "2",
        "--quiet",
        "--checkpoint",
        &ckpt,
    ]);
    ok(&["info", "--model", &model]);
    let original = std::fs::read(&model).expect("model bytes");
    edit_metadata(&model, "mlp", huge_units);
    let err = fails(&["info", "--model", &model]);
    assert!(
        err.contains("layers[0].units") && err.contains("100000000000"),
        "{err}"
    );
    fails(&["info", "--model", &model, "--json"]);
    fails(&["predict", "--model", &model, "--data", &data]);
    fails(&["eval", "--model", &model, "--data", &data]);

    // A size within the limits that disagrees with the stored tensors is found before the
    // network is built, and reported as a typed error naming the layer and the tensor.
    std::fs::write(&model, &original).expect("restore");
    edit_metadata(&model, "mlp", |d| {
        d["spec"]["layers"][0]["units"] = serde_json::json!(5_000_000)
    });
    let err = fails(&["info", "--model", &model]);
    assert!(
        err.contains("layer 0 (dense)") && err.contains("layers.0.weight"),
        "{err}"
    );
    match mlp::model::Model::load(Path::new(&model)) {
        Err(mlp::Error::ModelMismatch { layer, kind, .. }) => {
            assert_eq!((layer, kind.as_str()), (0, "dense"));
        }
        other => panic!("expected ModelMismatch, got {other:?}"),
    }

    // A checkpoint carries the same spec: resuming from an edited one fails cleanly too.
    edit_metadata(&ckpt, "mlp", huge_units);
    fails(&["train", "--resume", &ckpt, "--epochs", "3", "--quiet"]);
    assert!(mlp::io::checkpoint::load(Path::new(&ckpt)).is_err());
}

#[test]
fn sizes_that_overflow_or_pass_the_limits_are_errors() {
    let dir = TempDir::new("limits");
    let data = dir.file("train.csv", &tabular_csv(60));
    let model = dir.path("m.safetensors");
    ok(&[
        "train", "--data", &data, "--target", "label", "--out", &model, "--hidden", "4",
        "--epochs", "1", "--quiet",
    ]);
    let edits: [Edit; 4] = [
        // usize::MAX: every product with it overflows.
        |d| d["spec"]["layers"][0]["units"] = serde_json::json!(u64::MAX),
        // A huge input width.
        |d| d["spec"]["inputs"] = serde_json::json!(1u64 << 40),
        // Dimensions that fit alone but not together (checked multiplication).
        |d| {
            d["spec"]["layers"] = serde_json::json!([
                {"type": "embedding", "fields": [2], "dim": 1u64 << 40},
                {"type": "dense", "units": 2}
            ])
        },
        // A width-preserving block repeated absurdly often.
        |d| {
            let inputs = d["spec"]["inputs"].clone();
            d["spec"]["layers"] = serde_json::json!([
                {"type": "recurrent", "steps": 1u64 << 40,
                 "layers": [{"type": "dense", "units": inputs}]},
                {"type": "dense", "units": 2}
            ])
        },
    ];
    for (i, edit) in edits.into_iter().enumerate() {
        let copy = dir.path(&format!("edit{i}.safetensors"));
        std::fs::copy(&model, &copy).expect("copy");
        edit_metadata(&copy, "mlp", edit);
        fails(&["info", "--model", &copy]);
        fails(&["predict", "--model", &copy, "--data", &data]);
    }
}

#[test]
fn a_forecaster_with_edited_sizes_is_an_error() {
    let dir = TempDir::new("forecast");
    let mut csv = String::from("date,y\n");
    for i in 0..48 {
        let (year, month) = (2000 + i / 12, i % 12 + 1);
        csv.push_str(&format!(
            "{year}-{month:02}-01,{:.3}\n",
            (i as f64 * 0.5).sin()
        ));
    }
    let data = dir.file("series.csv", &csv);
    let model = dir.path("f.safetensors");
    ok(&[
        "forecast",
        "fit",
        "--data",
        &data,
        "--time",
        "date",
        "--target",
        "y",
        "--lags",
        "1,2",
        "--horizon",
        "2",
        "--epochs",
        "2",
        "--threads",
        "1",
        "--out",
        &model,
    ]);
    ok(&["forecast", "predict", "--model", &model, "--data", &data]);
    let edits: [(&str, Edit); 3] = [
        ("mlp", huge_units),
        ("forecast", |d| {
            d["horizon"] = serde_json::json!(100_000_000_000u64)
        }),
        ("forecast", |d| {
            d["embedding"]["dim"] = serde_json::json!(u64::MAX);
        }),
    ];
    for (i, (key, edit)) in edits.into_iter().enumerate() {
        let copy = dir.path(&format!("edit{i}.safetensors"));
        std::fs::copy(&model, &copy).expect("copy");
        edit_metadata(&copy, key, edit);
        fails(&["forecast", "predict", "--model", &copy, "--data", &data]);
        assert!(mlp::forecast::forecaster::Forecaster::load(Path::new(&copy)).is_err());
    }
}
