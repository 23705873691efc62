//! The endpoints and the response formats.

use super::Limits;
use super::batcher::{Answer, Batcher, Job, SubmitError};
use super::encode::{ApiError, Encoded, encode_csv, encode_json};
use super::metrics::{Metrics, route_index};
use super::reload::{Loaded, Served, reload_now};
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use mlp::model::Task;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::oneshot;

/// Everything a handler needs.
pub(crate) struct AppState {
    pub served: Served,
    pub batcher: Batcher,
    pub metrics: Arc<Metrics>,
    pub limits: Limits,
}

type St = State<Arc<AppState>>;

/// Bodies above this size are parsed and encoded on a blocking thread, not on the runtime's.
const INLINE_BODY: usize = 64 << 10;

/// The router: endpoints, JSON 404/405, the body limit, and per-request metrics.
pub(crate) fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/predict", post(predict))
        .route("/health", get(health))
        .route("/metadata", get(metadata))
        .route("/metrics", get(metrics))
        .route("/reload", post(reload))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(state.limits.max_body))
        .layer(from_fn_with_state(Arc::clone(&state), track))
        .with_state(state)
}

/// Times every request and counts its status.
async fn track(State(st): St, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = route_index(req.uri().path());
    let response = next.run(req).await;
    st.metrics.record(
        route,
        response.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
    response
}

/// `{"error": msg}` with `status`.
pub(crate) fn error_response(status: StatusCode, msg: &str) -> Response {
    let body = serde_json::json!({ "error": msg }).to_string();
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        error_response(self.status, &self.msg)
    }
}

fn json_ok(body: String) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

async fn not_found(req: Request) -> Response {
    error_response(
        StatusCode::NOT_FOUND,
        &format!(
            "no endpoint {}; try POST /predict, GET /health, GET /metadata, GET /metrics, POST /reload",
            req.uri().path()
        ),
    )
}

async fn method_not_allowed(req: Request) -> Response {
    let path = req.uri().path();
    let allowed = if matches!(path, "/predict" | "/reload") {
        "POST"
    } else {
        "GET"
    };
    error_response(
        StatusCode::METHOD_NOT_ALLOWED,
        &format!("{} {path}: use {allowed}", req.method()),
    )
}

async fn health(State(st): St) -> Response {
    let loaded = st.served.current();
    json_ok(
        serde_json::json!({
            "status": "ok",
            "model": st.served.path().display().to_string(),
            "generation": loaded.generation,
        })
        .to_string(),
    )
}

async fn metadata(State(st): St) -> Response {
    json_ok(st.served.current().metadata.clone())
}

async fn metrics(State(st): St) -> Response {
    let body = st.metrics.render(st.served.current().generation);
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        body,
    )
        .into_response()
}

async fn reload(State(st): St) -> Response {
    match reload_now(&st, "POST /reload").await {
        Ok(l) => json_ok(
            serde_json::json!({
                "reloaded": true,
                "model": st.served.path().display().to_string(),
                "generation": l.generation,
            })
            .to_string(),
        ),
        Err(e) => error_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("reload rejected, still serving the previous model: {e}"),
        ),
    }
}

/// Request formats.
#[derive(Clone, Copy, PartialEq)]
enum Format {
    Json,
    Csv,
}

fn request_format(headers: &HeaderMap) -> Result<Format, ApiError> {
    let Some(ct) = headers.get(header::CONTENT_TYPE) else {
        // curl -d and most clients that omit it send JSON here.
        return Ok(Format::Json);
    };
    let ct = ct.to_str().unwrap_or("").to_ascii_lowercase();
    let essence = ct.split(';').next().unwrap_or("").trim();
    match essence {
        "application/json" | "" | "application/x-www-form-urlencoded" => Ok(Format::Json),
        "text/csv" => Ok(Format::Csv),
        other => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("content type '{other}': send application/json or text/csv"),
        )),
    }
}

async fn predict(
    State(st): St,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(|e| {
        let status = e.status();
        let msg = if status == StatusCode::PAYLOAD_TOO_LARGE {
            format!(
                "the request body is larger than {} bytes (mlp serve --max-body)",
                st.limits.max_body
            )
        } else {
            format!("cannot read the request body: {}", e.body_text())
        };
        ApiError::new(status, msg)
    })?;
    // From here until it is queued (or fails) the engine knows this request is coming.
    let coming = st.batcher.announce();
    let format = request_format(&headers)?;
    // The model this request is answered by, whatever reloads happen meanwhile.
    let loaded = st.served.current();
    let encoded = if body.len() <= INLINE_BODY {
        encode(&loaded, &body, format, &st.limits)?
    } else {
        let (l, lim) = (Arc::clone(&loaded), st.limits.clone());
        tokio::task::spawn_blocking(move || encode(&l, &body, format, &lim))
            .await
            .map_err(|e| {
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("encoding failed: {e}"),
                )
            })??
    };
    let Encoded {
        features,
        rows,
        warnings,
    } = encoded;
    let (tx, rx) = oneshot::channel();
    st.batcher
        .submit(Job {
            model: Arc::clone(&loaded),
            features,
            rows,
            reply: tx,
        })
        .map_err(|e| match e {
            SubmitError::Full => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the server is overloaded (engine queue full); retry shortly",
            ),
            SubmitError::Closed => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the server is shutting down",
            ),
        })?;
    drop(coming);
    let answer = rx
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the engine dropped the request",
            )
        })?
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e))?;
    let mut out = String::with_capacity(64 + 32 * rows);
    match format {
        Format::Csv => {
            let range = answer.start..answer.start + answer.rows;
            // A classifier's CSV has its probability columns, as `mlp predict --proba` writes.
            let proba = answer.predictions.task() == Task::Classification;
            crate::commands::predict::write_prediction_rows(
                &answer.predictions,
                proba,
                range,
                &mut out,
            )
            .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
            Ok((StatusCode::OK, [(header::CONTENT_TYPE, "text/csv")], out).into_response())
        }
        Format::Json => {
            write_json(&loaded, &answer, &warnings, &mut out)
                .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e))?;
            Ok(json_ok(out))
        }
    }
}

fn encode(
    loaded: &Loaded,
    body: &[u8],
    format: Format,
    limits: &Limits,
) -> Result<Encoded, ApiError> {
    match format {
        Format::Json => encode_json(loaded, body, limits),
        Format::Csv => encode_csv(loaded, body, limits),
    }
}

/// A number as `mlp predict` writes it (shortest round-trip text), or `null` if not finite.
fn push_num(out: &mut String, x: f32) {
    if !x.is_finite() {
        out.push_str("null");
        return;
    }
    let a = x.abs();
    if a == 0.0 || (1e-4..1e9).contains(&a) {
        let _ = write!(out, "{x}");
    } else {
        let _ = write!(out, "{x:e}");
    }
}

/// Writes `[v, ...]` (`bare`: one output per row) or `[{key: v, ...}, ...]`.
fn push_rows(
    out: &mut String,
    values: &[f32],
    k: usize,
    keys: &[String],
    rows: (usize, usize),
    bare: bool,
) {
    out.push('[');
    for (n, row) in values
        .chunks_exact(k.max(1))
        .skip(rows.0)
        .take(rows.1)
        .enumerate()
    {
        if n > 0 {
            out.push(',');
        }
        push_row(out, row, keys, bare);
    }
    out.push(']');
}

fn push_row(out: &mut String, row: &[f32], keys: &[String], bare: bool) {
    if bare {
        if let Some(&v) = row.first() {
            push_num(out, v);
        }
        return;
    }
    out.push('{');
    for (j, (v, key)) in row.iter().zip(keys).enumerate() {
        if j > 0 {
            out.push(',');
        }
        out.push_str(key);
        out.push(':');
        push_num(out, *v);
    }
    out.push('}');
}

/// The JSON answer: `predictions`, plus `proba` (classifiers, multi-label), `lower`/`upper`
/// (calibrated regressors), `prediction_sets` (with --prediction-sets) and `warnings`.
fn write_json(
    loaded: &Loaded,
    a: &Answer,
    warnings: &[String],
    out: &mut String,
) -> Result<(), String> {
    let p = &a.predictions;
    let rows = (a.start, a.rows);
    let keys = &loaded.keys_json;
    let k = keys.len().max(1);
    match p.task() {
        Task::Classification => {
            let (Some(classes), Some(proba)) = (p.classes(), p.proba()) else {
                return Err("the model predicted no classes".into());
            };
            out.push_str("{\"predictions\":[");
            for (n, &c) in classes.iter().skip(rows.0).take(rows.1).enumerate() {
                if n > 0 {
                    out.push(',');
                }
                out.push_str(keys.get(c).map_or("null", String::as_str));
            }
            out.push_str("],\"proba\":");
            push_rows(out, proba, k, keys, rows, false);
            if let Some(sets) = p.prediction_sets() {
                out.push_str(",\"prediction_sets\":[");
                for (n, set) in sets.iter().skip(rows.0).take(rows.1).enumerate() {
                    if n > 0 {
                        out.push(',');
                    }
                    out.push('[');
                    for (j, &c) in set.iter().enumerate() {
                        if j > 0 {
                            out.push(',');
                        }
                        out.push_str(keys.get(c).map_or("null", String::as_str));
                    }
                    out.push(']');
                }
                out.push(']');
            }
        }
        Task::Regression => {
            let Some(values) = p.values() else {
                return Err("the model predicted no values".into());
            };
            out.push_str("{\"predictions\":");
            push_rows(out, values, k, keys, rows, k == 1);
            if let (Some(lo), Some(hi)) = (p.lower(), p.upper()) {
                out.push_str(",\"lower\":");
                push_rows(out, lo, k, keys, rows, k == 1);
                out.push_str(",\"upper\":");
                push_rows(out, hi, k, keys, rows, k == 1);
            }
        }
        Task::MultiLabel => {
            let Some(proba) = p.proba() else {
                return Err("the model predicted no label probabilities".into());
            };
            out.push_str("{\"predictions\":[");
            for (n, row) in proba.chunks_exact(k).skip(rows.0).take(rows.1).enumerate() {
                if n > 0 {
                    out.push(',');
                }
                out.push('{');
                for (j, (v, key)) in row.iter().zip(keys).enumerate() {
                    if j > 0 {
                        out.push(',');
                    }
                    out.push_str(key);
                    out.push(':');
                    out.push(if *v > 0.5 { '1' } else { '0' });
                }
                out.push('}');
            }
            out.push_str("],\"proba\":");
            push_rows(out, proba, k, keys, rows, false);
        }
    }
    if !warnings.is_empty() {
        out.push_str(",\"warnings\":");
        out.push_str(&serde_json::to_string(warnings).map_err(|e| e.to_string())?);
    }
    out.push('}');
    Ok(())
}
