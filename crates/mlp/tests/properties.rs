//! Property-based tests. The file parsers (CSV, NPY, IDX, model and checkpoint files) never panic
//! on arbitrary or corrupted bytes and their errors name the place (file, line and column, or
//! tensor); the target and feature encoders round-trip; IBP and CROWN output bounds contain the
//! outputs of the network at points sampled inside the input box.
//!
//! Case counts are kept small so the file runs in seconds in release; `PROPTEST_CASES=N` raises
//! them for a longer search.

use std::path::Path;
use std::sync::OnceLock;

use mlp::Activation;
use mlp::Error;
use mlp::data::Targets;
use mlp::data::csv::read_csv_from_reader;
use mlp::data::generate::two_moons;
use mlp::data::idx::read_idx_from_bytes;
use mlp::data::npy::read_npy_from_bytes;
use mlp::data::preprocess::{FeatureColumn, FeatureConfig, Preprocessor, TargetKind, fit_targets};
use mlp::estimator::MlpBuilder;
use mlp::io::{TensorFile, checkpoint};
use mlp::model::Model;
use mlp::rng::Rng;
use mlp::spec::ModelSpec;
use mlp::verify::{Bounds, Method, output_bounds};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

/// Case count: `PROPTEST_CASES` when set, else `default`.
fn cases(default: u32) -> ProptestConfig {
    let n = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases: n,
        // A failure prints its minimal input; nothing is written next to the sources.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Asserts that an error's one-line message names `name` (the file).
fn names_file(err: &Error, name: &str) -> Result<(), TestCaseError> {
    let msg = err.to_string();
    prop_assert!(msg.contains(name), "error does not name {name}: {msg}");
    prop_assert!(!msg.contains('\n'), "error is not one line: {msg:?}");
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// CSV

/// Bytes drawn mostly from the characters that give CSV its structure.
fn csv_like_bytes() -> impl Strategy<Value = Vec<u8>> {
    vec(
        select(vec![
            b'a', b'b', b'1', b'2', b'.', b'-', b'e', b',', b';', b'\t', b'|', b'"', b'\n', b'\r',
            b' ', 0xef, 0xbb, 0xbf, 0xff, 0xc3,
        ]),
        0..300,
    )
}

/// A rectangular numeric table: headers `c0..`, `rows x cols` integer cells.
fn table() -> impl Strategy<Value = (usize, Vec<Vec<i32>>)> {
    (2usize..6, 1usize..8).prop_flat_map(|(cols, rows)| {
        (
            Just(cols),
            vec(vec(-1000i32..1000, cols..=cols), rows..=rows),
        )
    })
}

fn table_text(cols: usize, rows: &[Vec<String>]) -> Vec<u8> {
    let mut s: Vec<String> = vec![
        (0..cols)
            .map(|c| format!("c{c}"))
            .collect::<Vec<_>>()
            .join(","),
    ];
    s.extend(rows.iter().map(|r| r.join(",")));
    let mut out = s.join("\n").into_bytes();
    out.push(b'\n');
    out
}

fn cells(rows: &[Vec<i32>]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| r.iter().map(|v| v.to_string()).collect())
        .collect()
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn csv_arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..400)) {
        if let Err(e) = read_csv_from_reader("prop.csv", bytes.as_slice(), None) {
            names_file(&e, "prop.csv")?;
        }
    }

    #[test]
    fn csv_structured_bytes_never_panic(bytes in csv_like_bytes(), d in select(vec![None, Some(b','), Some(b';'), Some(b'\t')])) {
        match read_csv_from_reader("prop.csv", bytes.as_slice(), d) {
            Ok(t) => {
                prop_assert_eq!(t.columns().len(), t.headers().len());
                prop_assert!(t.columns().iter().all(|c| c.len() == t.n_rows()));
            }
            Err(e) => names_file(&e, "prop.csv")?,
        }
    }
}

proptest! {
    #![proptest_config(cases(64))]

    /// Removing or adding a cell in one row: the error names that row's line and the column.
    #[test]
    fn csv_ragged_row_names_line_and_column(
        (cols, rows) in table(),
        pick in any::<prop::sample::Index>(),
        extra in any::<bool>(),
    ) {
        let mut c = cells(&rows);
        let r = pick.index(c.len());
        if extra {
            c[r].push("7".into());
        } else {
            c[r].pop();
        }
        let err = read_csv_from_reader("ragged.csv", table_text(cols, &c).as_slice(), None)
            .expect_err("a ragged row is an error");
        names_file(&err, "ragged.csv")?;
        match err {
            Error::Parse { line, column, msg, .. } => {
                prop_assert_eq!(line, r as u64 + 2);
                let found = if extra { cols + 1 } else { cols - 1 };
                prop_assert!(msg.contains(&format!("expected {cols} fields, found {found}")), "{}", msg);
                let want = if extra { (cols + 1).to_string() } else { format!("c{}", cols - 1) };
                prop_assert_eq!(column, want);
            }
            other => prop_assert!(false, "unexpected {other:?}"),
        }
    }

    /// A cell that is not UTF-8: the error names its line and column.
    #[test]
    fn csv_non_utf8_cell_names_line_and_column(
        (cols, rows) in table(),
        pick_r in any::<prop::sample::Index>(),
        pick_c in any::<prop::sample::Index>(),
        bad in select(vec![0xffu8, 0xfe, 0xc3, 0x80]),
    ) {
        let c = cells(&rows);
        let (r, col) = (pick_r.index(c.len()), pick_c.index(cols));
        let mut text = Vec::new();
        text.extend((0..cols).map(|k| format!("c{k}")).collect::<Vec<_>>().join(",").bytes());
        text.push(b'\n');
        for (i, row) in c.iter().enumerate() {
            for (k, cell) in row.iter().enumerate() {
                if k > 0 {
                    text.push(b',');
                }
                text.extend_from_slice(cell.as_bytes());
                if (i, k) == (r, col) {
                    text.push(bad);
                }
            }
            text.push(b'\n');
        }
        let err = read_csv_from_reader("latin1.csv", text.as_slice(), None)
            .expect_err("invalid UTF-8 is an error");
        names_file(&err, "latin1.csv")?;
        match err {
            Error::Parse { line, column, msg, .. } => {
                prop_assert_eq!(line, r as u64 + 2);
                prop_assert_eq!(column, format!("c{col}"));
                prop_assert!(msg.contains("UTF-8"), "{}", msg);
            }
            other => prop_assert!(false, "unexpected {other:?}"),
        }
    }

    /// A NaN, infinite or missing feature cell: encoding the table fails naming its line and
    /// column.
    #[test]
    fn csv_non_finite_feature_names_line_and_column(
        (cols, rows) in table(),
        pick_r in any::<prop::sample::Index>(),
        pick_c in any::<prop::sample::Index>(),
        bad in select(vec!["nan", "NaN", "inf", "-inf", "infinity", "1e999", ""]),
    ) {
        let mut c = cells(&rows);
        // Column 0 is the target; the bad cell goes into a feature column.
        let (r, col) = (pick_r.index(c.len()), 1 + pick_c.index(cols - 1));
        c[r][col] = bad.to_string();
        let text = table_text(cols, &c);
        let table = read_csv_from_reader("nan.csv", text.as_slice(), None).expect("parses");
        let config = FeatureConfig { targets: vec!["c0".into()], ..FeatureConfig::default() };
        let err = Preprocessor::fit(&table, &config)
            .and_then(|p| p.transform(&table))
            .expect_err("a non-finite feature is an error");
        names_file(&err, "nan.csv")?;
        match err {
            Error::Parse { line, column, .. } => {
                prop_assert_eq!(line, r as u64 + 2);
                prop_assert_eq!(column, format!("c{col}"));
            }
            other => prop_assert!(false, "unexpected {other:?}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// NPY

/// An NPY 1.0 file with the given header dictionary and payload.
fn npy_with_header(dict: &str, payload: &[u8]) -> Vec<u8> {
    let mut header = dict.to_string();
    while !(10 + header.len() + 1).is_multiple_of(64) {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(payload);
    out
}

fn shape_repr(shape: &[u64]) -> String {
    match shape {
        [] => "()".into(),
        [n] => format!("({n},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

const DTYPES: [(&str, usize); 10] = [
    ("<f4", 4),
    ("<f8", 8),
    (">f4", 4),
    ("<f2", 2),
    ("|u1", 1),
    ("<i2", 2),
    (">i4", 4),
    ("<u8", 8),
    ("|b1", 1),
    ("|i1", 1),
];

/// A valid NPY file: dtype, shape (up to rank 3, small), fortran order and matching payload.
fn valid_npy() -> impl Strategy<Value = (Vec<u8>, Vec<usize>)> {
    (
        select(DTYPES.to_vec()),
        vec(0u64..5, 0..4),
        any::<bool>(),
        any::<u64>(),
    )
        .prop_map(|((descr, size), shape, fortran, seed)| {
            let count: u64 = shape.iter().product();
            let mut rng = Rng::seed_from(seed);
            let payload: Vec<u8> = (0..count as usize * size)
                .map(|_| rng.next_u32() as u8)
                .collect();
            let dict = format!(
                "{{'descr': '{descr}', 'fortran_order': {}, 'shape': {}, }}",
                if fortran { "True" } else { "False" },
                shape_repr(&shape)
            );
            (
                npy_with_header(&dict, &payload),
                shape.iter().map(|&d| d as usize).collect(),
            )
        })
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn npy_arbitrary_bytes_never_panic(mut bytes in vec(any::<u8>(), 0..300), magic in any::<bool>()) {
        if magic && bytes.len() >= 8 {
            // Past the magic number and version, so the header parser is reached.
            bytes[..8].copy_from_slice(b"\x93NUMPY\x01\x00");
        }
        if let Err(e) = read_npy_from_bytes(&bytes, Path::new("prop.npy")) {
            names_file(&e, "prop.npy")?;
        }
    }

    /// Valid files parse to their shape; every truncation and every single-byte change is an
    /// error naming the file or a (different) valid array, never a panic.
    #[test]
    fn npy_valid_truncated_and_corrupted((bytes, shape) in valid_npy(), cut in any::<prop::sample::Index>(), flip in any::<prop::sample::Index>(), to in any::<u8>()) {
        let a = read_npy_from_bytes(&bytes, Path::new("ok.npy")).expect("valid file");
        prop_assert_eq!(&a.shape, &shape);
        prop_assert_eq!(a.data.len(), shape.iter().product::<usize>());
        let k = cut.index(bytes.len());
        let err = read_npy_from_bytes(&bytes[..k], Path::new("cut.npy")).expect_err("truncated");
        names_file(&err, "cut.npy")?;
        let mut changed = bytes.clone();
        changed[flip.index(bytes.len())] = to;
        match read_npy_from_bytes(&changed, Path::new("flip.npy")) {
            Ok(a) => prop_assert_eq!(a.data.len(), a.shape.iter().product::<usize>()),
            Err(e) => names_file(&e, "flip.npy")?,
        }
    }

    /// Huge declared shapes are refused from the byte count, before any allocation.
    #[test]
    fn npy_huge_shape_is_an_error(dims in vec(1u64 << 20..u64::MAX >> 1, 1..4), descr in select(vec!["<f4", "<f8", "|u1"])) {
        let dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {}, }}", shape_repr(&dims));
        let err = read_npy_from_bytes(&npy_with_header(&dict, &[0; 16]), Path::new("huge.npy"))
            .expect_err("huge shape");
        names_file(&err, "huge.npy")?;
    }

    /// An unsupported or garbled dtype is an error naming it.
    #[test]
    fn npy_wrong_dtype_names_it(descr in "[<>|=]?[a-zA-Z?][0-9]{0,3}") {
        let dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': (1,), }}");
        match read_npy_from_bytes(&npy_with_header(&dict, &[0; 8]), Path::new("dtype.npy")) {
            Ok(_) => {}
            Err(e) => {
                names_file(&e, "dtype.npy")?;
                prop_assert!(e.to_string().contains(&descr) || e.to_string().contains("bytes"), "{}", e);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// IDX

fn idx_bytes(dims: &[u32], payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 8, dims.len() as u8];
    for d in dims {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(payload);
    out
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn idx_arbitrary_bytes_never_panic(mut bytes in vec(any::<u8>(), 0..100), head in any::<bool>()) {
        if head && bytes.len() >= 4 {
            bytes[..3].copy_from_slice(&[0, 0, 8]);
            bytes[3] %= 6;
        }
        match read_idx_from_bytes(&bytes, Path::new("prop.idx")) {
            Ok(a) => prop_assert_eq!(a.data.len(), a.dims.iter().product::<usize>()),
            Err(e) => names_file(&e, "prop.idx")?,
        }
    }

    /// Valid files parse; every truncation is an error naming the file; huge dimensions are
    /// refused from the byte count.
    #[test]
    fn idx_valid_truncated_and_huge(dims in vec(0u32..5, 1..5), cut in any::<prop::sample::Index>(), huge in vec(1u32 << 16..u32::MAX, 1..5)) {
        let count: u32 = dims.iter().product();
        let payload: Vec<u8> = (0..count).map(|v| v as u8).collect();
        let bytes = idx_bytes(&dims, &payload);
        let a = read_idx_from_bytes(&bytes, Path::new("ok.idx")).expect("valid file");
        prop_assert_eq!(a.dims, dims.iter().map(|&d| d as usize).collect::<Vec<_>>());
        prop_assert_eq!(a.data, payload);
        let k = cut.index(bytes.len());
        let err = read_idx_from_bytes(&bytes[..k], Path::new("cut.idx")).expect_err("truncated");
        names_file(&err, "cut.idx")?;
        let err = read_idx_from_bytes(&idx_bytes(&huge, &[1, 2, 3]), Path::new("huge.idx"))
            .expect_err("huge dimensions");
        names_file(&err, "huge.idx")?;
    }
}

// ---------------------------------------------------------------------------------------------
// Model and checkpoint files

/// The bytes of a small trained classifier's model file.
fn model_bytes() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let data = two_moons(40, 0.1, 1).expect("moons");
        let model = MlpBuilder::classifier()
            .hidden(&[4])
            .epochs(2)
            .batch_size(8)
            .seed(1)
            .threads(1)
            .fit(&data)
            .expect("fit");
        model
            .to_tensor_file()
            .expect("file")
            .to_bytes()
            .expect("bytes")
    })
}

fn load_model(bytes: &[u8], name: &str) -> mlp::Result<Model> {
    let path = Path::new(name);
    Model::from_tensor_file(&TensorFile::from_bytes(bytes, path)?, path)
}

proptest! {
    #![proptest_config(cases(128))]

    #[test]
    fn model_arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..300)) {
        if let Err(e) = load_model(&bytes, "prop.safetensors") {
            names_file(&e, "prop.safetensors")?;
        }
    }

    /// Every truncation of a model file is an error naming the file; so is a header length
    /// past the end of the file (nothing is allocated from it).
    #[test]
    fn model_truncated_or_huge_header(cut in any::<prop::sample::Index>(), len in any::<u64>()) {
        let bytes = model_bytes();
        let k = cut.index(bytes.len());
        let err = load_model(&bytes[..k], "cut.safetensors").expect_err("truncated");
        names_file(&err, "cut.safetensors")?;
        let mut huge = bytes.to_vec();
        let len = len.max(bytes.len() as u64);
        huge[..8].copy_from_slice(&len.to_le_bytes());
        let err = load_model(&huge, "huge.safetensors").expect_err("huge header");
        names_file(&err, "huge.safetensors")?;
    }

    /// One changed byte anywhere: a model or an error naming the file, never a panic.
    #[test]
    fn model_one_byte_changed(at in any::<prop::sample::Index>(), to in any::<u8>()) {
        let mut bytes = model_bytes().to_vec();
        let i = at.index(bytes.len());
        bytes[i] = to;
        match load_model(&bytes, "flip.safetensors") {
            Ok(m) => {
                let n = m.n_features();
                let _ = m.forward(&vec![0.5; n], 1);
            }
            Err(e) => names_file(&e, "flip.safetensors")?,
        }
    }

    /// A tensor of the wrong shape, or a missing one: the error names the file and the tensor.
    #[test]
    fn model_mismatched_tensor_names_it(pick in any::<prop::sample::Index>(), len in 1usize..40, drop in any::<bool>()) {
        let path = Path::new("shape.safetensors");
        let mut file = TensorFile::from_bytes(model_bytes(), path).expect("valid");
        let i = pick.index(file.tensors.len());
        let name = file.tensors[i].0.clone();
        if drop {
            file.tensors.remove(i);
        } else {
            let old_len = file.tensors[i].2.len();
            prop_assume!(len != old_len || file.tensors[i].1.len() != 1);
            file.tensors[i].1 = vec![len];
            file.tensors[i].2 = vec![0.25; len];
        }
        let bytes = file.to_bytes().expect("bytes");
        let err = load_model(&bytes, "shape.safetensors").expect_err("mismatched tensor");
        names_file(&err, "shape.safetensors")?;
        prop_assert!(err.to_string().contains(&format!("'{name}'")), "{}", err);
    }

    /// A tensor stored with another 4-byte dtype: the error names the file and the tensor.
    #[test]
    fn model_wrong_dtype_names_tensor(dtype in select(vec!["I32", "U32"]), nth in 0usize..8) {
        let bytes = model_bytes();
        // Rewrite the nth "dtype":"F32" of the JSON header (same length, so offsets hold).
        let header_len = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) as usize;
        let header = std::str::from_utf8(&bytes[8..8 + header_len]).expect("utf-8 header");
        let hits: Vec<usize> = header.match_indices("\"F32\"").map(|(i, _)| i).collect();
        let at = hits[nth % hits.len()];
        let mut changed = bytes.to_vec();
        changed[8 + at + 1..8 + at + 4].copy_from_slice(dtype.as_bytes());
        let err = load_model(&changed, "dtype.safetensors").expect_err("wrong dtype");
        names_file(&err, "dtype.safetensors")?;
        prop_assert!(err.to_string().contains(dtype), "{}", err);
    }
}

#[test]
fn a_model_file_is_not_a_checkpoint() {
    let err = checkpoint::load_from_bytes(model_bytes(), Path::new("m.safetensors"))
        .expect_err("no training state");
    let msg = err.to_string();
    assert!(
        msg.contains("m.safetensors") && msg.contains("not a checkpoint"),
        "{msg}"
    );
}

// ---------------------------------------------------------------------------------------------
// Encoders: fit, transform, invert

proptest! {
    #![proptest_config(cases(64))]

    /// Class labels: encoding then looking the index up gives the label back.
    #[test]
    fn class_targets_round_trip(labels in vec(select(vec!["cat", "dog", "3", "-1", "x y", "10"]), 1..30)) {
        // Two classes at least: one class is refused.
        let labels: Vec<&str> = ["cat", "dog"].into_iter().chain(labels).collect();
        let mut text = String::from("f,label\n");
        for (i, l) in labels.iter().enumerate() {
            text.push_str(&format!("{i},\"{l}\"\n"));
        }
        let table = read_csv_from_reader("classes.csv", text.as_bytes(), None).expect("parses");
        let enc = fit_targets(&table, &[1], Some(TargetKind::Classify)).expect("fit");
        let Targets::Classes { labels: idx, n_classes } = enc.encode(&table).expect("encode") else {
            return Err(TestCaseError::fail("not classes"));
        };
        prop_assert_eq!(n_classes, enc.n_outputs());
        for (k, l) in idx.iter().zip(&labels) {
            prop_assert_eq!(enc.label(*k), Some(*l));
        }
    }

    /// Regression targets: standardize then decode gives the values back (to f32 precision).
    #[test]
    fn value_targets_round_trip(rows in vec((-1e4f64..1e4, -1.0f64..1.0), 1..30)) {
        let mut text = String::from("a,b\n");
        for (a, b) in &rows {
            text.push_str(&format!("{a},{b}\n"));
        }
        let table = read_csv_from_reader("values.csv", text.as_bytes(), None).expect("parses");
        let enc = fit_targets(&table, &[0, 1], Some(TargetKind::Regress)).expect("fit");
        let Targets::Values { mut values, n_outputs } = enc.encode(&table).expect("encode") else {
            return Err(TestCaseError::fail("not values"));
        };
        prop_assert_eq!(n_outputs, 2);
        enc.decode_values(&mut values);
        // The standardized values are f32: the error is relative to the column's range.
        let tol = |col: &dyn Fn(&(f64, f64)) -> f64| {
            1e-6 * rows.iter().map(|r| col(r).abs()).fold(1.0, f64::max)
        };
        let (tol_a, tol_b) = (tol(&|r| r.0), tol(&|r| r.1));
        for (got, (a, b)) in values.chunks_exact(2).zip(&rows) {
            prop_assert!((f64::from(got[0]) - a).abs() <= tol_a, "{} vs {}", got[0], a);
            prop_assert!((f64::from(got[1]) - b).abs() <= tol_b, "{} vs {}", got[1], b);
        }
    }

    /// Features: numeric columns invert through their mean and scale, categorical columns are
    /// one-hot with the one at the cell's category.
    #[test]
    fn feature_encoding_round_trips(rows in vec((-1e3f64..1e3, select(vec!["red", "green", "blue"])), 2..30)) {
        let mut text = String::from("y,num,color\n");
        for (i, (v, c)) in rows.iter().enumerate() {
            text.push_str(&format!("{},{v},{c}\n", i % 2));
        }
        let table = read_csv_from_reader("features.csv", text.as_bytes(), None).expect("parses");
        let config = FeatureConfig { targets: vec!["y".into()], ..FeatureConfig::default() };
        let pre = Preprocessor::fit(&table, &config).expect("fit");
        let x = pre.transform(&table).expect("transform");
        prop_assert_eq!(x.len(), rows.len() * pre.n_features);
        // The encoded features are f32: the error is relative to the column's range.
        let tol = 1e-6 * rows.iter().map(|r| r.0.abs()).fold(1.0, f64::max);
        for (row, (v, c)) in x.chunks_exact(pre.n_features).zip(&rows) {
            let mut at = 0;
            for col in &pre.columns {
                match col {
                    FeatureColumn::Numeric { mean, scale, .. } => {
                        let back = f64::from(row[at]) * scale + mean;
                        prop_assert!((back - v).abs() <= tol, "{} vs {}", back, v);
                    }
                    FeatureColumn::Categorical { categories, .. } => {
                        let hot: Vec<usize> = (0..categories.len()).filter(|&k| row[at + k] == 1.0).collect();
                        prop_assert_eq!(hot.len(), 1);
                        prop_assert_eq!(categories[hot[0]].as_str(), *c);
                        prop_assert!(row[at..at + categories.len()].iter().all(|&v| v == 0.0 || v == 1.0));
                    }
                }
                at += col.width();
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Bound propagation

/// A small dense network with random weights of a wide spread (so activations saturate and
/// cross their kinks).
fn random_net(
    inputs: usize,
    hidden: &[usize],
    outputs: usize,
    act: Activation,
    seed: u64,
) -> mlp::network::Network {
    let mut net = ModelSpec::mlp(inputs, hidden, outputs, act, 0.0)
        .build(seed)
        .expect("valid spec");
    let mut rng = Rng::seed_from(seed);
    for p in net.params_mut().iter_mut() {
        *p = rng.normal() * 0.8;
    }
    net
}

proptest! {
    #![proptest_config(cases(48))]

    /// IBP and CROWN bounds over a random box contain the network's outputs at random points
    /// and corners of the box (up to the f32 rounding of inference).
    #[test]
    fn bounds_contain_sampled_outputs(
        inputs in 1usize..4,
        hidden in vec(1usize..7, 1..3),
        outputs in 1usize..3,
        act in select(Activation::ALL.to_vec()),
        seed in any::<u64>(),
        radius in 0.0f64..2.0,
    ) {
        let net = random_net(inputs, &hidden, outputs, act, seed);
        let mut rng = Rng::seed_from(seed ^ 0x5eed);
        let center: Vec<f64> = (0..inputs).map(|_| f64::from(rng.normal())).collect();
        let eps: Vec<f64> = (0..inputs).map(|_| radius * rng.uniform_f64()).collect();
        let b = Bounds::around(&center, &eps).expect("box");
        let count = 32;
        let mut x = Vec::with_capacity(count * inputs);
        for s in 0..count {
            for j in 0..inputs {
                let t = if s % 4 == 0 { f64::from(rng.next_u32() & 1) } else { rng.uniform_f64() };
                x.push((b.lower[j] + t * (b.upper[j] - b.lower[j])) as f32);
            }
        }
        let y = net.predict(&x, count);
        for method in [Method::Ibp, Method::Crown] {
            let bounds = match output_bounds(&net, &b, method) {
                Ok(bounds) => bounds,
                // CROWN covers dense stacks of the activations it has relaxations for.
                Err(_) if method == Method::Crown => continue,
                Err(e) => return Err(TestCaseError::fail(format!("IBP failed: {e}"))),
            };
            let scale = bounds.lower.iter().chain(&bounds.upper).fold(1.0f64, |a, v| a.max(v.abs()));
            let tol = 2e-5 * scale;
            for (s, row) in y.chunks_exact(outputs).enumerate() {
                for (j, &v) in row.iter().enumerate() {
                    let v = f64::from(v);
                    prop_assert!(
                        v >= bounds.lower[j] - tol && v <= bounds.upper[j] + tol,
                        "{:?} {:?}: sample {} output {} = {} outside [{}, {}]",
                        method, act, s, j, v, bounds.lower[j], bounds.upper[j]
                    );
                }
            }
        }
    }
}
