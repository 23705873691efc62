//! Checkpoints: a model file plus everything needed to resume training bit-identically —
//! optimizer moments, schedule and early-stopping state, the position inside the current epoch,
//! the best weights so far, and the caller's own resume information (e.g. the command line).
//!
//! Layout: the model's tensors and metadata, plus tensors `optimizer.<buffer>` and
//! `best.params`, and a `checkpoint` metadata entry (JSON).

use crate::io::TensorFile;
use crate::model::Model;
use crate::optim::OptimizerState;
use crate::optim::schedule::ScheduleState;
use crate::train::{EpochRecord, TrainState};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct CheckpointDoc {
    epoch: usize,
    next_batch: usize,
    partial_loss: (f64, f64),
    partial_seconds: f64,
    optimizer_step: u64,
    optimizer_buffers: Vec<String>,
    schedule: ScheduleState,
    best: Option<(f64, usize)>,
    bad_epochs: usize,
    #[serde(default)]
    best_train_loss: Option<f64>,
    history: Vec<EpochRecord>,
    finished: bool,
    resume: serde_json::Value,
}

/// Writes a checkpoint atomically.
pub fn save(
    path: &Path,
    model: &Model,
    state: &TrainState,
    resume: &serde_json::Value,
) -> Result<()> {
    let mut file = model.to_tensor_file()?;
    for (name, buf) in &state.optimizer.buffers {
        file.push(format!("optimizer.{name}"), vec![buf.len()], buf.clone());
    }
    if let Some((_, _, params)) = &state.best {
        file.push("best.params", vec![params.len()], params.clone());
    }
    let doc = CheckpointDoc {
        epoch: state.epoch,
        next_batch: state.next_batch,
        partial_loss: state.partial_loss,
        partial_seconds: state.partial_seconds,
        optimizer_step: state.optimizer.step,
        optimizer_buffers: state
            .optimizer
            .buffers
            .iter()
            .map(|(n, _)| n.clone())
            .collect(),
        schedule: state.schedule.clone(),
        best: state.best.as_ref().map(|(l, e, _)| (*l, *e)),
        bad_epochs: state.bad_epochs,
        best_train_loss: state.best_train_loss,
        history: state.history.clone(),
        finished: state.finished,
        resume: resume.clone(),
    };
    let json = serde_json::to_string(&doc)
        .map_err(|e| Error::InvalidData(format!("cannot encode checkpoint: {e}")))?;
    file.metadata.insert("checkpoint".into(), json);
    file.write(path)
}

/// Reads a checkpoint: the model (current weights), the training state and the resume info.
pub fn load(path: &Path) -> Result<(Model, TrainState, serde_json::Value)> {
    from_tensor_file(TensorFile::read(path)?, path)
}

/// Like [`load`], from a checkpoint file held in memory; `path` only names it in error messages.
pub fn load_from_bytes(
    bytes: &[u8],
    path: &Path,
) -> Result<(Model, TrainState, serde_json::Value)> {
    from_tensor_file(TensorFile::from_bytes(bytes, path)?, path)
}

/// The checkpoint in `file` (read from `path`, which names it in error messages).
fn from_tensor_file(
    mut file: TensorFile,
    path: &Path,
) -> Result<(Model, TrainState, serde_json::Value)> {
    let bad = |msg: String| Error::format(path, msg);
    let json = file
        .metadata
        .get("checkpoint")
        .cloned()
        .ok_or_else(|| bad("not a checkpoint (a model file has no training state); pass a file written by `checkpoint`".into()))?;
    let doc: CheckpointDoc = serde_json::from_str(&json)
        .map_err(|e| bad(format!("corrupt checkpoint metadata: {e}")))?;
    let mut buffers = Vec::new();
    for name in &doc.optimizer_buffers {
        let (_, data) = file
            .take(&format!("optimizer.{name}"))
            .ok_or_else(|| bad(format!("missing optimizer buffer '{name}'")))?;
        buffers.push((name.clone(), data));
    }
    let best = match doc.best {
        Some((loss, epoch)) => {
            let (_, params) = file
                .take("best.params")
                .ok_or_else(|| bad("missing best.params".into()))?;
            Some((loss, epoch, params))
        }
        None => None,
    };
    let model = Model::from_tensor_file(&file, path)?;
    if buffers
        .iter()
        .any(|(_, b)| b.len() != model.network.n_params())
        || best
            .as_ref()
            .is_some_and(|b| b.2.len() != model.network.n_params())
    {
        return Err(bad(
            "optimizer state does not match the network's parameter count".into(),
        ));
    }
    let state = TrainState {
        epoch: doc.epoch,
        next_batch: doc.next_batch,
        partial_loss: doc.partial_loss,
        partial_seconds: doc.partial_seconds,
        optimizer: OptimizerState {
            step: doc.optimizer_step,
            buffers,
        },
        schedule: doc.schedule,
        best,
        bad_epochs: doc.bad_epochs,
        best_train_loss: doc.best_train_loss,
        history: doc.history,
        finished: doc.finished,
    };
    Ok((model, state, doc.resume))
}
