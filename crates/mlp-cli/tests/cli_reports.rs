//! `mlp train` says what happened: divergence is reported (status 3) instead of "converged",
//! "early stopped" only for runs that stopped early, a `--config` file overlays the flags,
//! too-small data and unwritable outputs fail before training, and progress lines follow
//! `--verbose` / `--quiet`.

mod common;
use common::{TempDir, mlp, run_ok as ok, stderr, stdout};

/// Runs a command that must fail with one clear error line; returns that line.
fn fails(args: &[&str]) -> String {
    let o = mlp(args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "mlp {args:?}:\n{err}");
    assert!(!err.contains("panicked"), "panic on {args:?}:\n{err}");
    assert!(
        err.starts_with("error:"),
        "no clear error for {args:?}:\n{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{args:?}:\n{err}");
    err
}

/// Two numeric features and a yes/no label (a linear boundary), from a fixed LCG.
fn csv(rows: usize) -> String {
    let mut s = String::from("x1,x2,label\n");
    let mut state = 99u64;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) as f64) / (1u64 << 31) as f64 * 4.0 - 2.0
    };
    for _ in 0..rows {
        let (a, b) = (next(), next());
        let label = if a + b > 0.0 { "yes" } else { "no" };
        s.push_str(&format!("{a:.4},{b:.4},{label}\n"));
    }
    s
}

fn info_json(model: &str) -> serde_json::Value {
    let o = ok(&["info", "--model", model, "--json"]);
    serde_json::from_slice(&o.stdout).expect("info json")
}

#[test]
fn a_diverging_run_says_so_keeps_its_weights_and_exits_3() {
    let dir = TempDir::new("diverge");
    let data = dir.file("d.csv", &csv(200));
    let out = dir.path("m.safetensors");
    let args = [
        "train",
        "--data",
        &data,
        "--target",
        "label",
        "--out",
        &out,
        "--lr",
        "1e6",
        "--epochs",
        "30",
        "--seed",
        "1",
        "--threads",
        "1",
    ];
    let o = mlp(&args);
    let (so, se) = (stdout(&o), stderr(&o));
    assert_eq!(o.status.code(), Some(3), "{so}\n{se}");
    assert!(se.contains("error: training diverged"), "{se}");
    assert!(se.contains("--allow-divergence"), "{se}");
    assert!(
        !so.contains("converged") && !se.contains("converged"),
        "{so}\n{se}"
    );
    // The best (here: the starting) weights are saved, finite, and the file says what happened.
    let info = info_json(&out);
    let outcome = info["model"]["training"]["outcome"]
        .as_str()
        .expect("outcome");
    assert!(outcome.starts_with("diverged"), "{outcome}");
    let history = info["model"]["training"]["history"]
        .as_array()
        .expect("history");
    assert!(
        history.len() < 30,
        "ran on after diverging: {}",
        history.len()
    );

    let mut allowed = args.to_vec();
    allowed.extend(["--allow-divergence", "--json"]);
    let o = ok(&allowed);
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(summary["diverged"], true);
    assert!(
        summary["outcome"]
            .as_str()
            .is_some_and(|t| t.contains("diverged"))
    );
}

#[test]
fn a_healthy_run_that_uses_every_epoch_is_not_early_stopped() {
    let dir = TempDir::new("epochs");
    let data = dir.file("d.csv", &csv(200));
    let out = dir.path("m.safetensors");
    let o = ok(&[
        "train",
        "--data",
        &data,
        "--target",
        "label",
        "--out",
        &out,
        "--epochs",
        "8",
        "--val-fraction",
        "0.2",
        "--patience",
        "100",
        "--threads",
        "1",
    ]);
    let so = stdout(&o);
    assert!(so.contains("completed all epochs"), "{so}");
    assert!(
        !so.contains("early stopped") && !so.contains("diverged"),
        "{so}"
    );
}

#[test]
fn config_file_errors_keep_the_file_words() {
    // A config file's unknown key is named as written in the file, not turned into a flag.
    let dir = TempDir::new("config_err");
    let data = dir.file("d.csv", &csv(40));
    let spec = dir.file("spec.toml", "seed = 5\n");
    let out = dir.path("m.safetensors");
    let o = mlp(&[
        "train", "--data", &data, "--target", "label", "--out", &out, "--config", &spec,
    ]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("unknown field `seed`"), "{err}");
    assert!(!err.contains("--seed"), "{err}");
}

#[test]
fn config_file_fills_in_but_command_line_flags_win() {
    let dir = TempDir::new("config");
    let data = dir.file("d.csv", &csv(120));
    let spec = dir.file(
        "spec.toml",
        "[train]\nseed = 5\nlr = 0.05\nepochs = 3\nthreads = 2\n",
    );
    let out = dir.path("m.safetensors");
    ok(&[
        "train",
        "--data",
        &data,
        "--target",
        "label",
        "--out",
        &out,
        "--config",
        &spec,
        "--seed",
        "7",
        "--lr",
        "0.002",
        "--threads",
        "1",
        "--batch-size",
        "50",
        "--quiet",
    ]);
    let info = info_json(&out);
    let config = &info["model"]["training"]["config"];
    // Given on the command line: the flags win.
    assert_eq!(config["seed"], 7);
    assert_eq!(config["lr"].as_f64().map(|v| v as f32), Some(0.002));
    assert_eq!(config["threads"], 1);
    // Not in the file: the flag's value stays (the file does not reset it to a default).
    assert_eq!(config["batch_size"], 50);
    // In the file, not on the command line: the file wins over the flag's default.
    assert_eq!(config["epochs"], 3);

    // Without the flags, the file's values apply.
    ok(&[
        "train", "--data", &data, "--target", "label", "--out", &out, "--config", &spec, "--quiet",
    ]);
    let config = info_json(&out)["model"]["training"]["config"].clone();
    assert_eq!(config["seed"], 5);
    assert_eq!(config["threads"], 2);
    assert_eq!(config["lr"].as_f64().map(|v| v as f32), Some(0.05));
}

#[test]
fn too_little_data_for_the_split_is_a_clear_error() {
    let dir = TempDir::new("small");
    // A numeric target: one row of a class label is refused for having one class.
    let one = dir.file("one.csv", "x1,x2,y\n0.5,1.0,2.0\n");
    let three = dir.file("three.csv", &csv(3));
    let out = dir.path("m.safetensors");
    let err = fails(&["train", "--data", &one, "--target", "y", "--out", &out]);
    assert!(err.contains("1 row"), "{err}");
    let err = fails(&[
        "train",
        "--data",
        &three,
        "--target",
        "label",
        "--out",
        &out,
        "--val-fraction",
        "0.1",
    ]);
    assert!(
        err.contains("--val-fraction") && err.contains("no row"),
        "{err}"
    );
    let err = fails(&[
        "train",
        "--data",
        &three,
        "--target",
        "label",
        "--out",
        &out,
        "--val-fraction",
        "0.6",
    ]);
    assert!(err.contains("to train on"), "{err}");
    assert!(!std::path::Path::new(&out).exists());
}

#[test]
fn unwritable_outputs_fail_before_training() {
    let dir = TempDir::new("outputs");
    let data = dir.file("d.csv", &csv(100));
    let missing = dir.path("no/such/dir/m.safetensors");
    let out = dir.path("m.safetensors");
    let base = [
        "train", "--data", &data, "--target", "label", "--epochs", "2",
    ];
    let run = |extra: &[&str]| {
        let mut a = base.to_vec();
        a.extend_from_slice(extra);
        fails(&a)
    };
    let err = run(&["--out", &missing]);
    assert!(
        err.contains("--out") && err.contains("does not exist"),
        "{err}"
    );
    let err = run(&["--out", &out, "--plot", &dir.path("no/p.svg")]);
    assert!(err.contains("--plot"), "{err}");
    let err = run(&["--out", &out, "--plot", &dir.path("p.txt")]);
    assert!(err.contains(".svg or .png"), "{err}");
    let err = run(&["--out", &out, "--checkpoint", &dir.0.display().to_string()]);
    assert!(
        err.contains("--checkpoint") && err.contains("directory"),
        "{err}"
    );
    // Nothing was trained or written.
    assert!(!std::path::Path::new(&out).exists());
}

#[test]
fn progress_lines_every_tenth_or_every_epoch_or_none() {
    let dir = TempDir::new("progress");
    let data = dir.file("d.csv", &csv(100));
    let out = dir.path("m.safetensors");
    let base = [
        "train",
        "--data",
        &data,
        "--target",
        "label",
        "--out",
        &out,
        "--epochs",
        "20",
        "--patience",
        "0",
        "--threads",
        "1",
    ];
    let epoch_lines = |extra: &[&str]| {
        let mut a = base.to_vec();
        a.extend_from_slice(extra);
        let o = ok(&a);
        stderr(&o)
            .lines()
            .filter(|l| l.starts_with("epoch"))
            .count()
    };
    // stderr is a pipe here, not a terminal: a line per 10% of the epochs.
    assert_eq!(epoch_lines(&[]), 10);
    assert_eq!(epoch_lines(&["--verbose"]), 20);
    let mut quiet = base.to_vec();
    quiet.push("--quiet");
    let o = ok(&quiet);
    assert_eq!(stderr(&o), "");
    assert_eq!(stdout(&o), "");
}

#[test]
fn library_errors_name_the_flags_of_the_subcommand() {
    let dir = TempDir::new("flags");
    let data = dir.file("d.csv", &csv(60));
    let out = dir.path("m.safetensors");
    let train = ["train", "--data", &data, "--target", "label", "--out", &out];
    let err = fails(&[&train[..], &["--batch-size", "0"]].concat());
    assert!(err.contains("invalid --batch-size: "), "{err}");
    let err = fails(
        &[
            &train[..],
            &["--adversarial", "fgsm", "--eps", "0.1", "--adv-ratio", "2"],
        ]
        .concat(),
    );
    assert!(err.contains("invalid --adv-ratio: "), "{err}");
    // `mlp train` has --impute, so its hint names it as is...
    let missing = dir.file(
        "missing.csv",
        "x1,x2,label\n0.1,,yes\n0.2,0.3,no\n0.4,0.1,yes\n",
    );
    let err = fails(&[
        "train", "--data", &missing, "--target", "label", "--out", &out,
    ]);
    assert!(err.contains("set --impute to"), "{err}");
    // ...but `mlp predict` has no --impute: the hint says where the flag belongs.
    ok(&[&train[..], &["--epochs", "2", "--quiet"]].concat());
    let cells = dir.file("cells.csv", "x1,x2\n0.1,\n");
    let err = fails(&["predict", "--model", &out, "--data", &cells]);
    assert!(err.contains("mlp train --impute"), "{err}");
}

#[test]
fn a_diverging_sweep_run_is_reported_and_exits_3() {
    let dir = TempDir::new("sweep");
    let data = dir.file("d.csv", &csv(100));
    let results = dir.path("results");
    let args = [
        "sweep",
        "--archs",
        "mlp",
        "--widths",
        "8",
        "--depths",
        "1",
        "--out-dir",
        &results,
        "--data",
        &data,
        "--target",
        "label",
        "--lr",
        "1e6",
        "--epochs",
        "10",
        "--threads",
        "1",
    ];
    let o = mlp(&args);
    let se = stderr(&o);
    assert_eq!(o.status.code(), Some(3), "{se}");
    assert!(se.contains("diverged"), "{se}");
    // A fresh directory: the first sweep's results.csv would make this one skip the run.
    let fresh = dir.path("fresh");
    let mut allowed = args.to_vec();
    allowed[8] = &fresh;
    allowed.push("--allow-divergence");
    let o = ok(&allowed);
    assert!(stderr(&o).contains("diverged"), "{}", stderr(&o));
}

#[test]
fn a_diverging_forecast_fit_is_reported_and_exits_3() {
    let dir = TempDir::new("forecast");
    let out = dir.path("f.safetensors");
    let args = [
        "forecast",
        "fit",
        "--dataset",
        "co2",
        "--out",
        &out,
        "--lr",
        "1e6",
        "--epochs",
        "10",
        "--threads",
        "1",
        "--quiet",
    ];
    let o = mlp(&args);
    let se = stderr(&o);
    assert_eq!(o.status.code(), Some(3), "{se}");
    assert!(se.contains("error: training diverged"), "{se}");
    assert!(std::path::Path::new(&out).exists());
    let mut allowed = args.to_vec();
    allowed.push("--allow-divergence");
    ok(&allowed);
}

/// Two numeric features, a colour and a yes/no label, for tests of text columns.
fn coloured(rows: usize) -> String {
    let mut s = String::from("x1,x2,color,label\n");
    for i in 0..rows {
        let x1 = (i % 7) as f64 / 7.0;
        let x2 = (i % 5) as f64 / 5.0;
        let color = ["red", "green", "blue"][i % 3];
        let label = if x1 + x2 > 0.8 { "yes" } else { "no" };
        s.push_str(&format!("{x1},{x2},{color},{label}\n"));
    }
    s
}

#[test]
fn library_hints_reach_the_user_as_flags_of_the_running_command() {
    let dir = TempDir::new("hints");
    // A mostly numeric column with one word: the library names its `impute` and `ignore`
    // settings, the user reads `mlp train`'s flags.
    let mut text = String::from("x1,x2,label\n");
    for i in 0..20 {
        let x2 = if i == 3 {
            "oops".to_string()
        } else {
            format!("0.{i}")
        };
        text.push_str(&format!(
            "0.{i},{x2},{}\n",
            if i % 2 == 0 { "yes" } else { "no" }
        ));
    }
    let data = dir.file("word.csv", &text);
    let out = dir.path("m.mlp");
    let err = fails(&["train", "--data", &data, "--target", "label", "--out", &out]);
    assert!(
        err.contains("use --impute, or leave the column out with --ignore 'x2'"),
        "{err}"
    );
    assert!(!err.contains('`'), "{err}");
    // A missing cell: the library's `impute` setting is `mlp train`'s --impute.
    let empty = dir.file("empty.csv", "x1,x2,label\n0.1,,yes\n0.2,,no\n0.3,,yes\n");
    let err = fails(&[
        "train", "--data", &empty, "--target", "label", "--out", &out,
    ]);
    assert!(
        err.contains("set --impute to mean|median|most-frequent"),
        "{err}"
    );
}

#[test]
fn a_cell_with_a_line_break_stays_on_one_error_line() {
    let dir = TempDir::new("cellbreak");
    let data = dir.file("d.csv", &coloured(30));
    let out = dir.path("m.mlp");
    ok(&[
        "train", "--data", &data, "--target", "label", "--epochs", "2", "--quiet", "--out", &out,
    ]);
    // A quoted label with a line break inside: `fails` checks the error is one line.
    let bad = dir.file("bad.csv", "x1,x2,color,label\n0.1,0.2,red,\"ma\nybe\"\n");
    let err = fails(&["eval", "--model", &out, "--data", &bad]);
    assert!(err.contains("unknown class label 'ma\\nybe'"), "{err}");
    // A numeric cell with a line break inside.
    let bad = dir.file("bad2.csv", "x1,x2,color,label\n\"1\n2\",0.2,red,yes\n");
    let err = fails(&["eval", "--model", &out, "--data", &bad]);
    assert!(err.contains("1\\n2"), "{err}");
}

#[test]
fn eval_warns_once_per_unseen_category_or_fails_on_request() {
    let dir = TempDir::new("evalunknown");
    let data = dir.file("d.csv", &coloured(30));
    let out = dir.path("m.mlp");
    ok(&[
        "train", "--data", &data, "--target", "label", "--epochs", "2", "--quiet", "--out", &out,
    ]);
    let input = dir.file(
        "new.csv",
        "x1,x2,color,label\n0.1,0.2,purple,no\n0.9,0.8,purple,yes\n0.5,0.5,red,yes\n",
    );
    let o = ok(&["eval", "--model", &out, "--data", &input]);
    let err = stderr(&o);
    assert_eq!(err.matches("warning:").count(), 1, "{err}");
    assert!(err.contains("'color'") && err.contains("'purple'"), "{err}");
    assert!(!stdout(&o).is_empty());
    let o = ok(&[
        "eval",
        "--model",
        &out,
        "--data",
        &input,
        "--unknown-category",
        "ignore",
    ]);
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));
    let err = fails(&[
        "eval",
        "--model",
        &out,
        "--data",
        &input,
        "--unknown-category",
        "error",
    ]);
    assert!(err.contains("line 2") && err.contains("purple"), "{err}");
}

#[test]
fn synapse_device_flags_train_and_bad_ones_fail_in_one_line() {
    let dir = TempDir::new("device");
    let data = dir.file("d.csv", &csv(200));
    let out = dir.path("m.safetensors");
    let base = [
        "train",
        "--data",
        &data,
        "--target",
        "label",
        "--hidden",
        "8",
        "--epochs",
        "5",
        "--out",
        &out,
        "--update-levels",
        "21",
        "--update-bound",
        "0.01",
    ];
    let mut args = base.to_vec();
    args.extend([
        "--update-nonlinearity",
        "5",
        "--update-rule",
        "unidirectional",
        "--update-device-pulses",
        "128",
    ]);
    ok(&args);
    // Unidirectional pairs span [-P delta, P delta] = [-0.128, 0.128] with delta = 0.001; every
    // trained parameter (weights and biases) is a device pair's value.
    let model = mlp::model::Model::load(&out).expect("model file");
    let weights = model.network().params();
    assert!(!weights.is_empty());
    assert!(
        weights.iter().all(|w| w.abs() <= 0.128 * (1.0 + 1e-5)),
        "weights beyond the device range"
    );
    let mut bad = base.to_vec();
    bad.extend(["--update-nonlinearity", "-1"]);
    assert!(fails(&bad).contains("update-nonlinearity"));
    let mut bad = base.to_vec();
    bad.extend(["--update-device-pulses", "1"]);
    assert!(fails(&bad).contains("update-device-pulses"));
}
