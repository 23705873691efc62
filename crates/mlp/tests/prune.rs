//! Pruning: the pruned weights stay zero through fine-tuning, structured pruning shrinks the
//! layers, and the pruned model keeps its accuracy on an easy task.

use mlp::data::generate::blobs;
use mlp::estimator::MlpBuilder;
use mlp::layers::ParamKind;
use mlp::quant::prune::{PruneConfig, weight_sparsity};

fn trained() -> (mlp::model::Model, mlp::data::Dataset) {
    let data = blobs(400, 6, 3, 1.5, 5).expect("blobs");
    let model = MlpBuilder::classifier()
        .hidden(&[32, 16])
        .epochs(40)
        .batch_size(32)
        .seed(2)
        .threads(1)
        .fit(&data)
        .expect("fit");
    (model, data)
}

fn accuracy(m: &mlp::model::Model, d: &mlp::data::Dataset) -> f64 {
    m.evaluate(d).expect("eval").accuracy().expect("accuracy")
}

#[test]
fn pruned_weights_stay_zero_through_fine_tuning() {
    let (model, data) = trained();
    let net = model.network();
    let weights: Vec<usize> = net
        .tensors()
        .iter()
        .filter(|t| t.kind == ParamKind::Weight)
        .flat_map(|t| t.range.clone())
        .collect();
    let p = net.params();
    let mut order = weights.clone();
    order.sort_by(|&a, &b| p[a].abs().total_cmp(&p[b].abs()).then(a.cmp(&b)));
    let k = (0.7 * weights.len() as f64).round() as usize;
    let config = PruneConfig::new(0.7).with_epochs(8).with_seed(1);
    let (pruned, report) = model.prune(&data, &config).expect("prune");
    assert_eq!(report.epoch_losses.len(), 8);
    assert!(report.epoch_losses.iter().all(|l| l.is_finite()));
    let q = pruned.network().params();
    // The smallest 70% are still exactly zero after eight epochs of Adam...
    assert!(
        order[..k].iter().all(|&i| q[i] == 0.0),
        "a pruned weight moved"
    );
    // ...while the kept weights were fine-tuned.
    assert!(
        order[k..].iter().any(|&i| q[i] != p[i]),
        "no fine-tuning happened"
    );
    assert_eq!(report.zero_weights, (k, weights.len()));
    assert!((weight_sparsity(pruned.network()) - 0.7).abs() < 0.01);
    assert_eq!(weight_sparsity(net), 0.0);
    let (a0, a1) = (accuracy(&model, &data), accuracy(&pruned, &data));
    assert!(a1 >= a0 - 0.03, "accuracy {a0} -> {a1}");
    // Same seed, same result.
    let (again, _) = model.prune(&data, &config).expect("prune again");
    assert_eq!(again.network().params(), q);
    // Survives the model file.
    let dir = std::env::temp_dir().join(format!("mlp-prune-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("p.safetensors");
    pruned.save(&path).expect("save");
    let loaded = mlp::model::Model::load(&path).expect("load");
    assert_eq!(
        weight_sparsity(loaded.network()),
        weight_sparsity(pruned.network())
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn structured_pruning_shrinks_hidden_layers_and_keeps_accuracy() {
    let (model, data) = trained();
    let config = PruneConfig::new(0.5).with_epochs(10).with_structured(true);
    let (pruned, report) = model.prune(&data, &config).expect("prune");
    assert_eq!(report.neurons, [(0, 32, 16), (1, 16, 8)]);
    let widths: Vec<usize> = pruned
        .network()
        .layers()
        .iter()
        .map(|l| l.out_features())
        .collect();
    assert_eq!(widths, [16, 8, 3]);
    assert!(pruned.network().n_params() < model.network().n_params() / 2);
    let (a0, a1) = (accuracy(&model, &data), accuracy(&pruned, &data));
    assert!(a1 >= a0 - 0.03, "accuracy {a0} -> {a1}");
    // Errors: a bad sparsity; an int8 model.
    let err = model
        .prune(&data, &PruneConfig::new(1.0))
        .expect_err("sparsity 1")
        .to_string();
    assert!(err.contains("sparsity"), "{err}");
    let q = model
        .quantize(data.features(), data.len(), mlp::quant::Calibration::MinMax)
        .expect("quantize");
    assert!(q.prune(&data, &PruneConfig::new(0.5)).is_err());
}
