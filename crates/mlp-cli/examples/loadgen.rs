//! Load generator for `mlp serve`: closed-loop clients over keep-alive HTTP/1.1 connections
//! (std only, one thread per connection), reporting throughput and latency percentiles.
//!
//! ```text
//! # a typical table: 30 numeric and 4 text columns, 20000 rows, a class target
//! cargo run --release -p mlp-cli --example loadgen -- make-table /tmp/table.csv
//! mlp train --data /tmp/table.csv --target label --out /tmp/table.mlp
//! mlp serve --model /tmp/table.mlp --port 8080 &
//! cargo run --release -p mlp-cli --example loadgen -- run --addr 127.0.0.1:8080 \
//!     --data /tmp/table.csv --drop label --rows 1,100 --concurrency 1,4,16 --seconds 5
//! ```
//!
//! Every run is bounded (`--seconds`, `--max-requests`) and targets the one address given
//! (loopback in practice). Prints one line per (rows, concurrency) cell and a JSON line with
//! the same numbers.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn main() {
    if let Err(e) = real_main() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn real_main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("make-table") => {
            let path = args.get(1).ok_or("make-table needs an output path")?;
            let rows: usize = flag(&args, "--rows").map_or(Ok(20_000), |v| parse(&v))?;
            make_table(path, rows)
        }
        Some("run") => run(&args),
        _ => Err("usage: loadgen make-table FILE [--rows N] | loadgen run --addr HOST:PORT --data FILE [--drop COL] [--rows 1,100] [--concurrency 1,4,16] [--seconds S] [--max-requests N]".into()),
    }
}

fn flag(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn parse<T: std::str::FromStr>(v: &str) -> Result<T, String> {
    v.parse().map_err(|_| format!("cannot parse '{v}'"))
}

fn list(args: &[String], name: &str, default: &str) -> Result<Vec<usize>, String> {
    flag(args, name)
        .unwrap_or_else(|| default.to_string())
        .split(',')
        .map(parse)
        .collect()
}

/// A synthetic "typical table": 30 numeric columns, 4 text columns (3 to 12 categories), and a
/// 3-class label that depends on both. Deterministic (a fixed-seed xorshift).
fn make_table(path: &str, rows: usize) -> Result<(), String> {
    let mut s: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 53) as f64
    };
    let sizes = [3usize, 5, 8, 12];
    let mut out = String::new();
    let mut header: Vec<String> = (0..30).map(|i| format!("x{i}")).collect();
    header.extend((0..4).map(|i| format!("cat{i}")));
    header.push("label".into());
    out.push_str(&header.join(","));
    out.push('\n');
    for _ in 0..rows {
        let x: Vec<f64> = (0..30).map(|_| next() * 4.0 - 2.0).collect();
        let cats: Vec<usize> = sizes
            .iter()
            .map(|&k| ((next() * k as f64) as usize).min(k - 1))
            .collect();
        let score = x[0] + 0.5 * x[1] - x[2] * x[3] + 0.3 * cats[0] as f64 - 0.2 * cats[2] as f64;
        let label = if score < -0.5 {
            "low"
        } else if score < 0.8 {
            "mid"
        } else {
            "high"
        };
        let mut cells: Vec<String> = x.iter().map(|v| format!("{v:.4}")).collect();
        cells.extend(cats.iter().enumerate().map(|(i, c)| format!("c{i}_{c}")));
        cells.push(label.into());
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    std::fs::write(path, out).map_err(|e| format!("{path}: {e}"))
}

/// JSON row objects from a CSV (numbers as numbers, other cells as strings), without `drop`.
fn json_rows(path: &str, drop: Option<&str>) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().ok_or("empty CSV")?.split(',').collect();
    let mut rows = Vec::new();
    for line in lines.filter(|l| !l.trim().is_empty()) {
        let mut obj = String::from("{");
        let mut first = true;
        for (h, c) in header.iter().zip(line.split(',')) {
            if Some(*h) == drop {
                continue;
            }
            if !first {
                obj.push(',');
            }
            first = false;
            obj.push_str(&format!("\"{h}\":"));
            if c.parse::<f64>().is_ok_and(f64::is_finite) {
                obj.push_str(c);
            } else {
                obj.push_str(&format!("\"{}\"", c.replace('"', "\\\"")));
            }
        }
        obj.push('}');
        rows.push(obj);
    }
    if rows.is_empty() {
        return Err(format!("{path}: no rows"));
    }
    Ok(rows)
}

/// Request bodies of `n` rows each (up to 256 distinct ones, cycling through the data).
fn bodies(rows: &[String], n: usize) -> Vec<Vec<u8>> {
    let count = (rows.len() / n.max(1)).clamp(1, 256);
    (0..count)
        .map(|b| {
            let picked: Vec<&str> = (0..n)
                .map(|i| rows[(b * n + i) % rows.len()].as_str())
                .collect();
            format!("{{\"rows\":[{}]}}", picked.join(",")).into_bytes()
        })
        .collect()
}

struct Cell {
    ok: u64,
    errors: u64,
    latencies_us: Vec<u32>,
    seconds: f64,
}

fn run(args: &[String]) -> Result<(), String> {
    let addr = flag(args, "--addr").ok_or("give --addr HOST:PORT")?;
    let data = flag(args, "--data").ok_or("give --data FILE.csv")?;
    let drop = flag(args, "--drop");
    let seconds: f64 = flag(args, "--seconds").map_or(Ok(5.0), |v| parse(&v))?;
    let max_requests: u64 = flag(args, "--max-requests").map_or(Ok(5_000_000), |v| parse(&v))?;
    let rows = json_rows(&data, drop.as_deref())?;
    for n_rows in list(args, "--rows", "1,100")? {
        let bodies = Arc::new(bodies(&rows, n_rows));
        for conc in list(args, "--concurrency", "1,4,16")? {
            let cell = load(&addr, &bodies, conc, seconds, max_requests)?;
            report(n_rows, conc, &cell);
        }
    }
    Ok(())
}

fn load(
    addr: &str,
    bodies: &Arc<Vec<Vec<u8>>>,
    conc: usize,
    seconds: f64,
    max_requests: u64,
) -> Result<Cell, String> {
    let per_conn = max_requests / conc.max(1) as u64 + 1;
    let deadline = Duration::from_secs_f64(seconds);
    let t0 = Instant::now();
    let threads: Vec<_> = (0..conc)
        .map(|t| {
            let (addr, bodies) = (addr.to_string(), Arc::clone(bodies));
            std::thread::spawn(move || -> Result<Cell, String> {
                let stream = TcpStream::connect(&addr).map_err(|e| format!("{addr}: {e}"))?;
                stream.set_nodelay(true).ok();
                stream.set_read_timeout(Some(Duration::from_secs(10))).ok();
                let mut reader = BufReader::new(stream.try_clone().map_err(|e| e.to_string())?);
                let mut writer = stream;
                let mut cell = Cell {
                    ok: 0,
                    errors: 0,
                    latencies_us: Vec::with_capacity(1 << 16),
                    seconds: 0.0,
                };
                let mut head = Vec::with_capacity(256);
                let mut body = Vec::new();
                let mut i = t;
                let start = Instant::now();
                while start.elapsed() < deadline && cell.ok + cell.errors < per_conn {
                    let b = &bodies[i % bodies.len()];
                    i += 1;
                    head.clear();
                    let _ = write!(
                        head,
                        "POST /predict HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                        b.len()
                    );
                    head.extend_from_slice(b);
                    let sent = Instant::now();
                    writer.write_all(&head).map_err(|e| e.to_string())?;
                    let status = read_response(&mut reader, &mut body)?;
                    let us = sent.elapsed().as_micros().min(u32::MAX as u128) as u32;
                    if status == 200 {
                        cell.ok += 1;
                    } else {
                        cell.errors += 1;
                    }
                    cell.latencies_us.push(us);
                }
                cell.seconds = start.elapsed().as_secs_f64();
                Ok(cell)
            })
        })
        .collect();
    let mut all = Cell {
        ok: 0,
        errors: 0,
        latencies_us: Vec::new(),
        seconds: 0.0,
    };
    for t in threads {
        let c = t.join().map_err(|_| "a client thread panicked")??;
        all.ok += c.ok;
        all.errors += c.errors;
        all.latencies_us.extend(c.latencies_us);
    }
    all.seconds = t0.elapsed().as_secs_f64();
    Ok(all)
}

/// Reads one response; returns its status (the body is read and discarded).
fn read_response(reader: &mut BufReader<TcpStream>, body: &mut Vec<u8>) -> Result<u16, String> {
    let mut line = String::new();
    reader.read_line(&mut line).map_err(|e| e.to_string())?;
    if line.is_empty() {
        return Err("the server closed the connection".into());
    }
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line {line:?}"))?;
    let mut len = 0usize;
    loop {
        line.clear();
        reader.read_line(&mut line).map_err(|e| e.to_string())?;
        let h = line.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((name, value)) = h.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            len = value.trim().parse().map_err(|_| "bad content-length")?;
        }
    }
    body.resize(len, 0);
    reader.read_exact(body).map_err(|e| e.to_string())?;
    Ok(status)
}

fn report(rows: usize, conc: usize, cell: &Cell) {
    let mut l = cell.latencies_us.clone();
    l.sort_unstable();
    let pct = |p: f64| -> f64 {
        if l.is_empty() {
            return 0.0;
        }
        let i = ((l.len() as f64 - 1.0) * p).round() as usize;
        l[i.min(l.len() - 1)] as f64 / 1000.0
    };
    let rps = (cell.ok + cell.errors) as f64 / cell.seconds.max(1e-9);
    println!(
        "rows {rows:>4}  connections {conc:>3}  {rps:>9.0} req/s  {:>10.0} rows/s  p50 {:.3} ms  p99 {:.3} ms  errors {}",
        rps * rows as f64,
        pct(0.5),
        pct(0.99),
        cell.errors
    );
    println!(
        "{{\"rows\":{rows},\"connections\":{conc},\"requests\":{},\"errors\":{},\"seconds\":{:.3},\"req_per_s\":{rps:.0},\"p50_ms\":{:.3},\"p99_ms\":{:.3}}}",
        cell.ok + cell.errors,
        cell.errors,
        cell.seconds,
        pct(0.5),
        pct(0.99)
    );
}
