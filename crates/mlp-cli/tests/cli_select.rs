//! The automatic model selection of the default `mlp train`: it runs with no flags, prints the
//! candidates' table, is stored in the model (`mlp info`, `--json`), gives the same weights for
//! the same seed, and is turned off by `--select off` or by a flag that fixes the network.

mod common;
use common::{TempDir, run_ok, stdout};
use mlp::model::Model;
use serde_json::Value;

/// 160 rows of XOR on the signs of `a` and `b`, with a text column `c` that carries nothing.
fn xor_csv() -> String {
    let mut s = String::from("a,b,c,y\n");
    let mut state: u64 = 7;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) as f64 / (1u64 << 31) as f64) * 2.0 - 1.0
    };
    for i in 0..160 {
        let (a, b) = (next(), next());
        let y = if a * b > 0.0 { "same" } else { "diff" };
        let c = ["red", "blue"][i % 2];
        s.push_str(&format!("{a:.4},{b:.4},{c},{y}\n"));
    }
    s
}

fn train_json(dir: &TempDir, out: &str, extra: &[&str]) -> Value {
    let data = dir.file("xor.csv", &xor_csv());
    let model = dir.path(out);
    let mut args = vec![
        "train",
        "--data",
        &data,
        "--target",
        "y",
        "--seed",
        "1",
        "--threads",
        "1",
        "--out",
        &model,
        "--json",
    ];
    args.extend_from_slice(extra);
    let o = run_ok(&args);
    serde_json::from_str(stdout(&o).trim()).expect("JSON summary")
}

#[test]
fn default_train_selects_prints_and_stores_the_choice() {
    let dir = TempDir::new("select-default");
    let data = dir.file("xor.csv", &xor_csv());
    let model = dir.path("m.safetensors");
    let o = run_ok(&[
        "train",
        "--data",
        &data,
        "--target",
        "y",
        "--seed",
        "1",
        "--threads",
        "1",
        "--out",
        &model,
    ]);
    let text = stdout(&o);
    assert!(
        text.contains("model selection by 5-fold stratified cross-validation on 160 rows"),
        "{text}"
    );
    for name in ["linear", "mlp", "wide_deep"] {
        assert!(text.contains(name), "{name} missing:\n{text}");
    }
    assert!(text.contains("chosen: "), "{text}");
    // XOR: a hidden layer is needed, so the linear candidate must not win.
    assert!(!text.contains("chosen: linear"), "{text}");
    // All rows train the final model (no validation part).
    assert!(text.contains("on 160 samples (0 validation)"), "{text}");
    let info = stdout(&run_ok(&["info", "--model", &model]));
    assert!(info.contains("model selection: "), "{info}");
    let m = Model::load(&model).expect("load");
    let sel = m
        .training()
        .and_then(|t| t.selection.clone())
        .expect("selection stored");
    assert_ne!(sel.chosen, mlp::train::select::Candidate::Linear);
    assert_eq!(sel.rows, 160);
}

#[test]
fn the_same_seed_gives_the_same_weights_and_choice() {
    let dir = TempDir::new("select-repro");
    let a = train_json(&dir, "a.safetensors", &[]);
    let b = train_json(&dir, "b.safetensors", &[]);
    assert_eq!(a["selection"], b["selection"]);
    assert!(a["selection"]["chosen"].is_string(), "{a}");
    let ma = Model::load(dir.path("a.safetensors")).expect("a");
    let mb = Model::load(dir.path("b.safetensors")).expect("b");
    assert_eq!(ma.network().params(), mb.network().params());
    assert_eq!(ma.network().spec(), mb.network().spec());
}

#[test]
fn explicit_flags_turn_the_selection_off() {
    let dir = TempDir::new("select-off");
    let off = train_json(&dir, "off.safetensors", &["--select", "off"]);
    assert!(off["selection"].is_null(), "{off}");
    // The plain network of the flags' defaults: 4 encoded inputs, 100 hidden, 2 classes.
    assert_eq!(off["n_params"], 4 * 100 + 100 + 100 * 2 + 2);
    for flags in [
        &["--hidden", "8"][..],
        &["--epochs", "30"][..],
        &["--val-fraction", "0.2"][..],
        &["--lr", "0.01"][..],
    ] {
        let v = train_json(&dir, "f.safetensors", flags);
        assert!(v["selection"].is_null(), "{flags:?}: {v}");
    }
    let hidden = train_json(&dir, "h.safetensors", &["--hidden", "8"]);
    assert_eq!(hidden["n_params"], 4 * 8 + 8 + 8 * 2 + 2);
    // Flags that do not shape the network leave the selection on.
    let on = train_json(&dir, "on.safetensors", &["--task", "classify"]);
    assert!(on["selection"]["chosen"].is_string(), "{on}");
}
