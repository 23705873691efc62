//! `mlp demo`: the main job on built-in data, no files needed.
//!
//! Trains and evaluates three models — two-moons (generated classification), the iris CSV
//! (embedded; goes through the same CSV path as user files) and the wine CSV — prints their
//! metrics on held-out data, and writes each model file.

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
    let Targets::Classes { labels, n_classes } = &data.targets else {
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
        let epochs = session.state.history.len();
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
                train.n_features,
                model.n_classes(),
                epochs,
                seconds
            );
            crate::output::print_evaluation(&eval, &model);
            println!("model: {}\n", path.display());
        }
    }
    if !args.json {
        println!(
            "next: `mlp info --model {}/iris.safetensors`, or train on your own CSV:",
            args.out_dir.display()
        );
        println!("      mlp train --data your.csv --target COLUMN --out model.safetensors");
    }
    Ok(ExitCode::SUCCESS)
}
