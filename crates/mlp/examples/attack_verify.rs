//! Attack and verify a classifier: train on a table, measure accuracy under FGSM and PGD
//! attacks (robust accuracy, an upper bound on what holds), then prove rows robust with interval
//! bound propagation and CROWN (verified accuracy, a lower bound). Runs with
//! `cargo run --release --example attack_verify` and as part of `cargo test` (it asserts what it
//! prints).
//!
//! The data is the iris table shipped with the crate (`data/iris.csv`, four measurements in cm
//! and a text species column). `eps` is in the CSV's own units (cm): each measurement may move
//! by up to `eps` (an L-inf ball), mapped to the network's standardized inputs by
//! [`Model::perturb_space`].

use mlp::loss::BatchTargets;
use mlp::prelude::*;
use mlp::robust::attack::attack;
use mlp::robust::{AttackConfig, EpsUnits};
use mlp::verify::{Bounds, LinearSpec, Method, spec_bounds};

/// Rows whose prediction is `truth`.
fn correct(net_out: &[f32], classes: usize, truth: &[usize]) -> Vec<bool> {
    net_out
        .chunks_exact(classes)
        .zip(truth)
        .map(|(row, &t)| mlp::train::argmax(row) == t)
        .collect()
}

fn main() -> mlp::Result<()> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/iris.csv");
    let table = Table::from_csv(path)?;
    let model = MlpBuilder::classifier()
        .hidden(&[16])
        .activation(Activation::Relu)
        .epochs(100)
        .lr(0.01)
        .seed(3)
        .threads(1)
        .fit_table(&table, "species")?;

    // The rows as the network sees them: encoded as in training, then standardized.
    let rows = table.n_rows();
    let (mut x, _) = model.encode_table(&table, UnknownCategory::Error)?;
    model.to_network_units(&mut x);
    let labels = model.class_labels();
    let truth = table
        .column("species")
        .ok_or_else(|| Error::config("species", "no such column"))?
        .iter()
        .map(|s| {
            labels
                .iter()
                .position(|l| l == s)
                .ok_or_else(|| Error::config("species", format!("unknown label {s}")))
        })
        .collect::<mlp::Result<Vec<usize>>>()?;
    let net = model.network();
    let k = net.outputs();
    let n = model.n_features();
    let clean = correct(&net.predict(&x, rows), k, &truth);
    let n_clean = clean.iter().filter(|&&c| c).count();
    let pct = |n: usize| 100.0 * n as f64 / rows as f64;

    // eps in cm; the space's radius turns it into each standardized input's own radius.
    let space = model.perturb_space(EpsUnits::Raw, None)?;
    println!(
        "iris, {rows} rows, 4-16-3 ReLU classifier; clean accuracy {:.1}%",
        pct(n_clean)
    );
    println!(
        "{:>6}  {:>7}  {:>7}  {:>9}  {:>11}",
        "eps", "FGSM", "PGD-20", "IBP cert", "CROWN cert"
    );
    for eps in [0.02f32, 0.05, 0.1, 0.2] {
        let targets = BatchTargets::Classes(&truth);
        let fgsm = attack(
            net,
            &x,
            rows,
            targets,
            &model.loss(),
            &space,
            &AttackConfig::fgsm(eps),
        )?;
        let pgd = attack(
            net,
            &x,
            rows,
            targets,
            &model.loss(),
            &space,
            &AttackConfig::pgd(eps, 20),
        )?;
        let fgsm_ok = correct(&net.predict(&fgsm, rows), k, &truth);
        let pgd_ok = correct(&net.predict(&pgd, rows), k, &truth);

        // A row is verified when the margin of its true class over every other class is
        // positive over the whole box (bounds computed in f64 on the network's weights).
        let (mut ibp_n, mut crown_n, mut pgd_n, mut fgsm_n) = (0, 0, 0, 0);
        for i in 0..rows {
            let center: Vec<f64> = x[i * n..(i + 1) * n].iter().map(|&v| v as f64).collect();
            let radius: Vec<f64> = space.radius.iter().map(|&r| (eps * r) as f64).collect();
            let input = Bounds::around(&center, &radius)?;
            let spec = LinearSpec::class_margin(k, truth[i])?;
            let proved = |method| -> mlp::Result<bool> {
                let b = spec_bounds(net, &input, &spec, method)?;
                Ok(b.lower.iter().all(|&m| m > 0.0))
            };
            let (ibp, crown) = (proved(Method::Ibp)?, proved(Method::Crown)?);
            // Soundness, row by row: a proved row is correct under every attack, and CROWN
            // (intersected with IBP) proves every row IBP proves.
            assert!(!ibp || crown, "row {i}: IBP proved it, CROWN did not");
            assert!(
                !crown || (clean[i] && pgd_ok[i] && fgsm_ok[i]),
                "row {i} proved robust at eps {eps} but an attack succeeded"
            );
            ibp_n += usize::from(ibp);
            crown_n += usize::from(crown);
            pgd_n += usize::from(pgd_ok[i]);
            fgsm_n += usize::from(fgsm_ok[i]);
        }
        println!(
            "{eps:>6}  {:>6.1}%  {:>6.1}%  {:>8.1}%  {:>10.1}%",
            pct(fgsm_n),
            pct(pgd_n),
            pct(ibp_n),
            pct(crown_n)
        );
        assert!(ibp_n <= crown_n && crown_n <= pgd_n);
    }
    assert!(pct(n_clean) > 90.0, "clean accuracy {:.1}%", pct(n_clean));
    Ok(())
}

#[test]
fn example_runs() -> mlp::Result<()> {
    main()
}
