//! int8 post-training quantization: a trained model's int8 twin agrees with it, survives the
//! model file exactly, and crafted or truncated int8 files are clear errors.

use mlp::data::generate::blobs;
use mlp::estimator::MlpBuilder;
use mlp::io::TensorFile;
use mlp::model::Model;
use mlp::quant::Calibration;
use std::path::{Path, PathBuf};

fn trained() -> (Model, mlp::data::Dataset) {
    let data = blobs(400, 6, 3, 1.5, 5).expect("blobs");
    let model = MlpBuilder::classifier()
        .hidden(&[24, 12])
        .epochs(40)
        .batch_size(32)
        .seed(2)
        .threads(1)
        .fit(&data)
        .expect("fit");
    (model, data)
}

struct Dir(PathBuf);
impl Dir {
    fn new(tag: &str) -> Self {
        let d = std::env::temp_dir().join(format!("mlp-int8-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("dir");
        Dir(d)
    }
    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}
impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn int8_model_agrees_with_f32_and_round_trips_through_its_file() {
    let (model, data) = trained();
    let n = data.len();
    for calibration in [
        Calibration::MinMax,
        Calibration::Percentile { percentile: 99.9 },
    ] {
        let q = model
            .quantize(data.features(), n, calibration)
            .expect("quantize");
        assert_eq!((model.precision(), q.precision()), ("f32", "int8"));
        let int8 = q.network().int8().expect("int8 network");
        assert!(
            int8.size_bytes() * 2 < int8.f32_size_bytes(),
            "int8 {} bytes, f32 {}",
            int8.size_bytes(),
            int8.f32_size_bytes()
        );
        // Predictions: the same classes on (almost) every row, probabilities close.
        let pf = model.predict_proba(data.features(), n).expect("f32");
        let pq = q.predict_proba(data.features(), n).expect("int8");
        let worst = pf
            .iter()
            .zip(&pq)
            .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(
            worst < 0.05,
            "{calibration}: probabilities differ by {worst}"
        );
        let cf = model.predict_classes(data.features(), n).expect("classes");
        let cq = q.predict_classes(data.features(), n).expect("classes");
        let changed = cf.iter().zip(&cq).filter(|(a, b)| a != b).count();
        assert!(changed <= n / 100, "{changed} of {n} predictions changed");
        // The serving path (`predict_into`) takes the int8 path too.
        let mut scratch = mlp::model::PredictScratch::new();
        let mut out = vec![0.0f32; n * q.output_width()];
        q.predict_into(data.features(), n, &mut scratch, &mut out)
            .expect("predict_into");
        assert_eq!(out, pq);
        // The file holds int8 weights and loads back to the same model, bit for bit.
        let dir = Dir::new("rt");
        let path = dir.path("q.safetensors");
        q.save(&path).expect("save");
        let file = TensorFile::read(&path).expect("read");
        assert!(
            file.get("layers.0.weight").is_none(),
            "no f32 copy of the weights"
        );
        let (shape, _) = file.get_i8("layers.0.weight_q").expect("int8 weights");
        assert_eq!(shape, [24, 6]);
        let loaded = Model::load(&path).expect("load");
        assert_eq!(loaded, q);
        assert_eq!(loaded.predict_proba(data.features(), n).expect("p"), pq);
        let f32_path = dir.path("f.safetensors");
        model.save(&f32_path).expect("save f32");
        let (qs, fs) = (file_len(&path), file_len(&f32_path));
        assert!(qs < fs, "int8 file {qs} bytes, f32 {fs}");
        // Quantizing again (from the dequantized twin) gives the same int8 weights.
        let again = loaded
            .quantize(data.features(), n, calibration)
            .expect("requantize");
        assert_eq!(
            again.network().int8().expect("int8").layers()[0].weight_q(),
            int8.layers()[0].weight_q()
        );
        // Changing the weights drops the int8 path (it would no longer match).
        let mut edited = q.clone();
        edited.network_mut().params_mut()[0] += 1.0;
        assert_eq!(edited.precision(), "f32");
    }
}

fn file_len(p: &Path) -> u64 {
    std::fs::metadata(p).expect("metadata").len()
}

#[test]
fn calibration_errors_are_clear() {
    let (model, data) = trained();
    let err = model
        .quantize(
            data.features(),
            data.len(),
            Calibration::Percentile { percentile: 30.0 },
        )
        .expect_err("bad percentile")
        .to_string();
    assert!(
        err.contains("percentile") && err.contains("(50, 100]"),
        "{err}"
    );
    let err = model
        .quantize(&[], 0, Calibration::MinMax)
        .expect_err("no rows")
        .to_string();
    assert!(err.contains("at least one row"), "{err}");
    let mut x = data.features()[..6].to_vec();
    x[2] = f32::NAN;
    assert!(model.quantize(&x, 1, Calibration::MinMax).is_err());
}

/// The first layer's int8 weight tensor.
fn int8(f: &mut TensorFile) -> &mut (String, Vec<usize>, Vec<i8>) {
    f.int8
        .iter_mut()
        .find(|t| t.0 == "layers.0.weight_q")
        .expect("int8 tensor")
}

/// Rewrites a saved int8 model with `edit` applied to its tensors and returns the load error.
fn load_error(q: &Model, dir: &Dir, name: &str, edit: impl FnOnce(&mut TensorFile)) -> String {
    let path = dir.path(name);
    let mut file = q.to_tensor_file().expect("tensor file");
    edit(&mut file);
    file.write(&path).expect("write");
    let err = Model::load(&path).expect_err(name).to_string();
    assert!(err.contains(name), "the error names the file: {err}");
    err
}

#[test]
fn crafted_and_truncated_int8_files_are_errors() {
    let (model, data) = trained();
    let q = model
        .quantize(data.features(), data.len(), Calibration::MinMax)
        .expect("quantize");
    let dir = Dir::new("crafted");
    let f32t = |f: &mut TensorFile, name: &str| -> usize {
        f.tensors.iter().position(|t| t.0 == name).expect(name)
    };
    let e = load_error(&q, &dir, "short.safetensors", |f| {
        let t = int8(f);
        t.1 = vec![24, 5];
        t.2.truncate(24 * 5);
    });
    assert!(e.contains("layers.0.weight"), "{e}");
    let e = load_error(&q, &dir, "noscale.safetensors", |f| {
        let i = f32t(f, "layers.0.weight_scale");
        f.tensors.remove(i);
    });
    assert!(e.contains("weight_scale"), "{e}");
    let e = load_error(&q, &dir, "zeroscale.safetensors", |f| {
        let i = f32t(f, "layers.1.weight_scale");
        f.tensors[i].2[3] = 0.0;
    });
    assert!(e.contains("weight_scale") && e.contains("positive"), "{e}");
    let e = load_error(&q, &dir, "zp.safetensors", |f| {
        let i = f32t(f, "layers.0.input_quant");
        f.tensors[i].2[1] = 300.0;
    });
    assert!(e.contains("input_quant"), "{e}");
    let e = load_error(&q, &dir, "noact.safetensors", |f| {
        let i = f32t(f, "layers.2.input_quant");
        f.tensors.remove(i);
    });
    assert!(e.contains("layers.2.input_quant"), "{e}");
    let e = load_error(&q, &dir, "min.safetensors", |f| int8(f).2[0] = -128);
    assert!(e.contains("-128"), "{e}");
    let e = load_error(&q, &dir, "both.safetensors", |f| {
        f.push("layers.0.weight", vec![24, 6], vec![0.0; 144]);
    });
    assert!(e.contains("both"), "{e}");
    let e = load_error(&q, &dir, "stray.safetensors", |f| {
        f.int8.push(("other.q".into(), vec![1], vec![1]));
    });
    assert!(e.contains("other.q"), "{e}");
    let e = load_error(&q, &dir, "meta.safetensors", |f| {
        f.metadata
            .insert("quantization".into(), "{\"precision\":\"int4\"}".into());
    });
    assert!(e.contains("quantization"), "{e}");
    let e = load_error(&q, &dir, "nometa.safetensors", |f| {
        f.metadata.remove("quantization");
    });
    assert!(e.contains("no 'quantization' metadata"), "{e}");
    // Truncated anywhere: a clear error, never a panic.
    let path = dir.path("q.safetensors");
    q.save(&path).expect("save");
    let bytes = std::fs::read(&path).expect("bytes");
    let cut = dir.path("cut.safetensors");
    for len in [10, bytes.len() / 3, bytes.len() / 2, bytes.len() - 1] {
        std::fs::write(&cut, &bytes[..len]).expect("write");
        let err = Model::load(&cut).expect_err("truncated").to_string();
        assert!(err.contains("cut.safetensors"), "{err}");
    }
}
