//! Dynamic micro-batching: requests are encoded on the HTTP threads, queued, and run by one
//! engine thread in batches.
//!
//! The engine thread takes the first waiting request, then keeps taking more while they fit in
//! `max_batch` rows and were made for the same model, waiting at most `max_wait` after the first
//! for stragglers, and only while some request is known to be on its way (read or being
//! encoded): a lone client is answered at once, and under load batches also form by themselves
//! from what queued up while the previous batch ran. One batch is one call of the batched engine path
//! ([`mlp::model::Model::predictions_with`], the one `mlp predict` takes); each request is then
//! answered with its own rows of the shared result. The engine runs inside a rayon pool of
//! `threads` threads, so a large batch may split its rows, while the HTTP runtime's threads
//! never run the network.
//!
//! A batch of one single row is run as two copies of that row: a one-row product takes the
//! engine's dot-product path, whose summation order differs from the GEMM's, and a row must
//! predict bit-identically whether it arrived alone, with others, or in a file for `mlp predict`.

use super::metrics::Metrics;
use super::reload::Loaded;
use anyhow::{Context, Result};
use mlp::table::Predictions;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TryRecvError, TrySendError};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// Batching settings.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub max_batch: usize,
    pub max_wait: Duration,
    pub queue: usize,
    pub threads: usize,
}

/// One request's rows, encoded, waiting for the engine.
pub(crate) struct Job {
    /// The model the rows were encoded for (and will be predicted by).
    pub model: Arc<Loaded>,
    /// `rows x n_features`, unscaled.
    pub features: Vec<f32>,
    pub rows: usize,
    pub reply: oneshot::Sender<Result<Answer, String>>,
}

/// A request's share of a batch's predictions: rows `start..start + rows`.
pub(crate) struct Answer {
    pub predictions: Arc<Predictions>,
    pub start: usize,
    pub rows: usize,
}

/// The HTTP side's handle on the engine queue.
pub(crate) struct Batcher {
    tx: SyncSender<Job>,
    /// Requests being read or encoded, not yet queued: the engine waits for stragglers only
    /// while there are some, so a lone client never pays `max_wait`.
    coming: Arc<AtomicUsize>,
}

/// Counts a request as on its way to the engine until dropped.
pub(crate) struct Coming(Arc<AtomicUsize>);

impl Drop for Coming {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Why a job was not queued.
pub(crate) enum SubmitError {
    /// The queue is full: the engine is behind.
    Full,
    /// The engine thread is gone.
    Closed,
}

impl Batcher {
    /// Announces a request that will be queued soon (or fail); see [`Batcher::coming`].
    pub fn announce(&self) -> Coming {
        self.coming.fetch_add(1, Ordering::Relaxed);
        Coming(Arc::clone(&self.coming))
    }

    /// Queues a job without blocking.
    pub fn submit(&self, job: Job) -> Result<(), SubmitError> {
        self.tx.try_send(job).map_err(|e| match e {
            TrySendError::Full(_) => SubmitError::Full,
            TrySendError::Disconnected(_) => SubmitError::Closed,
        })
    }
}

/// Starts the engine thread.
pub(crate) fn start(
    config: Config,
    metrics: Arc<Metrics>,
) -> Result<(Batcher, std::thread::JoinHandle<()>)> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Job>(config.queue);
    let coming = Arc::new(AtomicUsize::new(0));
    let waiting_for = Arc::clone(&coming);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(config.threads.max(1))
        .thread_name(|i| format!("mlp-serve-engine-{i}"))
        .build()
        .context("starting the engine threads")?;
    let handle = std::thread::Builder::new()
        .name("mlp-serve-batcher".into())
        .spawn(move || {
            // The loop runs on one of the pool's threads, so the engine's row splitting (when
            // threads > 1) uses this pool and nothing else.
            pool.install(move || run(&rx, &config, &metrics, &waiting_for));
        })
        .context("starting the engine thread")?;
    Ok((Batcher { tx, coming }, handle))
}

/// The engine loop: gather, predict, answer; ends when every sender is gone.
fn run(rx: &Receiver<Job>, config: &Config, metrics: &Metrics, coming: &AtomicUsize) {
    let mut held: Option<Job> = None;
    let mut features: Vec<f32> = Vec::new();
    let mut batch: Vec<Job> = Vec::with_capacity(config.max_batch);
    loop {
        let first = match held.take() {
            Some(j) => j,
            None => match rx.recv() {
                Ok(j) => j,
                Err(_) => return,
            },
        };
        let deadline = Instant::now() + config.max_wait;
        let mut rows = first.rows;
        batch.push(first);
        while rows < config.max_batch {
            let next = match rx.try_recv() {
                Ok(j) => j,
                Err(TryRecvError::Disconnected) => break,
                Err(TryRecvError::Empty) => {
                    let now = Instant::now();
                    // Nothing is on its way: waiting would only add latency.
                    if now >= deadline || coming.load(Ordering::Relaxed) == 0 {
                        break;
                    }
                    match rx.recv_timeout(deadline - now) {
                        Ok(j) => j,
                        Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
                    }
                }
            };
            let same_model = batch
                .first()
                .is_some_and(|f| Arc::ptr_eq(&f.model, &next.model));
            if !same_model || rows + next.rows > config.max_batch {
                // It starts the next batch (a reload happened, or it does not fit).
                held = Some(next);
                break;
            }
            rows += next.rows;
            batch.push(next);
        }
        run_batch(&mut batch, rows, &mut features, metrics);
    }
}

/// Predicts one batch and answers each of its jobs (draining `batch`).
fn run_batch(batch: &mut Vec<Job>, rows: usize, features: &mut Vec<f32>, metrics: &Metrics) {
    let Some(model) = batch.first().map(|j| Arc::clone(&j.model)) else {
        return;
    };
    metrics.batch_rows.observe(rows as f64);
    metrics.batch_requests.observe(batch.len() as f64);
    let result = if batch.len() == 1 && rows != 1 {
        // A lone request: no copy of its features.
        let job = &batch[0];
        model
            .model
            .predictions_with(&job.features, job.rows, &model.opts)
    } else {
        features.clear();
        for job in batch.iter() {
            features.extend_from_slice(&job.features);
        }
        let mut n = rows;
        if rows == 1 {
            // See the module docs: one row runs as two for GEMM-path numerics.
            features.extend_from_within(..);
            n = 2;
        }
        model.model.predictions_with(features, n, &model.opts)
    };
    match result {
        Ok(p) => {
            metrics.rows.add(rows as u64);
            let p = Arc::new(p);
            let mut start = 0;
            for job in batch.drain(..) {
                let answer = Answer {
                    predictions: Arc::clone(&p),
                    start,
                    rows: job.rows,
                };
                start += job.rows;
                // A client that hung up has dropped its receiver; nothing to do.
                let _ = job.reply.send(Ok(answer));
            }
        }
        Err(e) => {
            let msg = format!("prediction failed: {e}");
            for job in batch.drain(..) {
                let _ = job.reply.send(Err(msg.clone()));
            }
        }
    }
}
