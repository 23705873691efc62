//! Counters and histograms for `GET /metrics`, in the Prometheus text exposition format.
//!
//! Everything is a relaxed atomic: recording costs a few uncontended increments per request,
//! and a scrape reads a slightly blurred but never torn picture.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

/// A monotonically increasing count.
#[derive(Debug, Default)]
pub(crate) struct Counter(AtomicU64);

impl Counter {
    /// Adds one.
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds `n`.
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A histogram with fixed upper bounds (plus `+Inf`).
#[derive(Debug)]
pub(crate) struct Histogram {
    bounds: &'static [f64],
    /// Per-bucket (not cumulative) counts; the last one is `+Inf`.
    buckets: Vec<AtomicU64>,
    /// Sum of observations, in millionths of the unit (integer atomics; exact enough).
    sum_micro: AtomicU64,
    count: AtomicU64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Histogram {
        Histogram {
            bounds,
            buckets: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum_micro: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }
    }

    /// Records one observation.
    pub fn observe(&self, v: f64) {
        let i = self
            .bounds
            .iter()
            .position(|&b| v <= b)
            .unwrap_or(self.bounds.len());
        if let Some(b) = self.buckets.get(i) {
            b.fetch_add(1, Ordering::Relaxed);
        }
        self.sum_micro
            .fetch_add((v * 1e6).max(0.0) as u64, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    fn write(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cumulative = 0;
        for (i, b) in self.buckets.iter().enumerate() {
            cumulative += b.load(Ordering::Relaxed);
            let le = self
                .bounds
                .get(i)
                .map_or_else(|| "+Inf".to_string(), |b| b.to_string());
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels}{sep}le=\"{le}\"}} {cumulative}"
            );
        }
        let braces = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(
            out,
            "{name}_sum{braces} {}",
            self.sum_micro.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(
            out,
            "{name}_count{braces} {}",
            self.count.load(Ordering::Relaxed)
        );
    }
}

/// The endpoints, as metric labels; anything else is `other`.
pub(crate) const ROUTES: [&str; 6] = [
    "/predict",
    "/health",
    "/metadata",
    "/metrics",
    "/reload",
    "other",
];

/// Index of `path` in [`ROUTES`].
pub(crate) fn route_index(path: &str) -> usize {
    ROUTES[..5]
        .iter()
        .position(|r| *r == path)
        .unwrap_or(ROUTES.len() - 1)
}

/// Seconds: 50 us to 10 s.
const LATENCY_BOUNDS: &[f64] = &[
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
    2.5, 10.0,
];

/// Rows or requests per engine batch.
const BATCH_BOUNDS: &[f64] = &[
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 4096.0,
];

/// Everything `/metrics` reports.
pub(crate) struct Metrics {
    /// Responses by route and status code (100..=599).
    responses: Vec<Vec<AtomicU64>>,
    latency: Vec<Histogram>,
    /// Rows per engine batch.
    pub batch_rows: Histogram,
    /// Requests per engine batch.
    pub batch_requests: Histogram,
    /// Rows predicted.
    pub rows: Counter,
    /// Reloads that took effect.
    pub reloads_ok: Counter,
    /// Reloads rejected (the old model kept serving).
    pub reloads_failed: Counter,
}

impl Metrics {
    pub fn new() -> Metrics {
        Metrics {
            responses: (0..ROUTES.len())
                .map(|_| (0..500).map(|_| AtomicU64::new(0)).collect())
                .collect(),
            latency: (0..ROUTES.len())
                .map(|_| Histogram::new(LATENCY_BOUNDS))
                .collect(),
            batch_rows: Histogram::new(BATCH_BOUNDS),
            batch_requests: Histogram::new(BATCH_BOUNDS),
            rows: Counter::default(),
            reloads_ok: Counter::default(),
            reloads_failed: Counter::default(),
        }
    }

    /// Records one answered request.
    pub fn record(&self, route: usize, status: u16, seconds: f64) {
        let code = usize::from(status.clamp(100, 599)) - 100;
        if let Some(c) = self.responses.get(route).and_then(|r| r.get(code)) {
            c.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(h) = self.latency.get(route) {
            h.observe(seconds);
        }
    }

    /// The text exposition (format 0.0.4).
    pub fn render(&self, generation: u64) -> String {
        let mut out = String::with_capacity(8192);
        out.push_str("# HELP mlp_http_requests_total HTTP requests answered, by route and status code.\n# TYPE mlp_http_requests_total counter\n");
        for (r, codes) in self.responses.iter().enumerate() {
            for (c, n) in codes.iter().enumerate() {
                let n = n.load(Ordering::Relaxed);
                if n > 0 {
                    let _ = writeln!(
                        out,
                        "mlp_http_requests_total{{route=\"{}\",status=\"{}\"}} {n}",
                        ROUTES[r],
                        c + 100
                    );
                }
            }
        }
        out.push_str("# HELP mlp_http_request_duration_seconds Time from request to response, by route.\n# TYPE mlp_http_request_duration_seconds histogram\n");
        for (r, h) in self.latency.iter().enumerate() {
            if h.count.load(Ordering::Relaxed) > 0 {
                h.write(
                    &mut out,
                    "mlp_http_request_duration_seconds",
                    &format!("route=\"{}\"", ROUTES[r]),
                );
            }
        }
        out.push_str("# HELP mlp_batch_rows Rows per engine batch (micro-batching gathers concurrent requests).\n# TYPE mlp_batch_rows histogram\n");
        self.batch_rows.write(&mut out, "mlp_batch_rows", "");
        out.push_str("# HELP mlp_batch_requests Requests per engine batch.\n# TYPE mlp_batch_requests histogram\n");
        self.batch_requests
            .write(&mut out, "mlp_batch_requests", "");
        let _ = writeln!(
            out,
            "# HELP mlp_predicted_rows_total Rows predicted.\n# TYPE mlp_predicted_rows_total counter\nmlp_predicted_rows_total {}",
            self.rows.get()
        );
        let _ = writeln!(
            out,
            "# HELP mlp_model_reloads_total Model reloads, by result (rejected: the old model kept serving).\n# TYPE mlp_model_reloads_total counter\nmlp_model_reloads_total{{result=\"ok\"}} {}\nmlp_model_reloads_total{{result=\"rejected\"}} {}",
            self.reloads_ok.get(),
            self.reloads_failed.get()
        );
        let _ = writeln!(
            out,
            "# HELP mlp_model_generation Loads of the model file so far (0: the one served at startup).\n# TYPE mlp_model_generation gauge\nmlp_model_generation {generation}"
        );
        out
    }
}
