//! Training hooks for the command line: a progress bar on a terminal (or, when stderr is not a
//! terminal, a log line every 10% of the epochs; every epoch with `--verbose`), Ctrl-C handling,
//! and periodic checkpoints.

use indicatif::{ProgressBar, ProgressStyle};
use mlp::network::Network;
use mlp::train::{EpochRecord, Hooks, TrainState};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set by the Ctrl-C handler; polled after every batch.
pub fn interrupt_flag() -> Arc<AtomicBool> {
    static FLAG: std::sync::OnceLock<Arc<AtomicBool>> = std::sync::OnceLock::new();
    FLAG.get_or_init(|| {
        let flag = Arc::new(AtomicBool::new(false));
        let f = flag.clone();
        // If a handler cannot be installed (e.g. one already exists), Ctrl-C simply kills the
        // process; the atomic model writes still guarantee no half-written file.
        let _ = ctrlc::set_handler(move || {
            if f.swap(true, Ordering::SeqCst) {
                // Second Ctrl-C: stop now.
                std::process::exit(130);
            }
        });
        flag
    })
    .clone()
}

/// What to write at the end of each epoch.
pub type EpochSaver = Box<dyn FnMut(&Network, &TrainState) -> mlp::Result<()> + Send>;

/// Progress display + interruption + checkpoints.
pub struct CliHooks {
    bar: Option<ProgressBar>,
    log_lines: bool,
    /// Log every epoch instead of every 10%.
    verbose: bool,
    epochs: usize,
    interrupt: Arc<AtomicBool>,
    checkpoint_every: usize,
    saver: Option<EpochSaver>,
    /// Path of the last checkpoint written.
    pub last_checkpoint: Option<PathBuf>,
    metric_name: &'static str,
}

impl CliHooks {
    /// Hooks for a run of `epochs` epochs; `quiet` shows nothing, `verbose` logs every epoch.
    pub fn new(epochs: usize, quiet: bool, verbose: bool, metric_name: &'static str) -> Self {
        let tty = std::io::stderr().is_terminal();
        CliHooks {
            bar: None,
            log_lines: !quiet && !tty,
            verbose: verbose && !quiet,
            epochs,
            interrupt: interrupt_flag(),
            checkpoint_every: 1,
            saver: None,
            last_checkpoint: None,
            metric_name,
        }
        .with_bar(!quiet && tty)
    }

    fn with_bar(mut self, show: bool) -> Self {
        if show {
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template("epoch {prefix:>4} [{bar:30}] {pos}/{len} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            self.bar = Some(bar);
        }
        self
    }

    /// Saves a checkpoint through `saver` every `every` epochs.
    pub fn with_checkpoints(mut self, every: usize, saver: EpochSaver, path: PathBuf) -> Self {
        self.checkpoint_every = every.max(1);
        self.saver = Some(saver);
        self.last_checkpoint = Some(path);
        self
    }

    /// Whether Ctrl-C was pressed.
    pub fn interrupted(&self) -> bool {
        self.interrupt.load(Ordering::SeqCst)
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

impl Hooks for CliHooks {
    fn on_batch(&mut self, epoch: usize, batch: usize, n_batches: usize, loss: f64) {
        if let Some(bar) = &self.bar {
            if batch == 0 || bar.length() != Some(n_batches as u64) {
                bar.set_length(n_batches as u64);
                bar.set_prefix(format!("{epoch}/{}", self.epochs));
            }
            bar.set_position(batch as u64 + 1);
            if batch.is_multiple_of(16) {
                bar.set_message(format!("loss {loss:.4}"));
            }
        }
    }

    fn on_epoch_end(
        &mut self,
        record: &EpochRecord,
        net: &Network,
        state: &TrainState,
    ) -> mlp::Result<()> {
        if self.logs_epoch(record.epoch, state.finished) {
            self.log(record);
        }
        if let Some(saver) = self.saver.as_mut()
            && (record.epoch.is_multiple_of(self.checkpoint_every) || state.finished)
        {
            saver(net, state)?;
        }
        Ok(())
    }

    fn should_stop(&mut self) -> bool {
        self.interrupted()
    }
}

impl CliHooks {
    /// Whether epoch `epoch` gets a log line: every epoch with `--verbose`, otherwise the
    /// epochs that complete another tenth of the run, and the last one.
    fn logs_epoch(&self, epoch: usize, finished: bool) -> bool {
        let step = self.epochs.div_ceil(10).max(1);
        self.verbose || finished || epoch.is_multiple_of(step) || epoch >= self.epochs
    }

    /// Prints an epoch's line above the bar, or to stderr without one.
    fn log(&self, record: &EpochRecord) {
        let line = format!(
            "epoch {:>4}/{}  train loss {:.4}{}{}  lr {:.2e}  {:.2}s",
            record.epoch,
            self.epochs,
            record.train_loss,
            record
                .val_loss
                .map_or(String::new(), |v| format!("  val loss {v:.4}")),
            record.val_metric.map_or(String::new(), |m| format!(
                "  val {} {m:.4}",
                self.metric_name
            )),
            record.lr,
            record.seconds
        );
        if let Some(bar) = &self.bar {
            bar.println(line);
        } else if self.log_lines {
            eprintln!("{line}");
        }
    }
}
