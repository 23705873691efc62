//! ONNX export and import: export -> import gives the same predictions; PyTorch-exported and
//! VNN-COMP style graphs import and predict what PyTorch / numpy did (fixtures made by
//! `tests/fixtures/onnx/make_fixtures.py`); bad, truncated and unsupported files are one-line
//! errors. (onnxruntime on exported models is checked by the CLI test `cli_onnx`.)

use mlp::Activation;
use mlp::data::generate::{blobs, linear_regression};
use mlp::estimator::MlpBuilder;
use mlp::io::onnx::proto::ModelProto;
use mlp::io::onnx::{export_model, import_bytes, import_network, to_onnx_bytes};
use mlp::layers::KanBasis;
use mlp::model::Model;
use mlp::spec::LayerSpec;
use prost::Message;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/onnx")
        .join(name)
}

fn regressor() -> (Model, mlp::data::Dataset) {
    let data = linear_regression(120, 5, 0.1, 3).expect("data");
    let model = MlpBuilder::regressor()
        .hidden(&[12, 7])
        .activation(Activation::Tanh)
        .epochs(15)
        .seed(4)
        .threads(1)
        .fit(&data)
        .expect("fit");
    (model, data)
}

fn ops(proto: &ModelProto) -> Vec<String> {
    let graph = proto.graph.as_ref().expect("graph");
    graph.node.iter().map(|n| n.op_type().to_string()).collect()
}

#[test]
fn exported_regressor_imports_back_with_the_same_predictions() {
    let (model, data) = regressor();
    let n = data.len();
    let bytes = to_onnx_bytes(&model).expect("export");
    let proto = ModelProto::decode(bytes.as_slice()).expect("decode");
    let graph = proto.graph.as_ref().expect("graph");
    assert_eq!(graph.input[0].name(), "input");
    assert_eq!(graph.output[0].name(), "value");
    assert_eq!(proto.opset_import[0].version(), 17);
    let (back, info) = import_bytes(&bytes, Path::new("m.onnx")).expect("import");
    assert_eq!((info.inputs, info.outputs, info.layers), (5, 1, 3));
    let want = model.predict_values(data.features(), n).expect("predict");
    let got = back.predict_values(data.features(), n).expect("predict");
    let mut max = 0.0f32;
    for (a, b) in want.iter().zip(&got) {
        let d = (a - b).abs() / (1.0 + a.abs());
        max = max.max(d);
    }
    assert!(max < 1e-5, "max relative difference {max}");
}

#[test]
fn classifier_exports_softmax_proba_and_the_importer_names_the_softmax_node() {
    let data = blobs(90, 4, 3, 1.0, 1).expect("data");
    let model = MlpBuilder::classifier()
        .hidden(&[6])
        .activation(Activation::Relu)
        .epochs(3)
        .seed(1)
        .threads(1)
        .fit(&data)
        .expect("fit");
    let proto = export_model(&model).expect("export");
    let graph = proto.graph.as_ref().expect("graph");
    assert_eq!(graph.output[0].name(), "proba");
    let ops = ops(&proto);
    assert!(ops.contains(&"Softmax".to_string()), "{ops:?}");
    let err = import_bytes(&proto.encode_to_vec(), Path::new("c.onnx"))
        .expect_err("softmax is not an MLP chain op")
        .to_string();
    assert!(err.contains("(Softmax)") && err.contains("c.onnx"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn blocks_without_an_onnx_form_are_named() {
    let data = linear_regression(40, 3, 0.1, 2).expect("data");
    let model = MlpBuilder::regressor()
        .layers(vec![
            LayerSpec::Kan {
                units: 4,
                basis: KanBasis::Chebyshev { degree: 3 },
                base: true,
                grid_from_data: false,
            },
            LayerSpec::dense(1, Activation::Identity),
        ])
        .epochs(1)
        .threads(1)
        .fit(&data)
        .expect("fit");
    let err = to_onnx_bytes(&model).expect_err("kan").to_string();
    assert!(err.contains("layers.0") && err.contains("'kan'"), "{err}");
}

#[test]
fn block_architectures_export_with_their_ops() {
    let data = linear_regression(40, 4, 0.1, 2).expect("data");
    let model = MlpBuilder::regressor()
        .layers(vec![
            LayerSpec::dense(6, Activation::Gelu),
            LayerSpec::BatchNorm {
                eps: 1e-5,
                momentum: 0.1,
            },
            LayerSpec::Residual {
                layers: vec![
                    LayerSpec::LayerNorm { eps: 1e-5 },
                    LayerSpec::Glu {
                        hidden: 5,
                        units: 6,
                        gate: Activation::Silu,
                        init: None,
                    },
                ],
            },
            LayerSpec::Recurrent {
                layers: vec![LayerSpec::dense(6, Activation::Elu)],
                steps: 3,
                dt: 0.5,
                integrator: mlp::layers::Integrator::Rk2,
            },
            LayerSpec::Dropout { p: 0.1 },
            LayerSpec::dense(1, Activation::Identity),
        ])
        .epochs(2)
        .threads(1)
        .fit(&data)
        .expect("fit");
    let proto = export_model(&model).expect("export");
    let ops = ops(&proto);
    for op in [
        "BatchNormalization",
        "LayerNormalization",
        "Sigmoid",
        "Tanh",
        "Elu",
        "Add",
    ] {
        assert!(ops.contains(&op.to_string()), "{op} missing from {ops:?}");
    }
    // RK2 evaluates the shared block twice per step: 6 Elu nodes, one set of weights.
    assert_eq!(ops.iter().filter(|o| *o == "Elu").count(), 6);
    let graph = proto.graph.as_ref().expect("graph");
    let shared = graph
        .initializer
        .iter()
        .filter(|t| t.name() == "layers.3.block.0.weight")
        .count();
    assert_eq!(shared, 1);
}

#[test]
fn bad_and_truncated_files_are_errors() {
    let (model, _) = regressor();
    let bytes = to_onnx_bytes(&model).expect("export");
    let path = Path::new("bad.onnx");
    for cut in [1, bytes.len() / 3, bytes.len() - 1] {
        let err = import_bytes(&bytes[..cut], path).expect_err("truncated");
        assert!(err.to_string().contains("bad.onnx"), "{err}");
    }
    let err = import_bytes(b"definitely not protobuf \xff\xff\xff", path).expect_err("garbage");
    assert!(err.to_string().contains("bad.onnx"), "{err}");
    // A weight whose data is shorter than its dims say: refused before use.
    let mut proto = ModelProto::decode(bytes.as_slice()).expect("decode");
    let graph = proto.graph.as_mut().expect("graph");
    let w = graph
        .initializer
        .iter_mut()
        .find(|t| t.name() == "layers.0.weight")
        .expect("weight");
    w.dims = vec![1 << 40, 1 << 20];
    let err = import_bytes(&proto.encode_to_vec(), path)
        .expect_err("huge dims")
        .to_string();
    assert!(err.contains("layers.0.weight"), "{err}");
    let mut proto = ModelProto::decode(bytes.as_slice()).expect("decode");
    let graph = proto.graph.as_mut().expect("graph");
    let w = graph
        .initializer
        .iter_mut()
        .find(|t| t.name() == "layers.0.weight")
        .expect("weight");
    if let Some(raw) = w.raw_data.as_mut() {
        raw.truncate(raw.len() - 4);
    }
    let err = import_bytes(&proto.encode_to_vec(), path)
        .expect_err("short data")
        .to_string();
    assert!(
        err.contains("layers.0.weight") && err.contains("bytes"),
        "{err}"
    );
    let err = import_network(Path::new("/nonexistent/net.onnx")).expect_err("missing");
    assert!(err.to_string().contains("net.onnx"), "{err}");
}

/// The fixtures' inputs and PyTorch's (or numpy's) outputs on them.
fn expected(name: &str) -> (Vec<f32>, Vec<f32>, usize) {
    let text = std::fs::read_to_string(fixture("expected.json")).expect("expected.json");
    let doc: serde_json::Value = serde_json::from_str(&text).expect("json");
    let rows = |key: &str| -> Vec<Vec<f32>> {
        doc[name][key]
            .as_array()
            .expect("rows")
            .iter()
            .map(|r| {
                r.as_array()
                    .expect("row")
                    .iter()
                    .map(|v| v.as_f64().expect("number") as f32)
                    .collect()
            })
            .collect()
    };
    let (x, y) = (rows("inputs"), rows("outputs"));
    let n = x.len();
    (x.concat(), y.concat(), n)
}

#[test]
fn pytorch_and_vnn_style_graphs_import_and_predict_as_their_source() {
    for (name, layers) in [("torch_mlp", 3), ("torch_normalized", 3), ("acas_style", 3)] {
        let (model, info) = import_network(fixture(&format!("{name}.onnx"))).expect(name);
        assert_eq!(info.layers, layers, "{name}");
        let (x, want, n) = expected(name);
        let got = model.predict_values(&x, n).expect("predict");
        assert_eq!(got.len(), want.len(), "{name}");
        let max = got
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(max <= 1e-5, "{name}: max abs diff {max}");
        // The imported model is an ordinary model file.
        let dir = std::env::temp_dir().join(format!("mlp-onnx-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("m.safetensors");
        model.save(&file).expect("save");
        let again = Model::load(&file).expect("load");
        assert_eq!(again.predict_values(&x, n).expect("predict"), got);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
