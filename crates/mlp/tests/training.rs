//! End-to-end training behaviour: learning, determinism, exact resume, early stopping,
//! divergence handling, L-BFGS, weights, and the model file round trip.

use mlp::data::generate::{linear_regression, two_moons};
use mlp::data::{Dataset, Targets};
use mlp::estimator::{ClassWeight, MlpBuilder, encode_targets};
use mlp::io::checkpoint;
use mlp::model::{InputSchema, Model};
use mlp::optim::OptimizerConfig;
use mlp::train::{Hooks, NoHooks, Outcome, TrainState, ValidationSplit};

fn moons() -> Dataset {
    two_moons(600, 0.15, 3).expect("moons")
}

fn session_for(b: &MlpBuilder, data: &Dataset) -> mlp::estimator::Session {
    let (data, target) = encode_targets(data, None).expect("encode");
    let input = InputSchema::Matrix {
        feature_names: vec!["a".into(), "b".into()],
        source: "test".into(),
        value_scale: None,
    };
    b.session(&data, None, input, target, &[], "test".into())
        .expect("session")
}

#[test]
fn learns_two_moons_and_round_trips_through_the_file() {
    let data = moons();
    let model = MlpBuilder::classifier()
        .hidden(&[32, 32])
        .epochs(150)
        .batch_size(32)
        .seed(1)
        .threads(1)
        .fit(&data)
        .expect("fit");
    let acc = model
        .evaluate(&data)
        .expect("eval")
        .accuracy()
        .expect("acc");
    assert!(acc > 0.97, "accuracy {acc}");
    let dir = std::env::temp_dir().join(format!("mlp-train-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("m.safetensors");
    model.save(&path).expect("save");
    let loaded = Model::load(&path).expect("load");
    assert_eq!(loaded.network().params(), model.network().params());
    let p1 = model
        .predict_proba(data.features(), data.len())
        .expect("p1");
    let p2 = loaded
        .predict_proba(data.features(), data.len())
        .expect("p2");
    assert_eq!(p1, p2);
    // A truncated file is a clear error naming the file.
    let bytes = std::fs::read(&path).expect("read");
    let cut = dir.join("cut.safetensors");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).expect("write");
    let err = Model::load(&cut).expect_err("truncated").to_string();
    assert!(err.contains("cut.safetensors"), "{err}");
    // Metadata that no longer matches the weights (one class label removed) is refused.
    let mut file = mlp::io::TensorFile::read(&path).expect("read");
    let doc = file
        .metadata
        .get("mlp")
        .expect("metadata")
        .replace("\"labels\":[\"0\",\"1\"]", "\"labels\":[\"0\"]");
    assert_ne!(
        &doc,
        file.metadata.get("mlp").expect("metadata"),
        "the edit must apply"
    );
    file.metadata.insert("mlp".into(), doc);
    let edited = dir.join("edited.safetensors");
    file.write(&edited).expect("write");
    let err = Model::load(&edited).expect_err("inconsistent").to_string();
    assert!(
        err.contains("edited.safetensors") && err.contains("network outputs"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn same_seed_and_threads_give_bit_identical_weights() {
    let data = moons();
    for threads in [1, 2] {
        let b = MlpBuilder::classifier()
            .hidden(&[64, 64])
            .dropout(0.1)
            .epochs(5)
            .batch_size(64)
            .seed(7)
            .threads(threads);
        let a = b.fit(&data).expect("a");
        let c = b.fit(&data).expect("c");
        assert_eq!(
            a.network().params(),
            c.network().params(),
            "threads={threads}"
        );
    }
    let a = MlpBuilder::classifier()
        .hidden(&[16])
        .epochs(3)
        .seed(1)
        .threads(1)
        .fit(&data)
        .expect("a");
    let c = MlpBuilder::classifier()
        .hidden(&[16])
        .epochs(3)
        .seed(2)
        .threads(1)
        .fit(&data)
        .expect("c");
    assert_ne!(a.network().params(), c.network().params());
}

/// Stops after a given number of batches, as Ctrl-C would.
struct StopAfter {
    batches: usize,
    seen: usize,
}
impl Hooks for StopAfter {
    fn on_batch(&mut self, _: usize, _: usize, _: usize, _: f64) {
        self.seen += 1;
    }
    fn should_stop(&mut self) -> bool {
        self.seen >= self.batches
    }
}

/// Large enough that every two-thread path runs: split GEMMs and matrix-vector products, the
/// halved Adam pass and batch gathering on the helper core. None of them changes a result, so two
/// threads repeat themselves and also equal one thread, bit for bit.
#[test]
fn two_thread_paths_repeat_and_equal_one_thread() {
    let data = mlp::data::generate::two_moons(600, 0.1, 3).expect("moons");
    let fit = |threads: usize| {
        MlpBuilder::classifier()
            .hidden(&[256, 256])
            .epochs(2)
            .batch_size(128)
            .seed(11)
            .threads(threads)
            .fit(&data)
            .expect("fit")
    };
    let one = fit(1);
    let two = fit(2);
    let again = fit(2);
    assert_eq!(two.network().params(), again.network().params());
    assert_eq!(one.network().params(), two.network().params());
    let x: Vec<f32> = data.features()[..2].to_vec();
    assert_eq!(
        one.network().predict(&x, 1),
        two.network().predict(&x, 1),
        "single-sample inference"
    );
}

#[test]
fn interrupted_and_resumed_run_equals_uninterrupted_run() {
    let data = moons();
    let b = MlpBuilder::classifier()
        .hidden(&[16, 16])
        .dropout(0.2)
        .epochs(6)
        .batch_size(50)
        .seed(5)
        .threads(2)
        .schedule(mlp::optim::schedule::Schedule::Cosine {
            warmup_epochs: 1,
            min_lr: 0.0,
        });
    let mut full = session_for(&b, &data);
    full.run(&mut NoHooks).expect("full");

    let dir = std::env::temp_dir().join(format!("mlp-resume-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let ckpt = dir.join("ckpt.safetensors");
    let mut first = session_for(&b, &data);
    // 600 samples, 10% validation -> 540 train -> 11 batches per epoch; stop mid-epoch 3.
    let outcome = first
        .run(&mut StopAfter {
            batches: 25,
            seen: 0,
        })
        .expect("first");
    assert_eq!(outcome, Outcome::Interrupted);
    checkpoint::save(
        &ckpt,
        first.model(),
        first.state(),
        &serde_json::json!({"note": "test"}),
    )
    .expect("save");
    let (model, state, resume) = checkpoint::load(&ckpt).expect("load");
    assert_eq!(resume["note"], "test");
    assert_eq!(&state, first.state());
    let mut second = session_for(&b, &data);
    second
        .model_mut()
        .network_mut()
        .params_mut()
        .copy_from_slice(model.network().params());
    *second.state_mut() = state;
    second.run(&mut NoHooks).expect("second");
    assert_eq!(
        second.model().network().params(),
        full.model().network().params()
    );
    assert_eq!(second.state().history.len(), full.state().history.len());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn early_stopping_restores_the_best_weights() {
    let data = moons();
    // A large model, no weight decay, many epochs on little data: validation loss turns up.
    let b = MlpBuilder::classifier()
        .hidden(&[128, 128])
        .epochs(400)
        .batch_size(16)
        .lr(0.01)
        .weight_decay(0.0)
        .patience(Some(5))
        .seed(2)
        .threads(1);
    let mut s = session_for(&b, &data);
    let outcome = s.run(&mut NoHooks).expect("run");
    let Outcome::EarlyStopped { best_epoch } = outcome else {
        panic!("expected early stop, got {outcome:?}")
    };
    assert!(s.state().history.len() < 400);
    assert!(
        outcome.to_string().starts_with("early stopped"),
        "{outcome}"
    );
    let (best_loss, epoch, params) = s.state().best.clone().expect("best");
    assert_eq!(epoch, best_epoch);
    assert_eq!(s.model().network().params(), params);
    let recorded = s.state().history[best_epoch - 1]
        .val_loss
        .expect("val loss");
    assert_eq!(recorded, best_loss);
    assert!(
        s.state()
            .history
            .iter()
            .all(|r| r.val_loss.expect("val") >= best_loss)
    );
}

fn exploding_regression(lr: f32, optimizer: &str) -> mlp::estimator::Session {
    let data = linear_regression(200, 5, 0.1, 1).expect("gen");
    let b = MlpBuilder::regressor()
        .hidden(&[32])
        .epochs(50)
        .lr(lr)
        .optimizer(OptimizerConfig::from_name(optimizer).expect("optimizer"))
        .validation(ValidationSplit::None)
        .seed(0)
        .threads(1);
    let (enc, target) = encode_targets(&data, None).expect("enc");
    let input = InputSchema::Matrix {
        feature_names: (0..5).map(|i| format!("x{i}")).collect(),
        source: "t".into(),
        value_scale: None,
    };
    b.session(&enc, None, input, target, &[], "t".into())
        .expect("session")
}

#[test]
fn divergence_ends_the_run_and_keeps_the_best_weights() {
    for optimizer in ["sgd", "adam"] {
        let mut s = exploding_regression(1e6, optimizer);
        let start = s.model().network().params().to_vec();
        let outcome = s.run(&mut NoHooks).expect("a diverged run is an outcome");
        let Outcome::Diverged {
            epoch, kept_epoch, ..
        } = outcome
        else {
            panic!("{optimizer}: expected divergence, got {outcome:?}")
        };
        assert!(outcome.diverged());
        assert!(epoch < 50, "{optimizer}: stopped at epoch {epoch}");
        assert!(s.state().finished);
        let text = outcome.to_string();
        assert!(text.contains("diverged"), "{text}");
        assert!(!text.contains("converged"), "{text}");
        assert!(s.model().training().is_some_and(|t| t.outcome == text));
        assert!(s.model().network().params().iter().all(|p| p.is_finite()));
        // Nothing beat the starting weights, so they are what the model holds.
        assert_eq!(kept_epoch, 0, "{optimizer}");
        assert_eq!(s.model().network().params(), start, "{optimizer}");
    }
}

#[test]
fn a_healthy_run_does_not_diverge() {
    let mut s = exploding_regression(1e-3, "adam");
    let outcome = s.run(&mut NoHooks).expect("run");
    assert!(!outcome.diverged(), "{outcome}");
    assert!(matches!(
        outcome,
        Outcome::MaxEpochs { .. } | Outcome::Converged
    ));
}

#[test]
fn running_every_epoch_is_not_an_early_stop() {
    let data = moons();
    // The early-stopping setup below, with patience that never runs out: the validation loss
    // turns up, so the best weights come from an earlier epoch, but all epochs ran.
    let b = MlpBuilder::classifier()
        .hidden(&[128, 128])
        .epochs(60)
        .batch_size(16)
        .lr(0.01)
        .weight_decay(0.0)
        .patience(Some(1000))
        .seed(2)
        .threads(1);
    let mut s = session_for(&b, &data);
    let outcome = s.run(&mut NoHooks).expect("run");
    assert_eq!(s.state().history.len(), 60);
    let (_, best, params) = s.state().best.clone().expect("best");
    assert!(best < 60, "best epoch {best}");
    assert_eq!(
        outcome,
        Outcome::MaxEpochs {
            best_epoch: Some(best)
        }
    );
    assert_eq!(s.model().network().params(), params);
    let text = outcome.to_string();
    assert!(!text.contains("early"), "{text}");
    assert!(text.contains(&format!("epoch {best}")), "{text}");
}

#[test]
fn lbfgs_fits_a_small_regression() {
    let data = linear_regression(300, 4, 0.01, 2).expect("gen");
    let model = MlpBuilder::regressor()
        .hidden(&[16])
        .activation(mlp::Activation::Tanh)
        .optimizer(OptimizerConfig::from_name("lbfgs").expect("lbfgs"))
        .epochs(200)
        .patience(None)
        .validation(ValidationSplit::None)
        .seed(3)
        .threads(1)
        .fit(&data)
        .expect("fit");
    let (enc, _) = encode_targets(&data, None).expect("enc");
    let eval = model.evaluate(&enc).expect("eval");
    let mlp::estimator::Evaluation::Regression(r) = eval else {
        panic!("regression")
    };
    assert!(r.r2 > 0.99, "r2 {}", r.r2);
}

#[test]
fn class_and_sample_weights_shift_the_decision() {
    // Imbalanced, overlapping classes: balanced weights raise recall on the rare class.
    let mut data = two_moons(1000, 0.45, 9).expect("gen");
    let Targets::Classes { labels, .. } = data.targets() else {
        panic!()
    };
    let keep: Vec<usize> = (0..data.len())
        .filter(|&i| labels[i] == 0 || i % 8 == 0)
        .collect();
    data = data.select(&keep);
    let Targets::Classes { labels, .. } = data.targets().clone() else {
        panic!()
    };
    let recall1 = |m: &Model| {
        let pred = m
            .predict_classes(data.features(), data.len())
            .expect("pred");
        let (mut hit, mut total) = (0, 0);
        for (p, t) in pred.iter().zip(&labels) {
            if *t == 1 {
                total += 1;
                hit += usize::from(*p == 1);
            }
        }
        hit as f64 / total as f64
    };
    let base = MlpBuilder::classifier()
        .hidden(&[8])
        .epochs(40)
        .seed(4)
        .threads(1)
        .validation(ValidationSplit::None);
    let plain = base.clone().fit(&data).expect("plain");
    let balanced = base
        .clone()
        .class_weight(ClassWeight::Balanced)
        .fit(&data)
        .expect("balanced");
    assert!(
        recall1(&balanced) > recall1(&plain) + 0.05,
        "{} vs {}",
        recall1(&balanced),
        recall1(&plain)
    );
    // Sample weights of 8 on the rare class act like balanced class weights.
    let weighted = data
        .clone()
        .with_weights(
            labels
                .iter()
                .map(|&l| if l == 1 { 8.0 } else { 1.0 })
                .collect::<Vec<f32>>(),
        )
        .expect("weights");
    let w = base.fit(&weighted).expect("weighted");
    assert!(recall1(&w) > recall1(&plain) + 0.05);
}

#[test]
fn state_default_is_a_fresh_run() {
    let s = TrainState::default();
    assert_eq!(s.epoch, 0);
    assert!(s.best.is_none());
}

#[test]
fn every_first_order_optimizer_learns_two_moons() {
    let data = moons();
    for name in ["sgd", "nesterov", "adam", "adamw", "lamb", "rmsprop"] {
        let lr = match name {
            "sgd" | "nesterov" => 0.1,
            "lamb" => 0.01,
            _ => 0.003,
        };
        let model = MlpBuilder::classifier()
            .hidden(&[32, 32])
            .optimizer(OptimizerConfig::from_name(name).expect("optimizer"))
            .lr(lr)
            .epochs(150)
            .batch_size(32)
            .patience(None)
            .validation(ValidationSplit::None)
            .seed(1)
            .threads(1)
            .fit(&data)
            .expect("fit");
        let acc = model
            .evaluate(&data)
            .expect("eval")
            .accuracy()
            .expect("acc");
        assert!(acc > 0.97, "{name}: accuracy {acc}");
    }
}
