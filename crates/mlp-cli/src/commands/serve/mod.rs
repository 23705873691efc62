//! `mlp serve`: a trained model behind HTTP.
//!
//! The library stays synchronous; this module puts it on tokio + axum:
//! - `routes`: the endpoints (`POST /predict`, `GET /health`, `GET /metadata`, `GET /metrics`,
//!   `POST /reload`) and the JSON/CSV request and response formats;
//! - `encode`: request rows -> the model's feature matrix, through the library's
//!   [`mlp::model::Model::encode_table`], the function `mlp predict` uses, so a row predicts the
//!   same whether it came from a file or a request;
//! - `batcher`: one engine thread that gathers concurrent requests into one batch (up to
//!   `--max-batch` rows, waiting at most `--max-wait-us` for more) and runs the batched engine
//!   path off the async runtime's threads;
//! - `metrics`: Prometheus text exposition from atomic counters;
//! - `reload`: the served model behind an `RwLock<Arc<..>>` swap: `POST /reload` and SIGHUP
//!   load the file anew, a file that fails to load is rejected and the old model keeps serving,
//!   and a request holds the `Arc` of the model it started with until it is answered.

mod batcher;
mod encode;
mod metrics;
mod reload;
mod routes;

use anyhow::{Context, Result, bail};
use clap::Args;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// Flags of `mlp serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The trained model file (re-read on `POST /reload` and SIGHUP).
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port to listen on (0: any free port; the bound address is printed on standard output).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Engine threads for one batch (0: all cores). Batches run one at a time on a dedicated
    /// thread; with more than 1, large batches split their rows over this many threads.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub threads: usize,
    /// Threads of the HTTP runtime (0: all cores).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub http_threads: usize,
    /// Most rows the engine runs as one batch; concurrent requests are gathered up to this many
    /// rows (a larger request runs alone).
    #[arg(long, value_name = "B", default_value_t = 64)]
    pub max_batch: usize,
    /// Longest wait, in microseconds, for more requests to join a batch once one has arrived.
    #[arg(long, value_name = "U", default_value_t = 200)]
    pub max_wait_us: u64,
    /// Largest request body in bytes; a larger one gets 413.
    #[arg(long, value_name = "BYTES", default_value_t = 4 << 20)]
    pub max_body: usize,
    /// Most rows in one request; more get 413.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub max_rows: usize,
    /// A text category the training data did not have: listed in the response's `warnings`
    /// (warn) and encoded as all zeros, the same silently (ignore), or a 422 error (error).
    #[arg(long, value_name = "POLICY", default_value = "warn", value_parser = ["warn", "ignore", "error"])]
    pub unknown_category: String,
    /// Regression with a calibrated model (trained with --calibration-fraction): add conformal
    /// `lower`/`upper` bounds covering a new value with probability LEVEL (default 0.9 when the
    /// model has calibration).
    #[arg(long, value_name = "LEVEL", allow_negative_numbers = true)]
    pub interval: Option<f64>,
    /// Classification with a calibrated model: add `prediction_sets` (conformal label sets that
    /// hold the true label with probability LEVEL).
    #[arg(long, value_name = "LEVEL", allow_negative_numbers = true)]
    pub prediction_sets: Option<f64>,
    /// Requests waiting for the engine beyond which new ones get 503 (back-pressure).
    #[arg(long, value_name = "N", default_value_t = 4096)]
    pub queue: usize,
}

/// Settings every request sees, fixed at startup.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    pub max_rows: usize,
    pub max_body: usize,
}

pub fn run(args: ServeArgs) -> Result<ExitCode> {
    ignore_sigpipe();
    if args.max_batch == 0 {
        bail!("--max-batch must be at least 1");
    }
    if args.max_rows == 0 {
        bail!("--max-rows must be at least 1");
    }
    if args.queue == 0 {
        bail!("--queue must be at least 1");
    }
    let settings = reload::Settings::from_args(&args)?;
    // Load before binding: a server that cannot answer must not appear healthy.
    let loaded = reload::load(&args.model, &settings, 0)?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let engine_threads = if args.threads == 0 {
        cores
    } else {
        args.threads
    };
    let http_threads = if args.http_threads == 0 {
        cores
    } else {
        args.http_threads
    };
    let metrics = Arc::new(metrics::Metrics::new());
    let (batcher, worker) = batcher::start(
        batcher::Config {
            max_batch: args.max_batch,
            max_wait: Duration::from_micros(args.max_wait_us),
            queue: args.queue,
            threads: engine_threads,
        },
        Arc::clone(&metrics),
    )?;
    let state = Arc::new(routes::AppState {
        served: reload::Served::new(loaded, args.model.clone(), settings),
        batcher,
        metrics,
        limits: Limits {
            max_rows: args.max_rows,
            max_body: args.max_body,
        },
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(http_threads)
        .thread_name("mlp-serve-http")
        .enable_io()
        .enable_time()
        .build()
        .context("starting the HTTP runtime")?;
    let addr = format!("{}:{}", args.host, args.port);
    let result = runtime.block_on(serve(state, addr));
    // Every answered request has left the engine; the engine thread, idle now, ends with the
    // process (joining it could wait on a connection the grace period gave up on).
    drop(worker);
    // Connections that did not close in time are dropped here, not waited for.
    runtime.shutdown_timeout(Duration::from_millis(100));
    result.map(|()| ExitCode::SUCCESS)
}

/// `main` restores SIGPIPE's default action (so `mlp info | head` ends quietly), which would
/// kill a server when a client hangs up while its response is written with `writev` (no
/// `MSG_NOSIGNAL` there); a server must see that as an error on one connection instead.
fn ignore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: SIG_IGN is a valid disposition for SIGPIPE; called before the server's threads
    // start, and `signal` is process-wide and thread-safe anyway.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
}

/// Binds, announces the address, and serves until SIGTERM/SIGINT.
async fn serve(state: Arc<routes::AppState>, addr: String) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .with_context(|| format!("cannot listen on {addr} (is the port in use? try --port 0)"))?;
    let local: SocketAddr = listener.local_addr()?;
    {
        // Tests and scripts read the bound address (useful with --port 0) from this first line.
        let stdout = std::io::stdout();
        let mut lock = stdout.lock();
        writeln!(lock, "listening on http://{local}")?;
        lock.flush()?;
    }
    eprintln!(
        "mlp serve: {} (POST /predict, GET /health /metadata /metrics, POST /reload or SIGHUP)",
        state.served.path().display()
    );
    reload::spawn_sighup(Arc::clone(&state));
    let app = routes::router(Arc::clone(&state));
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        shutdown_signal().await;
        eprintln!("mlp serve: shutting down (finishing requests in flight)");
        let _ = stop_tx.send(());
    });
    let server = tokio::spawn(async move { server.await });
    // Once asked to stop, in-flight requests get a few seconds; keep-alive connections that stay
    // open past that do not hold the exit.
    let grace = async {
        let _ = stop_rx.await;
        tokio::time::sleep(Duration::from_secs(5)).await;
    };
    tokio::select! {
        r = server => {
            r.context("the HTTP server task failed")?.context("serving HTTP")?;
        }
        () = grace => {
            eprintln!("mlp serve: some connections were still open after 5 s; closing them");
        }
    }
    drop(state);
    Ok(())
}

/// Resolves on SIGTERM or SIGINT (Ctrl-C).
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(e) => {
                eprintln!("warning: cannot watch SIGTERM ({e}); only Ctrl-C stops the server");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
