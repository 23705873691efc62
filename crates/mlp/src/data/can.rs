//! A CAN-bus-like traffic generator with injected attacks, for intrusion-detection experiments
//! (the setting of "Highly quantised MLPs for CAN intrusion detection", whose data is the
//! Car-Hacking data set of the HCR lab; that set is not shipped in any package here, so this
//! module reproduces its structure, deterministically from a seed).
//!
//! # Traffic
//! - **Normal frames**: 24 periodic arbitration IDs (11-bit), each with a period of 10, 20, 50
//!   or 100 ms (plus up to 2% jitter), a fixed DLC (8 for most, 2..=7 for a few) and a payload
//!   made of signals: a rolling 4-bit counter, slowly varying 16-bit values (speed/RPM-like
//!   random walks), rarely changing status bytes and constant bytes.
//! - **Attacks**, injected in bursts (each burst 100-300 ms, separated by 0.4-1.2 s of clean
//!   traffic, the attack kinds taking turns), as in the Car-Hacking set:
//!   - `dos`: ID `0x000` with an all-zero payload every 0.3 ms (wins every arbitration);
//!   - `fuzzy`: a random ID and random payload bytes every 0.5 ms;
//!   - `spoof`: the RPM ID (`0x316`) or the gear ID (`0x43f`) with a fixed forged payload every
//!     1 ms.
//!
//! # Columns (one row per frame, in time order)
//! `time` (seconds from the start), `id` (decimal), `id_b10 .. id_b0` (the ID's 11 bits, most
//! significant first, the binary encoding of the paper), `dlc`, `b0 .. b7` (payload bytes, 0
//! past the DLC), `dt` (ms since the previous frame on the bus), `dt_id` (ms since the previous
//! frame with the same ID; 1000 for the first), and `label`: `normal` or the attack's name (only
//! injected frames carry an attack label; normal frames during an attack stay `normal`).

use crate::rng::Rng;
use crate::{Error, Result};
use std::io::Write;

/// An attack kind the generator injects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CanAttack {
    /// Flooding with the highest-priority ID `0x000`.
    Dos,
    /// Random IDs and payloads.
    Fuzzy,
    /// Forged RPM or gear frames.
    Spoof,
}

impl CanAttack {
    /// The label and command-line name.
    pub fn name(self) -> &'static str {
        match self {
            CanAttack::Dos => "dos",
            CanAttack::Fuzzy => "fuzzy",
            CanAttack::Spoof => "spoof",
        }
    }

    /// Parses a comma-separated list (`dos,fuzzy,spoof`; `none` or empty for clean traffic).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming an unknown kind.
    pub fn parse_list(text: &str) -> Result<Vec<CanAttack>> {
        let mut out = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let a = match part {
                "dos" => CanAttack::Dos,
                "fuzzy" => CanAttack::Fuzzy,
                "spoof" | "spoofing" => CanAttack::Spoof,
                "none" => continue,
                other => {
                    return Err(Error::config(
                        "attack",
                        format!(
                            "unknown attack '{other}'; use dos, fuzzy, spoof (comma-separated)"
                        ),
                    ));
                }
            };
            if !out.contains(&a) {
                out.push(a);
            }
        }
        Ok(out)
    }

    /// Milliseconds between injected frames.
    fn interval_ms(self) -> f64 {
        match self {
            CanAttack::Dos => 0.3,
            CanAttack::Fuzzy => 0.5,
            CanAttack::Spoof => 1.0,
        }
    }
}

/// One frame on the bus.
#[derive(Debug, Clone, PartialEq)]
pub struct CanFrame {
    /// Seconds from the start.
    pub time: f64,
    /// 11-bit arbitration ID.
    pub id: u16,
    /// Data length code (0..=8).
    pub dlc: u8,
    /// Payload (bytes past the DLC are 0).
    pub data: [u8; 8],
    /// `None` for normal traffic, else the attack that injected it.
    pub attack: Option<CanAttack>,
}

/// A periodic normal ID and its signal state.
struct Node {
    id: u16,
    period_ms: f64,
    dlc: u8,
    next_ms: f64,
    counter: u8,
    walk: [f64; 2],
    data: [u8; 8],
}

const RPM_ID: u16 = 0x316;
const GEAR_ID: u16 = 0x43f;

/// Frames of CAN-like traffic with the `attacks` injected (see the module docs), `rows` of
/// them, deterministic in `seed`.
///
/// # Errors
/// [`Error::InvalidConfig`] for zero rows.
pub fn generate(rows: usize, attacks: &[CanAttack], seed: u64) -> Result<Vec<CanFrame>> {
    if rows == 0 {
        return Err(Error::config("rows", "must be at least 1"));
    }
    let mut rng = Rng::seed_from(seed);
    // 24 IDs: the two the spoofing attack forges, and 22 drawn without repeats.
    let mut ids = vec![RPM_ID, GEAR_ID];
    while ids.len() < 24 {
        let id = 0x080 + (rng.next_u64() % 0x700) as u16;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    let periods = [10.0, 20.0, 50.0, 100.0];
    let mut nodes: Vec<Node> = ids
        .iter()
        .enumerate()
        .map(|(i, &id)| {
            let period_ms = if id == RPM_ID {
                10.0
            } else if id == GEAR_ID {
                20.0
            } else {
                periods[(rng.next_u64() % 4) as usize]
            };
            let dlc = if i % 7 == 5 {
                2 + (rng.next_u64() % 6) as u8
            } else {
                8
            };
            let mut data = [0u8; 8];
            for b in data.iter_mut().take(usize::from(dlc)) {
                *b = (rng.next_u64() % 256) as u8;
            }
            Node {
                id,
                period_ms,
                dlc,
                next_ms: rng.uniform() as f64 * period_ms,
                counter: 0,
                walk: [
                    rng.uniform() as f64 * 60000.0,
                    rng.uniform() as f64 * 60000.0,
                ],
                data,
            }
        })
        .collect();
    // Attack bursts: (start, end, kind), generated lazily as time advances.
    let mut burst: Option<(f64, f64, CanAttack)> = None;
    let mut next_burst_ms = 400.0 + rng.uniform() as f64 * 800.0;
    let mut turn = 0usize;
    let mut next_inject_ms = f64::INFINITY;
    let spoof_payloads: [[u8; 8]; 2] = [
        [0x00, 0x00, 0x00, 0xff, 0xff, 0x00, 0x00, 0x00],
        [0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00],
    ];
    let mut frames = Vec::with_capacity(rows);
    while frames.len() < rows {
        if burst.is_none() && !attacks.is_empty() {
            let kind = attacks[turn % attacks.len()];
            turn += 1;
            let len = 100.0 + rng.uniform() as f64 * 200.0;
            burst = Some((next_burst_ms, next_burst_ms + len, kind));
            next_inject_ms = next_burst_ms;
        }
        let (ni, node_t) = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (i, n.next_ms))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap_or((0, f64::INFINITY));
        if let Some((_, end, kind)) = burst
            && next_inject_ms < node_t
        {
            let t = next_inject_ms;
            let (id, dlc, data) = match kind {
                CanAttack::Dos => (0u16, 8u8, [0u8; 8]),
                CanAttack::Fuzzy => {
                    let mut d = [0u8; 8];
                    for b in &mut d {
                        *b = (rng.next_u64() % 256) as u8;
                    }
                    ((rng.next_u64() % 0x800) as u16, 8, d)
                }
                CanAttack::Spoof => {
                    let which = (rng.next_u64() % 2) as usize;
                    ([RPM_ID, GEAR_ID][which], 8, spoof_payloads[which])
                }
            };
            frames.push(CanFrame {
                time: t / 1000.0,
                id,
                dlc,
                data,
                attack: Some(kind),
            });
            next_inject_ms = t + kind.interval_ms() * (0.9 + 0.2 * rng.uniform() as f64);
            if next_inject_ms > end {
                next_burst_ms = end + 400.0 + rng.uniform() as f64 * 800.0;
                burst = None;
            }
            continue;
        }
        let node = &mut nodes[ni];
        let t = node.next_ms;
        node.counter = (node.counter + 1) & 0x0f;
        for w in &mut node.walk {
            *w = (*w + rng.normal() as f64 * 150.0).clamp(0.0, 65535.0);
        }
        let dlc = usize::from(node.dlc);
        let mut data = node.data;
        // Byte 0: counter in the low nibble; bytes 1-4: two 16-bit signals (big-endian); the
        // rest: status bytes that change rarely.
        data[0] = (data[0] & 0xf0) | node.counter;
        let [a, b] = node.walk.map(|w| (w as u16).to_be_bytes());
        for (i, v) in [a[0], a[1], b[0], b[1]].into_iter().enumerate() {
            if 1 + i < dlc {
                data[1 + i] = v;
            }
        }
        if dlc > 5 && rng.uniform() < 0.01 {
            data[5] = (rng.next_u64() % 256) as u8;
        }
        node.data = data;
        for v in data.iter_mut().skip(dlc) {
            *v = 0;
        }
        frames.push(CanFrame {
            time: t / 1000.0,
            id: node.id,
            dlc: node.dlc,
            data,
            attack: None,
        });
        node.next_ms = t + node.period_ms * (0.99 + 0.02 * rng.uniform() as f64);
    }
    Ok(frames)
}

/// The header of [`write_csv`]'s table.
pub fn csv_header() -> String {
    let mut cols = vec!["time".to_string(), "id".to_string()];
    cols.extend((0..11).rev().map(|b| format!("id_b{b}")));
    cols.push("dlc".into());
    cols.extend((0..8).map(|b| format!("b{b}")));
    cols.extend(["dt".to_string(), "dt_id".to_string(), "label".to_string()]);
    cols.join(",")
}

/// Writes `frames` as a CSV table (columns in the module docs).
///
/// # Errors
/// The writer's I/O errors.
pub fn write_csv(frames: &[CanFrame], out: &mut impl Write) -> std::io::Result<()> {
    writeln!(out, "{}", csv_header())?;
    let mut last_any: Option<f64> = None;
    let mut last_by_id = std::collections::HashMap::new();
    for f in frames {
        let dt = last_any.map_or(0.0, |t| (f.time - t) * 1000.0);
        let dt_id = last_by_id
            .get(&f.id)
            .map_or(1000.0, |&t: &f64| (f.time - t) * 1000.0);
        last_any = Some(f.time);
        last_by_id.insert(f.id, f.time);
        write!(out, "{:.6},{}", f.time, f.id)?;
        for b in (0..11).rev() {
            write!(out, ",{}", (f.id >> b) & 1)?;
        }
        write!(out, ",{}", f.dlc)?;
        for v in f.data {
            write!(out, ",{v}")?;
        }
        writeln!(
            out,
            ",{dt:.4},{dt_id:.4},{}",
            f.attack.map_or("normal", CanAttack::name)
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traffic_is_deterministic_ordered_and_labelled() {
        let all = [CanAttack::Dos, CanAttack::Fuzzy, CanAttack::Spoof];
        let a = generate(5000, &all, 7).expect("frames");
        assert_eq!(a, generate(5000, &all, 7).expect("frames"));
        assert_eq!(a.len(), 5000);
        assert!(a.windows(2).all(|w| w[0].time <= w[1].time));
        for kind in all {
            let n = a.iter().filter(|f| f.attack == Some(kind)).count();
            assert!(n > 50, "{kind:?}: {n} frames");
        }
        assert!(
            a.iter()
                .filter(|f| f.attack == Some(CanAttack::Dos))
                .all(|f| f.id == 0)
        );
        assert!(a.iter().all(|f| f.id < 0x800 && f.dlc <= 8));
        let clean = generate(1000, &[], 7).expect("frames");
        assert!(clean.iter().all(|f| f.attack.is_none()));
        let mut csv = Vec::new();
        write_csv(&a[..10], &mut csv).expect("write");
        let text = String::from_utf8(csv).expect("utf8");
        assert_eq!(text.lines().count(), 11);
        let width = csv_header().split(',').count();
        assert!(text.lines().all(|l| l.split(',').count() == width));
        assert!(CanAttack::parse_list("dos,bogus").is_err());
        assert_eq!(CanAttack::parse_list("spoof,dos").expect("list").len(), 2);
    }
}
