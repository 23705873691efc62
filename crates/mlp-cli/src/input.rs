//! Where data comes from: CSV, NPY or IDX files, or a named data set, for training and for
//! prediction/evaluation with a trained model's stored encoding.

use anyhow::{Context, Result, bail};
use clap::Args;
use mlp::data::csv::{RawTable, read_csv};
use mlp::data::datasets::{NamedDataset, Split, class_names, load_named};
use mlp::data::preprocess::{
    Impute, TargetEncoder, TargetKind, UnknownCategory, apply_tabular_with,
};
use mlp::data::{Dataset, Targets, idx, npy};
use mlp::model::{InputSchema, Model};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Flags that say where the data is and which columns mean what.
#[derive(Debug, Clone, Args, Serialize, Deserialize, Default)]
pub struct DataArgs {
    /// Data file: .csv/.tsv/.txt (a header row is required), .npy (features), or an IDX image
    /// file (MNIST format, optionally gzipped).
    #[arg(long, value_name = "FILE", conflicts_with = "dataset")]
    pub data: Option<PathBuf>,
    /// Target column(s) of a CSV, by name or 0-based index, comma-separated for several
    /// regression targets; for .npy/IDX data, the file holding the targets/labels.
    #[arg(long, value_name = "COL")]
    pub target: Option<String>,
    /// A named data set instead of --data: fashion-mnist or mnist (IDX files from $MLP_DATA_DIR or
    /// /usr/share/datasets).
    #[arg(long, value_name = "NAME")]
    pub dataset: Option<String>,
    /// CSV feature columns (default: every column but the target, weight and --ignore columns).
    #[arg(long, value_name = "COLS", value_delimiter = ',')]
    pub features: Option<Vec<String>>,
    /// CSV columns to leave out of the features.
    #[arg(long, value_name = "COLS", value_delimiter = ',')]
    pub ignore: Vec<String>,
    /// CSV delimiter (default: detected from , ; tab |).
    #[arg(long, value_name = "CHAR")]
    pub delimiter: Option<char>,
    /// Fill missing feature cells (default: missing cells are an error).
    #[arg(long, value_name = "HOW", value_parser = ["mean", "median", "most-frequent"])]
    pub impute: Option<String>,
    /// CSV column of per-sample weights.
    #[arg(long, value_name = "COL")]
    pub weight_column: Option<String>,
}

impl DataArgs {
    fn delimiter(&self) -> Result<Option<u8>> {
        match self.delimiter {
            None => Ok(None),
            Some('\t') => Ok(Some(b'\t')),
            Some(c) if c.is_ascii() => Ok(Some(c as u8)),
            Some(c) => bail!("--delimiter must be a single ASCII character, got '{c}'"),
        }
    }

    fn impute(&self) -> Result<Impute> {
        Ok(match self.impute.as_deref() {
            None => Impute::None,
            Some(s) => s.parse::<Impute>()?,
        })
    }
}

/// The kind of file, from its extension (or contents for IDX).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileKind {
    Csv,
    Npy,
    Idx,
}

fn file_kind(path: &Path) -> FileKind {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    if name.ends_with(".npy") {
        FileKind::Npy
    } else if name.contains("idx") || name.ends_with("-ubyte") {
        FileKind::Idx
    } else {
        FileKind::Csv
    }
}

/// Training data, encoded, with how it was encoded.
pub struct TrainingData {
    /// Encoded training samples (targets encoded; features not yet scaled).
    pub train: Dataset,
    /// A held-out test set (named data sets), for the report after training.
    pub test: Option<Dataset>,
    /// How raw input is encoded.
    pub input: InputSchema,
    /// Target encoding.
    pub target: TargetEncoder,
    /// Encoded columns left unscaled (one-hot blocks).
    pub passthrough: Vec<bool>,
    /// A short description of the source.
    pub source: String,
    /// The CSV table, when the data came from one (for time-ordered splits).
    pub table: Option<RawTable>,
}

fn classes_encoder(name: &str, n: usize, names: Option<Vec<String>>) -> TargetEncoder {
    TargetEncoder::Classes {
        name: name.to_string(),
        labels: names
            .filter(|v| v.len() == n)
            .unwrap_or_else(|| (0..n).map(|c| c.to_string()).collect()),
    }
}

fn matrix_schema(n: usize, prefix: &str, source: &str, value_scale: Option<f32>) -> InputSchema {
    InputSchema::Matrix {
        feature_names: (0..n).map(|i| format!("{prefix}{i}")).collect(),
        source: source.to_string(),
        value_scale,
    }
}

/// Loads and encodes training data per the flags.
pub fn load_training(args: &DataArgs, task: Option<TargetKind>) -> Result<TrainingData> {
    if let Some(name) = &args.dataset {
        let named: NamedDataset = name.parse()?;
        let train = load_named(named, Split::Train, true)?;
        let test = load_named(named, Split::Test, true)?;
        if task == Some(TargetKind::Regress) {
            bail!("{name} is a classification data set; drop --task regress");
        }
        let n_classes = match train.targets() {
            Targets::Classes { n_classes, .. } => *n_classes,
            _ => 0,
        };
        return Ok(TrainingData {
            input: matrix_schema(train.n_features(), "pixel", name, Some(1.0 / 255.0)),
            target: classes_encoder("label", n_classes, Some(class_names(named))),
            passthrough: Vec::new(),
            source: name.clone(),
            train,
            test: Some(test),
            table: None,
        });
    }
    let Some(path) = &args.data else {
        bail!("no training data: give --data FILE with --target COL, or --dataset fashion-mnist");
    };
    let Some(target) = &args.target else {
        bail!(
            "no target: give --target COL (the column to predict; for .npy/IDX data, the targets file)"
        );
    };
    match file_kind(path) {
        FileKind::Csv => {
            let table = read_csv(path, args.delimiter()?)?;
            encode_training_csv(args, table, task)
        }
        FileKind::Npy => {
            let classify = task != Some(TargetKind::Regress);
            let data = npy::load_npy_pair(path, Path::new(target), classify).or_else(|e| {
                if task.is_none() {
                    npy::load_npy_pair(path, Path::new(target), false)
                } else {
                    Err(e)
                }
            })?;
            let (data, enc) = mlp::estimator::encode_targets(&data, None)?;
            Ok(TrainingData {
                input: matrix_schema(data.n_features(), "x", "npy", None),
                target: enc,
                passthrough: Vec::new(),
                source: path.display().to_string(),
                train: data,
                test: None,
                table: None,
            })
        }
        FileKind::Idx => {
            if task == Some(TargetKind::Regress) {
                bail!("IDX data holds class labels; drop --task regress");
            }
            let data = idx::load_idx_pair(path, Path::new(target), true)?;
            let n_classes = match data.targets() {
                Targets::Classes { n_classes, .. } => *n_classes,
                _ => 0,
            };
            Ok(TrainingData {
                input: matrix_schema(data.n_features(), "pixel", "idx", Some(1.0 / 255.0)),
                target: classes_encoder("label", n_classes, None),
                passthrough: Vec::new(),
                source: path.display().to_string(),
                train: data,
                test: None,
                table: None,
            })
        }
    }
}

/// Encodes a training table (a CSV, or some of its rows) per the flags: the library's table path
/// (what `MlpBuilder::fit_table` runs), so the CLI and a program using the crate encode a CSV
/// identically, and `mlp cv` encodes each fold's rows as `mlp train` would a file of them.
pub fn encode_training_csv(
    args: &DataArgs,
    table: RawTable,
    task: Option<TargetKind>,
) -> Result<TrainingData> {
    let Some(target) = &args.target else {
        bail!("no target: give --target COL (the column to predict)");
    };
    let mut columns = mlp::table::TableColumns::default();
    columns.features = args.features.clone();
    columns.ignore = args.ignore.clone();
    columns.weight_column = args.weight_column.clone();
    columns.impute = args.impute()?;
    let enc = mlp::table::encode_training_table(&table, &columns.feature_config(target), task)?;
    Ok(TrainingData {
        passthrough: enc.passthrough,
        input: enc.input,
        target: enc.target,
        train: enc.data,
        test: None,
        source: table.path().display().to_string(),
        table: Some(table),
    })
}

/// A `--delimiter` flag as a byte (tab and other ASCII characters).
pub fn delimiter_byte(delimiter: Option<char>) -> Result<Option<u8>> {
    match delimiter {
        None => Ok(None),
        Some(c) if c.is_ascii() => Ok(Some(c as u8)),
        Some(c) => bail!("--delimiter must be a single ASCII character, got '{c}'"),
    }
}

/// Flags for data given to a trained model.
#[derive(Debug, Clone, Args)]
pub struct InferenceDataArgs {
    /// Input file: a CSV with the model's input columns (matched by name; extra columns are
    /// ignored), or .npy / IDX for models trained on a matrix.
    #[arg(long, value_name = "FILE", conflicts_with = "dataset")]
    pub data: Option<PathBuf>,
    /// A named data set: fashion-mnist or mnist.
    #[arg(long, value_name = "NAME")]
    pub dataset: Option<String>,
    /// Which split of the named data set.
    #[arg(long, value_name = "SPLIT", default_value = "test", value_parser = ["train", "test"])]
    pub split: String,
    /// For .npy/IDX input, the targets/labels file (evaluation).
    #[arg(long, value_name = "FILE")]
    pub target: Option<PathBuf>,
    /// CSV delimiter (default: detected).
    #[arg(long, value_name = "CHAR")]
    pub delimiter: Option<char>,
    /// CSV column of per-sample weights (evaluation).
    #[arg(long, value_name = "COL")]
    pub weight_column: Option<String>,
}

/// Encoded input for a trained model, with targets when they were available.
pub struct InferenceData {
    /// Encoded features (unscaled; the model scales them).
    pub features: Vec<f32>,
    /// Number of rows.
    pub rows: usize,
    /// Encoded targets, when the input has them.
    pub targets: Option<Dataset>,
}

/// Reads input for a trained model; with `need_targets`, the targets too. Categories the
/// training data did not have follow `unknown` (a warning per column and value under `Warn`).
pub fn load_inference(
    args: &InferenceDataArgs,
    model: &Model,
    need_targets: bool,
    unknown: UnknownCategory,
) -> Result<InferenceData> {
    let delimiter = match args.delimiter {
        None => None,
        Some(c) if c.is_ascii() => Some(c as u8),
        Some(c) => bail!("--delimiter must be a single ASCII character, got '{c}'"),
    };
    if let Some(name) = &args.dataset {
        let named: NamedDataset = name.parse()?;
        let split = if args.split == "train" {
            Split::Train
        } else {
            Split::Test
        };
        let data = load_named(named, split, true)?;
        check_width(model, data.n_features(), name)?;
        return Ok(InferenceData {
            features: data.features().to_vec(),
            rows: data.len(),
            targets: Some(data),
        });
    }
    let Some(path) = &args.data else {
        bail!("no input: give --data FILE or --dataset NAME");
    };
    match (model.input(), file_kind(path)) {
        (InputSchema::Tabular { preprocessor }, _) => {
            let table = read_csv(path, delimiter)?;
            if need_targets {
                let (mut data, unseen) = apply_tabular_with(
                    preprocessor,
                    model.target(),
                    &table,
                    args.weight_column.as_deref(),
                    unknown,
                )?;
                for u in unseen {
                    eprintln!("warning: {u}");
                }
                if model.task() == mlp::model::Task::MultiLabel {
                    to_multilabel(&mut data, model.target())?;
                }
                Ok(InferenceData {
                    features: data.features().to_vec(),
                    rows: data.len(),
                    targets: Some(data),
                })
            } else {
                let features = preprocessor.transform(&table)?;
                Ok(InferenceData {
                    features,
                    rows: table.n_rows(),
                    targets: None,
                })
            }
        }
        (InputSchema::Matrix { .. }, FileKind::Npy) => {
            let x = npy::read_npy(path)?;
            let (rows, width) = match x.shape.as_slice() {
                [r, c] => (*r, *c),
                [r] => (*r, 1),
                other => bail!(
                    "{}: expected a 2-D array of features, got shape {other:?}",
                    path.display()
                ),
            };
            check_width(model, width, &path.display().to_string())?;
            let targets = match (&args.target, need_targets) {
                (Some(t), _) => {
                    let classify = model.task() == mlp::model::Task::Classification;
                    let data = npy::load_npy_pair(path, t, classify)?;
                    Some(encode_like(model, data)?)
                }
                (None, true) => bail!("evaluation needs targets: add --target FILE.npy"),
                (None, false) => None,
            };
            Ok(InferenceData {
                features: x.data,
                rows,
                targets,
            })
        }
        (InputSchema::Matrix { .. }, FileKind::Idx) => {
            let Some(labels) = &args.target else {
                if need_targets {
                    bail!("evaluation needs labels: add --target LABELS-idx1-ubyte[.gz]");
                }
                let arr = idx::read_idx(path)?;
                let rows = arr.dims.first().copied().unwrap_or(0);
                let width: usize = arr.dims.iter().skip(1).product();
                check_width(model, width, &path.display().to_string())?;
                let features = arr.data.iter().map(|&b| b as f32 / 255.0).collect();
                return Ok(InferenceData {
                    features,
                    rows,
                    targets: None,
                });
            };
            let data = idx::load_idx_pair(path, labels, true)?;
            check_width(model, data.n_features(), &path.display().to_string())?;
            Ok(InferenceData {
                features: data.features().to_vec(),
                rows: data.len(),
                targets: Some(data),
            })
        }
        (InputSchema::Matrix { source, .. }, FileKind::Csv) => bail!(
            "{}: this model was trained on a numeric matrix ({source}); pass --data FILE.npy or --dataset NAME",
            path.display()
        ),
    }
}

fn check_width(model: &Model, width: usize, what: &str) -> Result<()> {
    if width != model.n_features() {
        bail!(
            "{what}: {width} features per sample, but the model takes {}",
            model.n_features()
        );
    }
    Ok(())
}

/// Encodes raw NPY targets the way the model's target encoder did at training time.
fn encode_like(model: &Model, mut data: Dataset) -> Result<Dataset> {
    let mut targets = data.targets().clone();
    if let (
        TargetEncoder::Standardized { mean, scale, .. },
        Targets::Values { values, n_outputs },
    ) = (model.target(), &mut targets)
    {
        let k = *n_outputs;
        if k != mean.len() {
            bail!(
                "the targets have {k} columns, the model predicts {}",
                mean.len()
            );
        }
        for row in values.chunks_exact_mut(k) {
            for j in 0..k {
                row[j] = ((row[j] as f64 - mean[j]) / scale[j]) as f32;
            }
        }
    }
    data.set_targets(targets)?;
    Ok(data)
}

/// Reads a TOML or JSON file into `T`, with the file named in errors.
pub fn read_config<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let is_json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    if is_json {
        serde_json::from_str(&text).map_err(|e| {
            anyhow::anyhow!(
                "{}, line {}, column {}: invalid config: {e}",
                path.display(),
                e.line(),
                e.column()
            )
        })
    } else {
        toml::from_str(&text).map_err(|e| {
            let (line, column) = e.span().map_or((0, 0), |span| {
                let before = &text[..span.start.min(text.len())];
                (
                    before.matches('\n').count() + 1,
                    before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1,
                )
            });
            anyhow::anyhow!(
                "{}, line {line}, column {column}: invalid config: {}",
                path.display(),
                e.message().trim()
            )
        })
    }
}

/// Turns 0/1 value targets into multi-label targets (for `--loss multilabel_bce`), undoing any
/// standardization first; the returned encoder keeps the label column names with identity scaling.
pub fn to_multilabel(data: &mut Dataset, enc: &TargetEncoder) -> Result<TargetEncoder> {
    let TargetEncoder::Standardized { names, .. } = enc else {
        bail!("multi-label training needs one 0/1 target column per label (--target a,b,c)");
    };
    let Targets::Values { values, n_outputs } = data.targets() else {
        bail!("multi-label training needs numeric 0/1 target columns");
    };
    let mut raw = values.clone();
    enc.decode_values(&mut raw);
    for (i, v) in raw.iter_mut().enumerate() {
        let r = v.round();
        if (*v - r).abs() > 1e-4 || !(r == 0.0 || r == 1.0) {
            bail!(
                "multi-label targets must be 0 or 1; column '{}' of sample {} holds {v}",
                names.get(i % n_outputs.max(&1)).map_or("?", |s| s.as_str()),
                i / n_outputs.max(&1) + 1
            );
        }
        *v = r;
    }
    let n_labels = *n_outputs;
    data.set_targets(Targets::MultiLabel {
        values: raw,
        n_labels,
    })?;
    Ok(TargetEncoder::Standardized {
        names: names.clone(),
        mean: vec![0.0; names.len()],
        scale: vec![1.0; names.len()],
    })
}
