//! `mlp analyze` (spectral diagnostics, --compare, --ipr), `mlp data modular`, `mlp prune --by
//! ipr` and `mlp importance` end to end on small models.

mod common;
use common::{TempDir, mlp, run_ok as ok, stderr, stdout};

fn table(rows: usize) -> String {
    let mut s = String::from("a,b,c,color,label\n");
    for i in 0..rows {
        let (a, b) = ((i as f64 * 0.37).sin() * 3.0, (i as f64 * 0.11).cos());
        let c = (i % 7) as f64 - 3.0;
        let color = ["red", "green", "blue"][i % 3];
        let label = if a + b > 0.3 { "yes" } else { "no" };
        s.push_str(&format!("{a:.4},{b:.4},{c},{color},{label}\n"));
    }
    s
}

fn train(dir: &TempDir, data: &str, name: &str, seed: &str) -> String {
    let model = dir.path(name);
    ok(&[
        "train", "--data", data, "--target", "label", "--out", &model, "--hidden", "24,12",
        "--epochs", "30", "--seed", seed,
    ]);
    model
}

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_str(stdout(out).trim()).expect("JSON output")
}

#[test]
fn spectral_report_table_json_and_plots() {
    let dir = TempDir::new("analyze-spectral");
    let data = dir.file("t.csv", &table(200));
    let model = train(&dir, &data, "m.safetensors", "1");
    let doc = json(&ok(&["analyze", "--model", &model, "--json"]));
    let layers = doc["layers"].as_array().expect("layers");
    assert_eq!(layers.len(), 3);
    assert_eq!(layers[0]["name"], "layers.0.weight");
    assert_eq!(layers[0]["shape"], serde_json::json!([24, 6]));
    for key in [
        "alpha",
        "alpha_hat",
        "xmin",
        "ks_distance",
        "num_tail",
        "spectral_norm",
        "stable_rank",
        "detx_num",
        "num_spikes",
    ] {
        assert!(!layers[1][key].is_null(), "{key}: {}", layers[1]);
    }
    let plots = dir.path("plots");
    let out = stdout(&ok(&["analyze", "--model", &model, "--plot", &plots]));
    assert!(
        out.contains("layers.1.weight") && out.contains("alpha"),
        "{out}"
    );
    let svg = std::fs::read_to_string(dir.0.join("plots/layers.0.weight.esd.svg")).expect("svg");
    assert!(svg.contains("<svg"));
}

#[test]
fn a_truncated_model_is_one_error_line() {
    let dir = TempDir::new("analyze-bad");
    let data = dir.file("t.csv", &table(100));
    let model = train(&dir, &data, "m.safetensors", "1");
    let bytes = std::fs::read(&model).expect("model");
    let cut = dir.path("cut.safetensors");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).expect("write");
    let o = mlp(&["analyze", "--model", &cut]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.starts_with("error: ") && err.contains("cut.safetensors"),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn compare_a_model_with_itself_and_with_another_seed() {
    let dir = TempDir::new("analyze-compare");
    let data = dir.file("t.csv", &table(200));
    let a = train(&dir, &data, "a.safetensors", "1");
    let b = train(&dir, &data, "b.safetensors", "2");
    let csv = dir.path("match.csv");
    let doc = json(&ok(&[
        "analyze",
        "--model",
        &a,
        "--compare",
        &a,
        "--data",
        &data,
        "--json",
        "--matching-out",
        &csv,
    ]));
    let layers = doc["layers"].as_array().expect("layers");
    assert_eq!(layers.len(), 2, "{doc}");
    for l in layers {
        assert!((l["cka"].as_f64().expect("cka") - 1.0).abs() < 1e-6, "{l}");
        // Dead neurons correlate 0 with themselves, so the mean is at most 1.
        assert!(l["matched_correlation"].as_f64().expect("m") > 0.5, "{l}");
    }
    let text = std::fs::read_to_string(&csv).expect("csv");
    assert!(text.starts_with("layer,neuron_a,neuron_b,correlation\nlayers.0,"));
    assert_eq!(text.lines().count(), 1 + 24 + 12);
    let doc = json(&ok(&[
        "analyze",
        "--model",
        &a,
        "--compare",
        &b,
        "--data",
        &data,
        "--json",
        "--plot",
        &dir.path("cmp"),
    ]));
    let l0 = &doc["layers"][0];
    let cka = l0["cka"].as_f64().expect("cka");
    assert!(cka > 0.0 && cka < 1.0, "{l0}");
    assert!(
        l0["matched_correlation"].as_f64().expect("m")
            >= l0["unmatched_correlation"].as_f64().expect("u"),
        "{l0}"
    );
    assert!(dir.0.join("cmp/layers.0.correlation.svg").exists());
    let o = mlp(&["analyze", "--model", &a, "--compare", &b]);
    assert!(stderr(&o).contains("--data"), "{}", stderr(&o));
}

#[test]
fn modular_data_ipr_and_pruning_by_ipr() {
    let dir = TempDir::new("analyze-modular");
    let out = dir.path("mod");
    let o = stdout(&ok(&[
        "data",
        "modular",
        "--p",
        "11",
        "--corrupt",
        "0.2",
        "--out",
        &out,
        "--seed",
        "3",
    ]));
    assert!(
        o.contains("61 training rows (12 corrupted), 60 test rows"),
        "{o}"
    );
    let read = |name: &str| std::fs::read_to_string(dir.0.join("mod").join(name)).expect(name);
    let train_csv = read("train.csv");
    let header = train_csv.lines().next().expect("header");
    assert!(header.starts_with("a0,a1,") && header.ends_with(",b10,y,corrupted"));
    // Each row is two one-hot operands.
    for line in train_csv.lines().skip(1) {
        let cells: Vec<&str> = line.split(',').collect();
        assert_eq!(cells.len(), 2 * 11 + 2);
        assert_eq!(cells[..22].iter().filter(|c| **c == "1").count(), 2);
    }
    assert_eq!(read("train_corrupted.csv").lines().count(), 13);
    assert_eq!(read("train_clean.csv").lines().count(), 50);
    // Clean rows are labelled (a + b) mod p; corrupted ones are not.
    for (file, clean) in [("train_clean.csv", true), ("train_corrupted.csv", false)] {
        for line in read(file).lines().skip(1) {
            let cells: Vec<&str> = line.split(',').collect();
            let a = cells[..11].iter().position(|c| *c == "1").expect("a");
            let b = cells[11..22].iter().position(|c| *c == "1").expect("b");
            let y: usize = cells[22].parse().expect("y");
            assert_eq!(y == (a + b) % 11, clean, "{file}: {line}");
        }
    }
    let model = dir.path("m.safetensors");
    let train = dir.0.join("mod/train.csv").display().to_string();
    ok(&[
        "train",
        "--data",
        &train,
        "--target",
        "y",
        "--ignore",
        "corrupted",
        "--task",
        "classify",
        "--out",
        &model,
        "--hidden",
        "32",
        "--epochs",
        "20",
        "--seed",
        "1",
        "--no-standardize",
    ]);
    let doc = json(&ok(&[
        "analyze", "--model", &model, "--ipr", "11", "--json",
    ]));
    let ipr = doc["ipr"]["neurons"].as_array().expect("ipr");
    assert_eq!(ipr.len(), 32);
    assert!(
        ipr.iter()
            .all(|v| (0.0..=1.0).contains(&v.as_f64().expect("f")))
    );
    let pruned = dir.path("p.safetensors");
    let o = stdout(&ok(&[
        "prune",
        "--model",
        &model,
        "--data",
        &train,
        "--out",
        &pruned,
        "--by",
        "ipr",
        "--period",
        "11",
        "--fraction",
        "0.25",
        "--epochs",
        "0",
    ]));
    assert!(o.contains("layers.0: 24 of 32 neurons kept"), "{o}");
    let o = mlp(&[
        "prune",
        "--model",
        &model,
        "--data",
        &train,
        "--out",
        &pruned,
        "--by",
        "ipr",
        "--fraction",
        "0.25",
    ]);
    assert!(stderr(&o).contains("--period"), "{}", stderr(&o));
    let o = mlp(&["analyze", "--model", &model, "--ipr", "5"]);
    assert!(stderr(&o).contains("divide"), "{}", stderr(&o));
}

#[test]
fn importance_by_permutation_and_gradient() {
    let dir = TempDir::new("analyze-importance");
    let data = dir.file("t.csv", &table(200));
    let model = train(&dir, &data, "m.safetensors", "1");
    for method in ["permutation", "gradient"] {
        let plot = dir.path(&format!("{method}.svg"));
        let doc = json(&ok(&[
            "importance",
            "--model",
            &model,
            "--data",
            &data,
            "--method",
            method,
            "--repeats",
            "3",
            "--json",
            "--plot",
            &plot,
        ]));
        let cols = doc["columns"].as_array().expect("columns");
        let names: Vec<&str> = cols
            .iter()
            .map(|c| c["column"].as_str().expect("name"))
            .collect();
        // The text column's three one-hot features are one column.
        assert_eq!(names, ["a", "b", "c", "color"], "{doc}");
        assert_eq!(cols[3]["features"], 3);
        // The label depends on a and b only. Shuffling shows it for every column; a gradient
        // summed over a text column's one-hot features is not comparable with one numeric
        // feature's, so there only the numeric columns are ranked.
        let mean = |i: usize| cols[i]["mean"].as_f64().expect("mean");
        assert!(mean(0) > mean(2), "{method}: {doc}");
        if method == "permutation" {
            assert!(mean(0) > mean(3) && mean(1) > mean(2), "{doc}");
        }
        assert!(std::path::Path::new(&plot).exists());
    }
    let out = stdout(&ok(&["importance", "--model", &model, "--data", &data]));
    assert!(
        out.lines().nth(2).is_some_and(|l| l.starts_with("a ")),
        "{out}"
    );
}
