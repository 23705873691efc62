//! `mlp demo`: the main job on built-in data, no files needed.
//!
//! Trains and evaluates four classifiers — two-moons (generated), and the iris, wine and
//! breast-cancer CSVs (embedded; they go through the same CSV path as user files) — prints their
//! metrics on held-out data and writes each model file; then attacks and certifies the two-moons
//! model (PGD, CROWN with bisection) and backtests a forecaster on the embedded CO2 series against
//! the baselines.

use anyhow::{Context, Result};
use clap::Args;
use mlp::data::csv::read_csv_from_reader;
use mlp::data::datasets::EmbeddedDataset;
use mlp::data::generate::two_moons;
use mlp::data::preprocess::{FeatureConfig, load_tabular};
use mlp::data::split::stratified_split;
use mlp::data::{Dataset, Targets};
use mlp::estimator::{MlpBuilder, encode_targets};
use mlp::model::{InputSchema, Model};
use mlp::rng::Rng;
use mlp::train::{NoHooks, ValidationSplit};
use std::path::PathBuf;
use std::process::ExitCode;

/// Flags of `mlp demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Directory for the demo's model files.
    #[arg(long, value_name = "DIR", default_value = "mlp-demo")]
    pub out_dir: PathBuf,
    /// Random seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Print a JSON line per data set instead of tables.
    #[arg(long)]
    pub json: bool,
}

struct Job {
    name: &'static str,
    data: Dataset,
    input: InputSchema,
    target: mlp::data::preprocess::TargetEncoder,
    passthrough: Vec<bool>,
    hidden: Vec<usize>,
    epochs: usize,
}

fn split_test(data: &Dataset, seed: u64) -> Result<(Dataset, Dataset)> {
    let Targets::Classes { labels, n_classes } = data.targets() else {
        anyhow::bail!("demo data sets are classification sets");
    };
    let (train, test) = stratified_split(labels, *n_classes, 0.3, &mut Rng::seed_from(seed))?;
    Ok((data.select(&train), data.select(&test)))
}

pub fn run(args: DemoArgs) -> Result<ExitCode> {
    std::fs::create_dir_all(&args.out_dir)
        .with_context(|| format!("creating {}", args.out_dir.display()))?;
    let mut jobs = Vec::new();
    let moons = two_moons(1000, 0.2, args.seed)?;
    let (moons, target) = encode_targets(&moons, None)?;
    jobs.push(Job {
        name: "two-moons",
        input: InputSchema::Matrix {
            feature_names: vec!["x".into(), "y".into()],
            source: "two_moons".into(),
            value_scale: None,
        },
        target,
        passthrough: Vec::new(),
        data: moons,
        hidden: vec![32, 32],
        epochs: 300,
    });
    for (name, set) in [
        ("iris", EmbeddedDataset::Iris),
        ("wine", EmbeddedDataset::Wine),
        ("breast-cancer", EmbeddedDataset::BreastCancer),
    ] {
        let table = read_csv_from_reader(set.name(), set.csv_text().as_bytes(), None)?;
        let config = FeatureConfig {
            targets: vec![set.target_column().to_string()],
            standardize: false,
            ..FeatureConfig::default()
        };
        let (pre, enc, data) = load_tabular(&table, &config, None)?;
        jobs.push(Job {
            name,
            passthrough: vec![false; pre.n_features],
            input: InputSchema::Tabular { preprocessor: pre },
            target: enc,
            data,
            hidden: vec![64, 64],
            epochs: 300,
        });
    }
    if !args.json {
        println!("mlp demo: training on built-in data (70% train / 30% test, stratified)\n");
    }
    let mut moons_model: Option<(Model, Dataset)> = None;
    for job in jobs {
        let (train, test) = split_test(&job.data, args.seed)?;
        let builder = MlpBuilder::classifier()
            .hidden(&job.hidden)
            .epochs(job.epochs)
            .batch_size(32)
            .seed(args.seed)
            .threads(1)
            .validation(ValidationSplit::Stratified(0.15))
            .patience(Some(30));
        let started = std::time::Instant::now();
        let mut session = builder.session(
            &train,
            None,
            job.input,
            job.target,
            &job.passthrough,
            format!("built-in {}", job.name),
        )?;
        session.run(&mut NoHooks)?;
        let seconds = started.elapsed().as_secs_f64();
        let epochs = session.state().history.len();
        let model: Model = session.into_model();
        let eval = model.evaluate(&test)?;
        let path = args.out_dir.join(format!("{}.safetensors", job.name));
        model.save(&path)?;
        if args.json {
            println!(
                "{}",
                serde_json::json!({"dataset": job.name, "epochs": epochs, "seconds": seconds, "model": path.display().to_string(), "test": eval})
            );
        } else {
            println!(
                "== {} ({} train / {} test samples, {} features, {} classes): {} epochs in {:.2}s",
                job.name,
                train.len(),
                test.len(),
                train.n_features(),
                model.n_classes(),
                epochs,
                seconds
            );
            crate::output::print_evaluation(&eval, &model);
            println!("model: {}\n", path.display());
        }
        if moons_model.is_none() {
            moons_model = Some((model, test));
        }
    }
    if let Some((model, test)) = &moons_model {
        robustness(model, test, args.seed, args.json)?;
    }
    forecasting(args.seed, args.json)?;
    if !args.json {
        println!(
            "\nnext: `mlp info --model {}/iris.safetensors`, or train on your own CSV:",
            args.out_dir.display()
        );
        println!("      mlp train --data your.csv --target COLUMN --out model.safetensors");
    }
    Ok(ExitCode::SUCCESS)
}

/// PGD accuracy and CROWN-certified accuracy of a classifier on its test set.
fn robustness(model: &Model, test: &Dataset, seed: u64, json: bool) -> Result<()> {
    use mlp::loss::BatchTargets;
    use mlp::metrics::accuracy;
    use mlp::robust::{self, AttackConfig, EpsUnits};
    use mlp::verify::bisect::{BisectConfig, Verdict, verify};
    use mlp::verify::{Bounds, LinearSpec, Method};
    let Targets::Classes { labels, .. } = test.targets() else {
        anyhow::bail!("the robustness demo needs a classifier");
    };
    let (rows, n) = (test.len(), test.n_features());
    let (attack_eps, certify_eps) = (0.3f32, 0.05f64);
    let clean = accuracy(labels, &model.predict_classes(test.features(), rows)?);
    let mut x = test.features().to_vec();
    model.scaler().apply(&mut x);
    let space = model.perturb_space(EpsUnits::Network, None)?;
    let config = AttackConfig {
        seed,
        ..AttackConfig::pgd(attack_eps, 20)
    };
    let mut adv = robust::attack::attack(
        model.network(),
        &x,
        rows,
        BatchTargets::Classes(labels),
        &model.loss(),
        &space,
        &config,
    )?;
    model.to_raw_units(&mut adv);
    let attacked = accuracy(labels, &model.predict_classes(&adv, rows)?);
    let bisect = BisectConfig {
        method: Method::Crown,
        split_budget: 20,
        seed,
        ..BisectConfig::default()
    };
    let mut certified = 0usize;
    for (r, &label) in labels.iter().enumerate() {
        let center: Vec<f64> = x[r * n..(r + 1) * n].iter().map(|&v| v as f64).collect();
        let bx = Bounds::around(&center, &vec![certify_eps; n])?;
        let spec = LinearSpec::class_margin(model.network().outputs(), label)?;
        if matches!(
            verify(model.network(), &bx, &spec, &bisect)?.verdict,
            Verdict::Certified
        ) {
            certified += 1;
        }
    }
    let certified_accuracy = certified as f64 / rows.max(1) as f64;
    if json {
        println!(
            "{}",
            serde_json::json!({"dataset": "two-moons", "robustness": {
                "clean_accuracy": clean, "pgd_eps": attack_eps, "adversarial_accuracy": attacked,
                "certify_eps": certify_eps, "certified_accuracy": certified_accuracy}})
        );
    } else {
        println!("== two-moons under attack ({rows} test samples, standardized input units)");
        println!("clean accuracy                     {clean:.4}");
        println!("PGD-20 accuracy at eps {attack_eps}          {attacked:.4}");
        println!(
            "CROWN-certified accuracy, eps {certify_eps}  {certified_accuracy:.4} ({certified}/{rows})"
        );
        println!("(mlp attack / mlp train --adversarial / mlp verify do this for any model)\n");
    }
    Ok(())
}

/// A rolling-origin backtest of the default forecaster on the embedded CO2 series: the
/// defaults of `mlp forecast fit` (model selection with ensembles, conformal intervals).
fn forecasting(seed: u64, json: bool) -> Result<()> {
    use mlp::forecast::backtest::{BacktestSettings, backtest};
    use mlp::forecast::intervals::IntervalMethod;
    use mlp::forecast::select::SelectSettings;
    use mlp::forecast::{EmbeddedSeries, ForecastSettings};
    let series = EmbeddedSeries::Co2.load()?;
    let mut settings = ForecastSettings::default();
    settings.train = settings.train.clone().with_seed(seed);
    settings.train = settings.train.clone().with_threads(1);
    settings.selection = Some(SelectSettings::default());
    let mut bt = BacktestSettings::default();
    bt.intervals = IntervalMethod::Conformal;
    let started = std::time::Instant::now();
    let (report, _) = backtest(&series, &settings, &bt)?;
    let seconds = started.elapsed().as_secs_f64();
    if json {
        println!(
            "{}",
            serde_json::json!({"dataset": "co2", "seconds": seconds, "backtest": report})
        );
    } else {
        println!(
            "== co2: monthly Mauna Loa CO2, 12-month forecasts against baselines ({seconds:.2}s)"
        );
        crate::commands::forecast::print_report(&report);
        println!("(mlp forecast fit / predict / backtest do this for your own series)");
    }
    Ok(())
}
