//! `mlp train --teacher/--teacher-model` (distillation) and `mlp graph-features`.

mod common;
use common::{TempDir, mlp, run_ok, stderr, stdout};

fn table(rows: usize) -> String {
    let mut s = String::from("a,b,label\n");
    for i in 0..rows {
        let a = ((i * 37) % 101) as f64 / 10.0 - 5.0;
        let b = ((i * 53) % 97) as f64 / 10.0 - 4.8;
        let label = if a * a + b * b < 12.0 { "in" } else { "out" };
        s.push_str(&format!("{a},{b},{label}\n"));
    }
    s
}

#[test]
fn distillation_from_a_teacher_file_and_a_teacher_model() {
    let dir = TempDir::new("distill");
    let data = dir.file("t.csv", &table(200));
    let teacher = dir.path("teacher.safetensors");
    run_ok(&[
        "train", "--data", &data, "--target", "label", "--out", &teacher, "--hidden", "32,32",
        "--epochs", "40", "--seed", "1", "--quiet", "--select", "off",
    ]);
    let proba = stdout(&run_ok(&[
        "predict", "--model", &teacher, "--data", &data, "--proba",
    ]));
    assert!(proba.starts_with("label,proba_in,proba_out"), "{proba}");
    let soft = dir.file("soft.csv", &proba);
    let student = dir.path("student.safetensors");
    let base = [
        "train", "--data", &data, "--target", "label", "--out", &student, "--hidden", "4",
        "--epochs", "20", "--seed", "2", "--quiet", "--select", "off",
    ];
    let mut with_file = base.to_vec();
    with_file.extend([
        "--teacher",
        &soft,
        "--teacher-columns",
        "proba_in,proba_out",
        "--temperature",
        "3",
        "--distill-weight",
        "0.7",
    ]);
    run_ok(&with_file);
    let mut with_model = base.to_vec();
    with_model.extend(["--teacher-model", &teacher]);
    run_ok(&with_model);
    // A teacher file whose rows do not match the training rows is a clear error.
    let logits = dir.file("logits.csv", "l0,l1\n-1.5,2\n");
    let mut bad = base.to_vec();
    bad.extend(["--teacher", &logits, "--teacher-columns", "l0,l1"]);
    let o = mlp(&bad);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("1 rows, the training data have 200"),
        "{}",
        stderr(&o)
    );
    let short: String = proba.lines().take(50).collect::<Vec<_>>().join("\n");
    let short = dir.file("short.csv", &short);
    let mut bad = base.to_vec();
    bad.extend([
        "--teacher",
        &short,
        "--teacher-columns",
        "proba_in,proba_out",
    ]);
    let o = mlp(&bad);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("49 rows"), "{}", stderr(&o));
    let mut bad = base.to_vec();
    bad.extend(["--teacher", &soft, "--teacher-columns", "proba_in"]);
    let o = mlp(&bad);
    assert!(stderr(&o).contains("2 classes"), "{}", stderr(&o));
}

#[test]
fn graph_features_propagate_over_the_edges() {
    let dir = TempDir::new("graphfeat");
    let x = dir.file("x.csv", "node,f,label\nn0,1,a\nn1,0,b\nn2,0,b\n");
    let e = dir.file("e.csv", "src,dst\nn0,n1\nn1,n2\n");
    let out = dir.path("f.csv");
    run_ok(&[
        "graph-features",
        "--edges",
        &e,
        "--features",
        &x,
        "--hops",
        "1",
        "--id-column",
        "node",
        "--keep",
        "label",
        "--out",
        &out,
    ]);
    let text = std::fs::read_to_string(&out).expect("out");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "node,label,f,hop1_f");
    // Node 0 (degree 2 with its self-loop) sees 1/2 of itself; node 1 (degree 3) sees
    // 1/sqrt(6) of node 0.
    assert_eq!(lines[1], "n0,a,1,0.5");
    let v: f64 = lines[2]
        .rsplit(',')
        .next()
        .expect("v")
        .parse()
        .expect("num");
    assert!((v - 1.0 / 6f64.sqrt()).abs() < 1e-6, "{v}");
    let bad = dir.file("bad.csv", "src,dst\nn0,n9\n");
    let o = mlp(&[
        "graph-features",
        "--edges",
        &bad,
        "--features",
        &x,
        "--id-column",
        "node",
        "--keep",
        "label",
        "--out",
        &out,
    ]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("n9") && err.lines().count() == 1, "{err}");
}
