//! The two-moons reproduction of docs/robustness.md (a measurement, not a test): standard
//! training, PGD-10 adversarial training and AT-LR at eps 0.3 on a 2-16-16-2 ReLU classifier,
//! 5 seeds; prints accuracy under FGSM and PGD-20 over an epsilon sweep, and the LSA relative
//! error per layer, as the Markdown table the document shows.
//!
//! ```text
//! cargo run --release -p mlp --example moons_robustness
//! # knobs: M=fgsm|pgd (base attack), G=<gamma> (default 0.1), MVL=auto|0,1
//! ```

use mlp::Activation;
use mlp::data::{Dataset, Targets, generate};
use mlp::loss::{BatchTargets, Loss};
use mlp::network::Network;
use mlp::robust::attack::{self, AttackConfig, AttackMethod, PerturbSpace, Threat};
use mlp::robust::lsa::{self, MvlRule};
use mlp::spec::ModelSpec;
use mlp::train::{self, AdversarialConfig, NoHooks, TrainConfig, TrainState};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

const CE: Loss = Loss::CrossEntropy {
    label_smoothing: 0.0,
};

fn moons(n: usize, seed: u64) -> Result<Dataset> {
    Ok(generate::two_moons(n, 0.1, seed)?)
}

fn labels(d: &Dataset) -> Result<&[usize]> {
    match d.targets() {
        Targets::Classes { labels, .. } => Ok(labels),
        _ => Err("two moons has class labels".into()),
    }
}

/// Adam lr 0.01, batch 100, one thread (the document's protocol).
fn config(seed: u64, epochs: usize) -> TrainConfig {
    TrainConfig::default()
        .with_epochs(epochs)
        .with_batch_size(100)
        .with_lr(Some(0.01))
        .with_seed(seed)
        .with_threads(1)
        .with_patience(None)
}

/// A 2-16-16-2 ReLU classifier trained for 60 epochs on two-moons (optionally adversarially).
fn trained(seed: u64, adversarial: Option<AdversarialConfig>) -> Result<Network> {
    let data = moons(1000, seed)?;
    let mut net = ModelSpec::mlp(2, &[16, 16], 2, Activation::Relu, 0.0).build(seed)?;
    let cfg = config(seed, 60).with_adversarial(adversarial);
    train::train(
        &mut net,
        &data,
        None,
        &cfg,
        &CE,
        &mut TrainState::default(),
        &mut NoHooks,
    )?;
    Ok(net)
}

fn accuracy(net: &Network, x: &[f32], labels: &[usize]) -> f64 {
    let out = net.predict(x, labels.len());
    let k = net.outputs();
    let correct = labels
        .iter()
        .enumerate()
        .filter(|(i, l)| train::argmax(&out[i * k..(i + 1) * k]) == **l)
        .count();
    correct as f64 / labels.len() as f64
}

fn attacked_accuracy(net: &Network, test: &Dataset, cfg: &AttackConfig) -> Result<f64> {
    let y = labels(test)?;
    let adv = attack::attack(
        net,
        test.features(),
        y.len(),
        BatchTargets::Classes(y),
        &CE,
        &PerturbSpace::unbounded(2),
        cfg,
    )?;
    Ok(accuracy(net, &adv, y))
}

fn main() -> Result<()> {
    let env = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_string());
    let method: AttackMethod = env("M", "pgd").parse()?;
    let gamma: f32 = env("G", "0.1")
        .parse()
        .map_err(|e| format!("G (gamma): {e}"))?;
    let mvl_text = env("MVL", "auto");
    let test = moons(1000, 77)?;
    let sweep = [0.1f32, 0.2, 0.3, 0.4];
    let names = ["standard", "AT", "AT-LR"];
    // Per model: clean, fgsm 0.3, pgd per sweep eps; and RE per layer under PGD-20 at 0.3.
    let mut acc = vec![vec![0.0f64; 2 + sweep.len()]; 3];
    let mut re = vec![vec![0.0f64; 2]; 3];
    let mut mvls = Vec::new();
    let seeds = 5u64;
    for seed in 0..seeds {
        let base = {
            let mut c = AdversarialConfig::new(method, 0.3);
            c.steps = 10;
            c
        };
        let mvl = if mvl_text == "auto" {
            let data = moons(1000, seed)?;
            let net = ModelSpec::mlp(2, &[16, 16], 2, Activation::Relu, 0.0).build(seed)?;
            let cfg = config(seed, 60).with_adversarial(Some(base.clone()));
            train::auto_mvl(&net, &data, &cfg, &CE)?
        } else {
            mvl_text
                .split(',')
                .map(|s| s.trim().parse().map_err(|e| format!("MVL '{s}': {e}")))
                .collect::<std::result::Result<Vec<usize>, _>>()?
        };
        mvls.push(mvl.clone());
        let models = [
            trained(seed, None)?,
            trained(seed, Some(base.clone()))?,
            trained(
                seed,
                Some({
                    let mut c = base;
                    c.layer_reg = gamma;
                    c.mvl = mvl;
                    c
                }),
            )?,
        ];
        let y = labels(&test)?;
        for (m, net) in models.iter().enumerate() {
            acc[m][0] += accuracy(net, test.features(), y) / seeds as f64;
            acc[m][1] += attacked_accuracy(net, &test, &AttackConfig::fgsm(0.3))? / seeds as f64;
            for (k, &eps) in sweep.iter().enumerate() {
                acc[m][2 + k] +=
                    attacked_accuracy(net, &test, &AttackConfig::pgd(eps, 20))? / seeds as f64;
            }
            let report = lsa::analyze(
                net,
                test.features(),
                y.len(),
                BatchTargets::Classes(y),
                Threat {
                    loss: &CE,
                    space: &PerturbSpace::unbounded(2),
                    config: &AttackConfig::pgd(0.3, 20),
                },
                250,
                MvlRule::MeanPlusStd,
            )?;
            for (r, l) in re[m].iter_mut().zip(&report.layers) {
                *r += l.relative_error / seeds as f64;
            }
        }
    }
    println!("base attack {method:?}, gamma {gamma}, MVL per seed {mvls:?}");
    println!(
        "| model | clean | FGSM 0.3 | PGD-20 0.1 | PGD-20 0.2 | PGD-20 0.3 | PGD-20 0.4 | RE layer 0 | RE layer 1 |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for m in 0..3 {
        let cells: Vec<String> = acc[m]
            .iter()
            .chain(&re[m])
            .map(|v| format!("{v:.3}"))
            .collect();
        println!("| {} | {} |", names[m], cells.join(" | "));
    }
    Ok(())
}
