//! How a training run ended, and the divergence watch that decides when a run has failed.

use super::trainer::TrainState;
use crate::network::Network;
use std::fmt;

/// How a call to [`train`](super::train) ended.
///
/// `Display` gives the sentence the command-line tool prints and the model file keeps.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Outcome {
    /// Every epoch (`epochs`) ran.
    MaxEpochs {
        /// With early stopping and a validation set: the 1-based epoch of the best validation
        /// loss, whose weights were restored (`None` when the last epoch was the best, or
        /// without validation).
        best_epoch: Option<usize>,
    },
    /// Early stopping triggered before the last epoch; the best weights were restored.
    EarlyStopped {
        /// 1-based epoch with the best validation loss.
        best_epoch: usize,
    },
    /// No validation set, and the training loss stopped improving (the final weights are kept).
    Converged,
    /// The training loss became non-finite or rose well above where the run started; training
    /// stopped and the weights of the epoch with the lowest loss were restored.
    Diverged {
        /// 1-based epoch in which divergence was detected.
        epoch: usize,
        /// What gave it away: a non-finite batch loss or gradient norm, or the epoch's mean
        /// training loss.
        loss: f64,
        /// The loss at the weights the run started from, for comparison.
        start_loss: f64,
        /// The epoch whose weights were kept: 1-based, or 0 for the weights training started
        /// from (the initial weights of a new run).
        kept_epoch: usize,
    },
    /// [`Hooks::should_stop`](super::Hooks::should_stop) asked to stop; the state can be resumed.
    Interrupted,
}

impl Outcome {
    /// Whether the run diverged.
    pub fn diverged(&self) -> bool {
        matches!(self, Outcome::Diverged { .. })
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::MaxEpochs { best_epoch: None } => write!(f, "completed all epochs"),
            Outcome::MaxEpochs {
                best_epoch: Some(b),
            } => write!(
                f,
                "completed all epochs; kept the weights of epoch {b} (best validation loss)"
            ),
            Outcome::EarlyStopped { best_epoch } => write!(
                f,
                "early stopped (validation loss stopped improving); kept the weights of epoch {best_epoch}"
            ),
            Outcome::Converged => write!(f, "converged (training loss stopped improving)"),
            Outcome::Diverged {
                epoch,
                loss,
                start_loss,
                kept_epoch,
            } => {
                if loss.is_finite() {
                    write!(
                        f,
                        "diverged at epoch {epoch}: training loss rose to {loss:.4e} from {start_loss:.4e} at the start"
                    )?;
                } else {
                    write!(
                        f,
                        "diverged at epoch {epoch}: the loss or its gradient is {loss}"
                    )?;
                }
                if *kept_epoch == 0 {
                    write!(f, "; kept the starting weights")
                } else {
                    write!(f, "; kept the weights of epoch {kept_epoch}")
                }
            }
            Outcome::Interrupted => write!(f, "interrupted"),
        }
    }
}

/// A run has diverged once an epoch's mean training loss exceeds this multiple of the loss at
/// the weights it started from. A healthy run, even a noisy or heavily regularized one, does not
/// end up twice as wrong as a random initialization; a learning rate that is far too high does.
pub(crate) const DIVERGENCE_FACTOR: f64 = 2.0;

/// Watches one call of the training loop for divergence and remembers the weights to fall back
/// to. It lives only for one call (not in [`TrainState`]), so it never changes the weights or the
/// checkpoint of a healthy run; a resumed run measures the rise from where it resumed.
#[derive(Debug, Clone)]
pub(super) struct DivergenceWatch {
    /// Loss at the starting weights (the larger of the clean loss and the first batch's loss).
    start_loss: f64,
    /// Lowest epoch training loss so far, its epoch (0: the starting weights) and the weights.
    best: (f64, usize, Vec<f32>),
    /// Whether to copy the weights of each improving epoch: only without a validation set,
    /// whose own best weights ([`TrainState::best`]) are the ones to keep otherwise.
    track: bool,
}

impl DivergenceWatch {
    /// Starts watching from the network's current weights, whose loss on the training data is
    /// `start_loss`, at `epoch` epochs completed.
    pub(super) fn new(net: &Network, start_loss: f64, epoch: usize, track: bool) -> Self {
        DivergenceWatch {
            start_loss,
            best: (start_loss, epoch, net.params.clone()),
            track,
        }
    }

    /// The loss of the first training batch, also computed on the starting weights: the larger
    /// of the two is the reference, so a lucky small batch cannot make a healthy run look
    /// diverged.
    pub(super) fn first_batch(&mut self, loss: f64) {
        if loss.is_finite() && loss > self.start_loss {
            self.start_loss = loss;
        }
    }

    /// Records an epoch's mean training loss; true when the run has diverged.
    pub(super) fn end_epoch(&mut self, net: &Network, epoch: usize, train_loss: f64) -> bool {
        // The small absolute margin keeps a start loss of (nearly) zero from flagging noise.
        if !train_loss.is_finite() || train_loss > DIVERGENCE_FACTOR * self.start_loss + 1e-3 {
            return true;
        }
        if self.track && train_loss < self.best.0 {
            self.best = (train_loss, epoch, net.params.clone());
        }
        false
    }

    /// Stops the run: restores the best weights (the best validation epoch when there is one,
    /// else the epoch with the lowest training loss) and says how it ended.
    pub(super) fn diverge(
        &self,
        net: &mut Network,
        state: &mut TrainState,
        epoch: usize,
        loss: f64,
    ) -> Outcome {
        let kept_epoch = match &state.best {
            Some((_, e, params)) => {
                net.params.copy_from_slice(params);
                *e
            }
            None => {
                net.params.copy_from_slice(&self.best.2);
                self.best.1
            }
        };
        state.finished = true;
        Outcome::Diverged {
            epoch,
            loss,
            start_loss: self.start_loss,
            kept_epoch,
        }
    }
}
