//! Inputs the fuzzers (`fuzz/`, `scripts/fuzz.sh`) found crashing a parser, kept so the fix
//! stays fixed: every file under `tests/fixtures/fuzz/<target>/` (`csv`, `npy`, `idx`, `model`)
//! must be refused with a one-line error naming the file, not a panic. (Inputs that the property
//! tests in `properties.rs` found are kept here too.) Inputs under
//! `tests/fixtures/fuzz/pending/` still crash code outside the parsers and are not asserted yet.
//!
//! Also holds the generator of the fuzzers' seed corpora (an ignored test; see
//! `write_fuzz_seeds`).

use std::path::{Path, PathBuf};

use mlp::data::csv::read_csv_from_reader;
use mlp::data::idx::read_idx_from_bytes;
use mlp::data::npy::read_npy_from_bytes;
use mlp::io::{TensorFile, checkpoint};
use mlp::model::Model;

fn fixtures(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/fuzz")
        .join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        // Hidden files (.gitkeep) are not inputs.
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    files.sort();
    files
}

/// Runs `parse` on every fixture of `target` and checks each is an error naming the file.
fn check_all(target: &str, parse: impl Fn(&[u8], &Path) -> mlp::Result<()>) {
    for path in fixtures(target) {
        let bytes = std::fs::read(&path).expect("read fixture");
        let name = path.file_name().expect("file name").to_string_lossy();
        let parsed =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| parse(&bytes, &path)));
        match parsed {
            Ok(Err(e)) => {
                let msg = e.to_string();
                assert!(
                    !msg.contains('\n'),
                    "{target}/{name}: error is not one line: {msg:?}"
                );
                assert!(
                    msg.contains(name.as_ref()),
                    "{target}/{name}: error does not name the file: {msg}"
                );
            }
            Ok(Ok(())) => panic!("{target}/{name}: parsed, but the fixture is malformed"),
            Err(_) => panic!("{target}/{name}: the parser panicked"),
        }
    }
}

#[test]
fn csv_crashes_stay_fixed() {
    check_all("csv", |b, p| {
        read_csv_from_reader(&p.display().to_string(), b, None).map(drop)
    });
}

#[test]
fn npy_crashes_stay_fixed() {
    check_all("npy", |b, p| read_npy_from_bytes(b, p).map(drop));
}

#[test]
fn idx_crashes_stay_fixed() {
    check_all("idx", |b, p| read_idx_from_bytes(b, p).map(drop));
}

#[test]
fn model_crashes_stay_fixed() {
    check_all("model", |b, p| {
        let file = TensorFile::from_bytes(b, p)?;
        if file.metadata.contains_key("checkpoint") {
            checkpoint::load_from_bytes(b, p).map(drop)
        } else {
            Model::from_tensor_file(&file, p).map(drop)
        }
    });
}

/// Writes the fuzzers' seed corpora (small valid files of every kind) under the folder named by
/// `MLP_FUZZ_SEEDS` (`scripts/fuzz.sh` passes `fuzz/seeds`). Ignored by default:
/// `MLP_FUZZ_SEEDS=fuzz/seeds cargo test --release -p mlp --test fuzz_regressions -- --ignored`.
#[test]
#[ignore = "writes the fuzz seed corpora; run by scripts/fuzz.sh"]
fn write_fuzz_seeds() {
    let Some(root) = std::env::var_os("MLP_FUZZ_SEEDS").map(PathBuf::from) else {
        panic!("set MLP_FUZZ_SEEDS to the seeds folder");
    };
    seeds::write_all(&root);
}

mod seeds {
    use super::*;
    use mlp::data::generate::two_moons;
    use mlp::data::preprocess::{FeatureConfig, load_tabular};
    use mlp::estimator::MlpBuilder;
    use mlp::model::InputSchema;
    use mlp::train::NoHooks;

    fn put(dir: &Path, name: &str, bytes: &[u8]) {
        std::fs::create_dir_all(dir).expect("seed dir");
        std::fs::write(dir.join(name), bytes).expect("write seed");
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(bytes).expect("gzip");
        enc.finish().expect("gzip")
    }

    fn npy(descr: &str, fortran: bool, shape: &str, payload: &[u8], version: u8) -> Vec<u8> {
        let mut header = format!(
            "{{'descr': '{descr}', 'fortran_order': {}, 'shape': {shape}, }}",
            if fortran { "True" } else { "False" }
        );
        let pre = if version == 1 { 10 } else { 12 };
        while !(pre + header.len() + 1).is_multiple_of(64) {
            header.push(' ');
        }
        header.push('\n');
        let mut out = b"\x93NUMPY".to_vec();
        out.extend_from_slice(&[version, 0]);
        if version == 1 {
            out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        } else {
            out.extend_from_slice(&(header.len() as u32).to_le_bytes());
        }
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(payload);
        out
    }

    fn idx(dims: &[u32]) -> Vec<u8> {
        let mut out = vec![0, 0, 8, dims.len() as u8];
        for d in dims {
            out.extend_from_slice(&d.to_be_bytes());
        }
        let n: u32 = dims.iter().product();
        out.extend((0..n).map(|v| (v * 37) as u8));
        out
    }

    pub fn write_all(root: &Path) {
        // CSV: the head of each bundled data set, plus the dialects the reader handles.
        let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
        let csv = root.join("csv");
        for name in [
            "iris.csv",
            "wine.csv",
            "breast_cancer.csv",
            "co2_monthly.csv",
        ] {
            let text = std::fs::read_to_string(data.join(name)).expect("data set");
            let head: String = text.lines().take(4).map(|l| format!("{l}\n")).collect();
            put(&csv, name, head.as_bytes());
        }
        put(&csv, "semicolon.csv", b"x;y;label\n1,5;2,25;a\n3,0;4;b\n");
        put(
            &csv,
            "quoted.csv",
            b"name,desc,n\n\"Smith, J\",\"says \"\"hi\"\"\",1\n\"a\nb\",plain,2\n",
        );
        put(
            &csv,
            "bom_crlf_tab.csv",
            b"\xEF\xBB\xBF a\t b \r\n 1\t2\r\n\r\nNaN\tinf\r\n",
        );
        put(&csv, "pipe_missing.csv", b"a|b|c\n1||?\n-2e3|x|NA\n");

        // NPY: every dtype family, both byte orders, Fortran order, versions 2 and 3, gzip.
        let npy_dir = root.join("npy");
        let f4: Vec<u8> = [1.0f32, -2.5, 3.25, 0.0, 1e-3, -7.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        put(&npy_dir, "f4_2x3.npy", &npy("<f4", false, "(2, 3)", &f4, 1));
        let f8: Vec<u8> = [1.5f64, -2.0]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect();
        put(&npy_dir, "f8_be.npy", &npy(">f8", false, "(2,)", &f8, 1));
        put(
            &npy_dir,
            "i2_fortran.npy",
            &npy("<i2", true, "(2, 2)", &[1, 0, 254, 255, 5, 0, 3, 0], 1),
        );
        put(
            &npy_dir,
            "u1_3d.npy",
            &npy("|u1", false, "(2, 1, 2)", &[0, 1, 2, 255], 1),
        );
        put(
            &npy_dir,
            "b1.npy",
            &npy("|b1", false, "(3,)", &[1, 0, 1], 1),
        );
        put(
            &npy_dir,
            "f2_scalar.npy",
            &npy("<f2", false, "()", &[0, 0x38], 1),
        );
        put(
            &npy_dir,
            "i8_v2.npy",
            &npy("<i8", false, "(1,)", &(-42i64).to_le_bytes(), 2),
        );
        put(&npy_dir, "u4_v3.npy", &npy("<u4", false, "(0, 3)", &[], 3));
        put(
            &npy_dir,
            "f4_gz.npy",
            &gzip(&npy("<f4", false, "(2, 3)", &f4, 1)),
        );

        // IDX: ranks 1 to 3, raw and gzip-compressed.
        let idx_dir = root.join("idx");
        put(&idx_dir, "labels-idx1-ubyte", &idx(&[5]));
        put(&idx_dir, "images-idx3-ubyte", &idx(&[2, 3, 3]));
        put(&idx_dir, "matrix-idx2-ubyte.gz", &gzip(&idx(&[3, 2])));

        // Model files: matrix classifier, regressor, a tabular model (JSON preprocessor with a
        // categorical column), and a checkpoint.
        let model_dir = root.join("model");
        let moons = two_moons(24, 0.1, 1).expect("moons");
        let small = |b: MlpBuilder| b.hidden(&[3]).epochs(1).batch_size(8).seed(1).threads(1);
        let clf = small(MlpBuilder::classifier()).fit(&moons).expect("fit");
        put(
            &model_dir,
            "classifier.safetensors",
            &clf.to_tensor_file()
                .expect("file")
                .to_bytes()
                .expect("bytes"),
        );
        let reg_data = mlp::data::generate::linear_regression(24, 2, 0.1, 2).expect("data");
        let reg = small(MlpBuilder::regressor()).fit(&reg_data).expect("fit");
        put(
            &model_dir,
            "regressor.safetensors",
            &reg.to_tensor_file()
                .expect("file")
                .to_bytes()
                .expect("bytes"),
        );

        let text = b"size,color,label\n1.5,red,a\n2.0,blue,b\n0.5,red,a\n3.0,green,b\n2.5,blue,a\n1.0,green,b\n";
        let table = read_csv_from_reader("seed.csv", &text[..], None).expect("table");
        let config = FeatureConfig {
            targets: vec!["label".into()],
            ..FeatureConfig::default()
        };
        let (pre, enc, data) = load_tabular(&table, &config, None).expect("tabular");
        let b = small(MlpBuilder::classifier());
        let mut session = b
            .session(
                &data,
                Some(&data),
                InputSchema::Tabular { preprocessor: pre },
                enc,
                &[false, true, true, true],
                "seed.csv".into(),
            )
            .expect("session");
        session.run(&mut NoHooks).expect("train");
        put(
            &model_dir,
            "tabular.safetensors",
            &session
                .model()
                .to_tensor_file()
                .expect("file")
                .to_bytes()
                .expect("bytes"),
        );
        let ckpt_dir = std::env::temp_dir().join(format!("mlp-fuzz-seeds-{}", std::process::id()));
        std::fs::create_dir_all(&ckpt_dir).expect("tmp");
        let ckpt = ckpt_dir.join("ckpt.safetensors");
        checkpoint::save(
            &ckpt,
            session.model(),
            session.state(),
            &serde_json::json!({"args": ["train"]}),
        )
        .expect("checkpoint");
        put(
            &model_dir,
            "checkpoint.safetensors",
            &std::fs::read(&ckpt).expect("read"),
        );
        let _ = std::fs::remove_dir_all(&ckpt_dir);

        // Every seed must itself be valid, or the fuzzers start from broken inputs.
        for f in super::fixtures_in(&root.join("model")) {
            let b = std::fs::read(&f).expect("read");
            TensorFile::from_bytes(&b, &f).expect("valid seed");
        }
    }
}

fn fixtures_in(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|e| e.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}
