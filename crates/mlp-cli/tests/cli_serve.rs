//! `mlp serve`: every endpoint, answers equal to `mlp predict` (one request, concurrent
//! single-row requests gathered into batches, CSV in/out), every error case as a 4xx JSON error
//! naming row and column, reload under load (nothing dropped, a bad file rejected), SIGHUP, and
//! SIGTERM shutdown with exit status 0.
//!
//! The server runs as the real binary on a free port (`--port 0`; it prints the bound address);
//! the client is a few lines of HTTP/1.1 over `std::net::TcpStream`.

mod common;
use common::{TempDir, run_ok, stdout};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

fn fixture() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../mlp/tests/fixtures/iris_sites.csv")
        .display()
        .to_string()
}

/// A folder for this test binary's models, trained once and shared by the tests.
fn models() -> &'static (TempDir, String, String) {
    static MODELS: OnceLock<(TempDir, String, String)> = OnceLock::new();
    MODELS.get_or_init(|| {
        let dir = TempDir::new("serve");
        let cls = dir.path("species.mlp");
        let reg = dir.path("width.mlp");
        let data = fixture();
        for (target, out, extra) in [
            ("species", &cls, vec![]),
            (
                "petal_width",
                &reg,
                vec!["--calibration-fraction", "0.25", "--task", "regress"],
            ),
        ] {
            let mut args = vec![
                "train",
                "--data",
                &data,
                "--target",
                target,
                "--epochs",
                "15",
                "--seed",
                "3",
                "--threads",
                "1",
                "--quiet",
                "--out",
                out,
            ];
            args.extend(extra);
            run_ok(&args);
        }
        (dir, cls, reg)
    })
}

/// Trains a classifier with another seed (a different model for reload tests).
fn train_other(dir: &TempDir, name: &str, seed: &str) -> String {
    let out = dir.path(name);
    let data = fixture();
    run_ok(&[
        "train",
        "--data",
        &data,
        "--target",
        "species",
        "--epochs",
        "5",
        "--seed",
        seed,
        "--threads",
        "1",
        "--quiet",
        "--out",
        &out,
    ]);
    out
}

/// A running `mlp serve`, stopped (SIGKILL) if a test fails before stopping it.
struct Server {
    child: Option<Child>,
    addr: String,
}

impl Server {
    fn start(model: &str, extra: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mlp"))
            .args(["serve", "--model", model, "--port", "0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start mlp serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read the address line");
        let addr = line
            .trim()
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        Server {
            child: Some(child),
            addr,
        }
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.pid().to_string()])
            .status()
            .expect("kill")
            .success();
        assert!(ok, "kill {sig} failed");
    }

    /// Sends SIGTERM and waits (at most 10 s) for the exit status.
    fn terminate(mut self) -> std::process::ExitStatus {
        self.signal("-TERM");
        let mut child = self.child.take().expect("running");
        let t0 = Instant::now();
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                return status;
            }
            if t0.elapsed() > Duration::from_secs(10) {
                let _ = child.kill();
                panic!("the server did not exit within 10 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn client(&self) -> Client {
        Client::connect(&self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// One keep-alive HTTP/1.1 connection.
struct Client {
    stream: BufReader<TcpStream>,
}

struct Reply {
    status: u16,
    content_type: String,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// The `error` message of a JSON error answer.
    fn error(&self) -> String {
        self.json()["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no error key: {}", self.body))
            .to_string()
    }
}

impl Client {
    fn connect(addr: &str) -> Client {
        let s = TcpStream::connect(addr).expect("connect");
        s.set_nodelay(true).ok();
        s.set_read_timeout(Some(Duration::from_secs(30))).ok();
        Client {
            stream: BufReader::new(s),
        }
    }

    fn send(&mut self, method: &str, path: &str, content_type: Option<&str>, body: &[u8]) -> Reply {
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: test\r\nContent-Length: {}\r\n",
            body.len()
        );
        if let Some(ct) = content_type {
            head.push_str(&format!("Content-Type: {ct}\r\n"));
        }
        head.push_str("\r\n");
        let s = self.stream.get_mut();
        s.write_all(head.as_bytes()).expect("write head");
        s.write_all(body).expect("write body");
        self.read_reply()
    }

    fn read_reply(&mut self) -> Reply {
        let mut line = String::new();
        self.stream.read_line(&mut line).expect("status line");
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {line:?}"));
        let mut len = 0usize;
        let mut content_type = String::new();
        loop {
            let mut h = String::new();
            self.stream.read_line(&mut h).expect("header");
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            let (name, value) = h.split_once(':').expect("header line");
            match name.to_ascii_lowercase().as_str() {
                "content-length" => len = value.trim().parse().expect("length"),
                "content-type" => content_type = value.trim().to_string(),
                _ => {}
            }
        }
        let mut body = vec![0u8; len];
        self.stream.read_exact(&mut body).expect("body");
        Reply {
            status,
            content_type,
            body: String::from_utf8(body).expect("utf-8 body"),
        }
    }

    fn get(&mut self, path: &str) -> Reply {
        self.send("GET", path, None, b"")
    }

    fn post_json(&mut self, path: &str, body: &str) -> Reply {
        self.send("POST", path, Some("application/json"), body.as_bytes())
    }
}

/// The fixture's rows as JSON objects (numbers as numbers, text as strings).
fn fixture_rows() -> (Vec<String>, Vec<serde_json::Map<String, Value>>) {
    let text = std::fs::read_to_string(fixture()).expect("fixture");
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .expect("header")
        .split(',')
        .map(str::to_string)
        .collect();
    let rows = lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            header
                .iter()
                .zip(l.split(','))
                .map(|(h, c)| {
                    let v = c
                        .parse::<f64>()
                        .map(|x| serde_json::json!(x))
                        .unwrap_or_else(|_| Value::String(c.to_string()));
                    (h.clone(), v)
                })
                .collect()
        })
        .collect();
    (header, rows)
}

/// `mlp predict --proba` on the fixture: header and rows of cells.
fn cli_predictions(model: &str, extra: &[&str]) -> (Vec<String>, Vec<Vec<String>>) {
    let data = fixture();
    let mut args = vec!["predict", "--model", model, "--data", &data];
    args.extend(extra);
    let text = stdout(&run_ok(&args));
    let mut lines = text.lines();
    let header = lines
        .next()
        .expect("header")
        .split(',')
        .map(str::to_string)
        .collect();
    let rows = lines
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    (header, rows)
}

fn f32_of(v: &Value) -> f32 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}")) as f32
}

/// Checks a classifier's JSON answer for rows `rows` against `mlp predict --proba` (exactly).
fn assert_same_classes(answer: &Value, header: &[String], cli: &[Vec<String>], rows: &[usize]) {
    let preds = answer["predictions"].as_array().expect("predictions");
    let proba = answer["proba"].as_array().expect("proba");
    assert_eq!(preds.len(), rows.len());
    for (n, &r) in rows.iter().enumerate() {
        assert_eq!(preds[n].as_str(), Some(cli[r][0].as_str()), "row {r}");
        for (j, h) in header.iter().enumerate().skip(1) {
            let label = h.strip_prefix("proba_").expect("proba column");
            let want: f32 = cli[r][j].parse().expect("cli proba");
            assert_eq!(f32_of(&proba[n][label]), want, "row {r}, {h}");
        }
    }
}

#[test]
fn answers_equal_mlp_predict_json_csv_and_concurrent_single_rows() {
    let (_, cls, _) = models();
    let (header, cli) = cli_predictions(cls, &["--proba"]);
    let server = Server::start(cls, &["--max-wait-us", "2000"]);
    let (_, rows) = fixture_rows();
    let all: Vec<usize> = (0..rows.len()).collect();

    // One request with every row.
    let mut c = server.client();
    let r = c.post_json("/predict", &serde_json::json!({ "rows": rows }).to_string());
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.content_type.starts_with("application/json"));
    assert_same_classes(&r.json(), &header, &cli, &all);

    // columns + data, with an extra column the model ignores (as `mlp predict` does).
    let cols = [
        "site",
        "petal_width",
        "petal_length",
        "sepal_width",
        "sepal_length",
        "extra",
    ];
    let data: Vec<Vec<Value>> = rows[..7]
        .iter()
        .map(|row| {
            cols.iter()
                .map(|c| row.get(*c).cloned().unwrap_or(Value::from(1)))
                .collect()
        })
        .collect();
    let r = c.post_json(
        "/predict",
        &serde_json::json!({"columns": cols, "data": data}).to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_same_classes(&r.json(), &header, &cli, &(0..7).collect::<Vec<_>>());

    // CSV in, CSV out: byte for byte what `mlp predict --proba` writes.
    let csv = std::fs::read(fixture()).expect("fixture");
    let r = c.send("POST", "/predict", Some("text/csv"), &csv);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.content_type.starts_with("text/csv"));
    let data = fixture();
    let want = stdout(&run_ok(&[
        "predict", "--model", cls, "--data", &data, "--proba",
    ]));
    assert_eq!(r.body, want);

    // Concurrent single-row requests (gathered into batches) answer exactly as the file does.
    let threads: Vec<_> = (0..6)
        .map(|t| {
            let addr = server.addr.clone();
            let rows = rows.clone();
            std::thread::spawn(move || {
                let mut c = Client::connect(&addr);
                let mut got = Vec::new();
                for r in (t..rows.len()).step_by(6) {
                    let reply = c.post_json(
                        "/predict",
                        &serde_json::json!({ "rows": [rows[r]] }).to_string(),
                    );
                    assert_eq!(reply.status, 200, "{}", reply.body);
                    got.push((r, reply.json()));
                }
                got
            })
        })
        .collect();
    for t in threads {
        for (r, answer) in t.join().expect("client thread") {
            assert_same_classes(&answer, &header, &cli, &[r]);
        }
    }
    // Batches of more than one request happened (the histogram counts requests per batch).
    let m = c.get("/metrics").body;
    let single = m
        .lines()
        .find(|l| l.starts_with("mlp_batch_requests_bucket{le=\"1\"}"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse::<u64>().ok())
        .expect("batch histogram");
    let total = m
        .lines()
        .find(|l| l.starts_with("mlp_batch_requests_count"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse::<u64>().ok())
        .expect("batch count");
    assert!(total >= 1 && single <= total, "{m}");
    assert!(server.terminate().success());
}

#[test]
fn regression_intervals_equal_mlp_predict_interval() {
    let (_, _, reg) = models();
    let (header, cli) = cli_predictions(reg, &["--interval", "0.8"]);
    assert_eq!(header, ["petal_width", "lower", "upper"]);
    let server = Server::start(reg, &["--interval", "0.8"]);
    let (_, rows) = fixture_rows();
    let mut c = server.client();
    let r = c.post_json(
        "/predict",
        &serde_json::json!({ "rows": rows[..20] }).to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    for (i, row) in cli.iter().take(20).enumerate() {
        for (key, j) in [("predictions", 0), ("lower", 1), ("upper", 2)] {
            let want: f32 = row[j].parse().expect("number");
            assert_eq!(f32_of(&v[key][i]), want, "row {i} {key}");
        }
    }
    assert!(v.get("proba").is_none());
    // The default level (0.9) applies when the model is calibrated and no level is given.
    drop(server);
    let server = Server::start(reg, &[]);
    let r = server.client().post_json(
        "/predict",
        &serde_json::json!({ "rows": rows[..2] }).to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["lower"].as_array().map(Vec::len), Some(2));
}

#[test]
fn health_metadata_and_metrics() {
    let (_, cls, _) = models();
    let server = Server::start(cls, &[]);
    let mut c = server.client();
    let h = c.get("/health");
    assert_eq!(h.status, 200);
    assert_eq!(h.json()["status"], "ok");
    assert_eq!(h.json()["generation"], 0);

    let m = c.get("/metadata");
    assert_eq!(m.status, 200);
    let info: Value =
        serde_json::from_str(&stdout(&run_ok(&["info", "--model", cls, "--json"]))).expect("info");
    assert_eq!(m.json(), info);

    let (_, rows) = fixture_rows();
    assert_eq!(
        c.post_json(
            "/predict",
            &serde_json::json!({"rows": [rows[0]]}).to_string()
        )
        .status,
        200
    );
    assert_eq!(c.post_json("/predict", "{").status, 400);
    let text = c.get("/metrics");
    assert_eq!(text.status, 200);
    assert!(text.content_type.starts_with("text/plain"));
    for want in [
        "mlp_http_requests_total{route=\"/predict\",status=\"200\"} 1",
        "mlp_http_requests_total{route=\"/predict\",status=\"400\"} 1",
        "mlp_http_requests_total{route=\"/health\",status=\"200\"} 1",
        "# TYPE mlp_http_request_duration_seconds histogram",
        "mlp_http_request_duration_seconds_bucket{route=\"/predict\",le=\"+Inf\"} 2",
        "mlp_http_request_duration_seconds_count{route=\"/predict\"} 2",
        "mlp_batch_rows_bucket{le=\"1\"} 1",
        "mlp_batch_rows_count 1",
        "mlp_predicted_rows_total 1",
        "mlp_model_generation 0",
    ] {
        assert!(text.body.contains(want), "no {want:?} in\n{}", text.body);
    }
    assert!(server.terminate().success());
}

#[test]
fn bad_requests_get_4xx_json_errors_naming_row_and_column() {
    let (_, cls, _) = models();
    let server = Server::start(cls, &["--max-body", "3000", "--max-rows", "5"]);
    let mut c = server.client();
    let row = |sl: Value, site: Value| {
        serde_json::json!({"sepal_length": sl, "sepal_width": 3.0, "petal_length": 1.4,
            "petal_width": 0.2, "site": site})
    };
    let good = row(Value::from(5.1), Value::from("north"));
    let cases: Vec<(String, u16, Vec<&str>)> = vec![
        ("{\"rows\": [".into(), 400, vec!["invalid JSON"]),
        ("not json".into(), 400, vec!["invalid JSON"]),
        (
            serde_json::json!({"rows": [good, {"sepal_length": 5.0}]}).to_string(),
            422,
            vec!["rows[1]", "missing column", "sepal_width"],
        ),
        (
            serde_json::json!({"rows": [good, row(Value::from("abc"), Value::from("north"))]})
                .to_string(),
            422,
            vec!["rows[1]", "sepal_length", "abc"],
        ),
        (
            serde_json::json!({"rows": [row(Value::from("inf"), Value::from("north"))]}).to_string(),
            422,
            vec!["rows[0]", "sepal_length", "finite"],
        ),
        (
            serde_json::json!({"rows": [good, good, row(Value::from("NaN"), Value::from("north"))]})
                .to_string(),
            422,
            vec!["rows[2]", "sepal_length", "missing"],
        ),
        (
            serde_json::json!({"rows": [row(Value::from(5.0), serde_json::json!([1]))]}).to_string(),
            422,
            vec!["rows[0]", "site", "array"],
        ),
        (
            serde_json::json!({"columns": ["sepal_length"], "data": [[1.0]]}).to_string(),
            422,
            vec!["columns", "missing column", "sepal_width"],
        ),
        (
            serde_json::json!({"columns": ["sepal_length", "sepal_width", "petal_length", "petal_width", "site"],
                "data": [[1.0, 2.0, 3.0, 4.0, "north"], [1.0, 2.0]]})
            .to_string(),
            422,
            vec!["data[1]", "2 values for 5 columns"],
        ),
        ("{\"rows\": 3}".into(), 422, vec!["expected"]),
        ("{\"rows\": []}".into(), 422, vec!["no rows"]),
        ("{\"data\": [[1]]}".into(), 422, vec!["without \"columns\""]),
        (
            serde_json::json!({"rows": vec![good.clone(); 6]}).to_string(),
            413,
            vec!["6 rows", "--max-rows"],
        ),
        (
            serde_json::json!({"rows": vec![good.clone(); 5], "pad": "x".repeat(4000)}).to_string(),
            413,
            vec!["--max-body"],
        ),
        (
            "{\"rows\": [{\"sepal_length\": 1e999, \"sepal_width\": 1, \"petal_length\": 1, \"petal_width\": 1, \"site\": \"north\"}]}".into(),
            422,
            vec!["rows[0]", "sepal_length", "finite"],
        ),
        ("{\"rows\": [NaN]}".into(), 400, vec!["invalid JSON"]),
        ("{\"rows\": [3]}".into(), 422, vec!["expected"]),
    ];
    for (body, status, needles) in &cases {
        let r = c.post_json("/predict", body);
        assert_eq!(r.status, *status, "{body}: {}", r.body);
        let e = r.error();
        for n in needles {
            assert!(e.contains(n), "{body}: error {e:?} lacks {n:?}");
        }
        assert!(!e.contains('\n'), "one-line error: {e:?}");
    }
    // CSV: a text cell in a numeric column names the body's line and the column.
    let r = c.send(
        "POST",
        "/predict",
        Some("text/csv"),
        b"sepal_length,sepal_width,petal_length,petal_width,site\n5.1,3.5,1.4,0.2,north\nx,3.0,1.4,0.2,south\n",
    );
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        r.error().contains("line 3") && r.error().contains("sepal_length"),
        "{}",
        r.error()
    );
    // Other media types, routes and methods.
    assert_eq!(
        c.send("POST", "/predict", Some("image/png"), b"x").status,
        415
    );
    assert_eq!(c.get("/nope").status, 404);
    assert_eq!(c.get("/predict").status, 405);
    assert!(c.get("/predict").error().contains("POST"));
    // An unknown category is a warning by default, an error with --unknown-category error.
    let r = c.post_json(
        "/predict",
        &serde_json::json!({"rows": [row(Value::from(5.0), Value::from("mars"))]}).to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.json()["warnings"][0]
            .as_str()
            .is_some_and(|w| w.contains("mars")),
        "{}",
        r.body
    );
    // None of that hurt the server.
    assert_eq!(c.get("/health").status, 200);
    let r = c.post_json("/predict", &serde_json::json!({"rows": [good]}).to_string());
    assert_eq!(r.status, 200, "{}", r.body);
    drop(c);
    assert!(server.terminate().success());

    let server = Server::start(cls, &["--unknown-category", "error"]);
    let r = server.client().post_json(
        "/predict",
        &serde_json::json!({"rows": [good, row(Value::from(5.0), Value::from("mars"))]})
            .to_string(),
    );
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        r.error().contains("rows[1]") && r.error().contains("site"),
        "{}",
        r.error()
    );
}

#[test]
fn reload_under_load_drops_nothing_and_rejects_a_bad_file() {
    let (_, cls, _) = models();
    let dir = TempDir::new("serve-reload");
    let served = dir.path("served.mlp");
    std::fs::copy(cls, &served).expect("copy");
    let other = train_other(&dir, "other.mlp", "99");
    let server = Server::start(&served, &[]);
    let (_, rows) = fixture_rows();
    let body = serde_json::json!({ "rows": [rows[60]] }).to_string();

    // Clients hammer /predict while the file is swapped and reloaded.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load: Vec<_> = (0..4)
        .map(|_| {
            let (addr, body, stop) = (server.addr.clone(), body.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut c = Client::connect(&addr);
                let mut n = 0;
                // Bounded: at most 20000 requests or 60 s per client.
                let t0 = Instant::now();
                while !stop.load(std::sync::atomic::Ordering::Relaxed)
                    && n < 20_000
                    && t0.elapsed() < Duration::from_secs(60)
                {
                    let r = c.post_json("/predict", &body);
                    assert_eq!(r.status, 200, "{}", r.body);
                    n += 1;
                }
                n
            })
        })
        .collect();
    let mut c = server.client();
    std::thread::sleep(Duration::from_millis(200));
    // A good new file: replaced atomically, then reloaded.
    std::fs::copy(&other, dir.path("tmp.mlp")).expect("copy");
    std::fs::rename(dir.path("tmp.mlp"), &served).expect("rename");
    let r = c.post_json("/reload", "");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["generation"], 1);
    std::thread::sleep(Duration::from_millis(200));
    // A bad file is rejected; the previous model keeps serving.
    std::fs::write(&served, b"not a model").expect("write");
    let r = c.post_json("/reload", "");
    assert_eq!(r.status, 500, "{}", r.body);
    assert!(r.error().contains("still serving"), "{}", r.error());
    assert_eq!(c.get("/health").json()["generation"], 1);
    std::thread::sleep(Duration::from_millis(200));
    // SIGHUP reloads too.
    std::fs::copy(cls, dir.path("tmp.mlp")).expect("copy");
    std::fs::rename(dir.path("tmp.mlp"), &served).expect("rename");
    server.signal("-HUP");
    let t0 = Instant::now();
    while c.get("/health").json()["generation"] != 2 {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "SIGHUP did not reload"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let total: usize = load.into_iter().map(|t| t.join().expect("client")).sum();
    assert!(total > 0);
    let m = c.get("/metrics").body;
    assert!(
        m.contains("mlp_model_reloads_total{result=\"ok\"} 2"),
        "{m}"
    );
    assert!(
        m.contains("mlp_model_reloads_total{result=\"rejected\"} 1"),
        "{m}"
    );
    // After the reload to the original file, answers are the original model's again.
    let (header, cli) = cli_predictions(cls, &["--proba"]);
    let r = c.post_json("/predict", &body);
    assert_same_classes(&r.json(), &header, &cli, &[60]);
    drop(c);
    assert!(server.terminate().success());
}

#[test]
fn sigterm_finishes_and_exits_zero_even_with_idle_keep_alive_connections() {
    let (_, cls, _) = models();
    let server = Server::start(cls, &[]);
    let mut idle = server.client();
    assert_eq!(idle.get("/health").status, 200);
    let t0 = Instant::now();
    let status = server.terminate();
    assert!(status.success(), "{status:?}");
    assert!(t0.elapsed() < Duration::from_secs(8));
    drop(idle);
}

#[test]
fn clients_that_hang_up_mid_request_do_not_stop_the_server() {
    let (_, cls, _) = models();
    let server = Server::start(cls, &[]);
    let (_, rows) = fixture_rows();
    let body = serde_json::json!({ "rows": rows }).to_string();
    for i in 0..40 {
        let mut s = TcpStream::connect(&server.addr).expect("connect");
        let head = format!(
            "POST /predict HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        s.write_all(head.as_bytes()).expect("head");
        // Half the clients hang up before sending the whole body, half before the answer.
        let cut = if i % 2 == 0 {
            body.len() / 2
        } else {
            body.len()
        };
        let _ = s.write_all(&body.as_bytes()[..cut]);
        drop(s);
    }
    let mut c = server.client();
    assert_eq!(c.get("/health").status, 200);
    let r = c.post_json("/predict", &body);
    assert_eq!(r.status, 200, "{}", r.body);
    drop(c);
    assert!(server.terminate().success());
}

#[test]
fn a_missing_or_bad_model_file_stops_startup_with_an_error() {
    let dir = TempDir::new("serve-bad");
    let bad = dir.file("bad.mlp", "nope");
    let o = common::mlp(&["serve", "--model", &bad, "--port", "0"]);
    assert!(!o.status.success());
    assert!(
        common::stderr(&o).starts_with("error:"),
        "{}",
        common::stderr(&o)
    );
    let (_, cls, _) = models();
    let o = common::mlp(&["serve", "--model", cls, "--port", "0", "--max-batch", "0"]);
    assert!(!o.status.success());
}
