//! Train/validation splits: random, stratified, chronological.
//!
//! Rules:
//!
//! - `val_fraction` must be a finite number in `[0, 1)`; anything else is
//!   [`Error::InvalidConfig`] (field `val_fraction`).
//! - The validation size is `round(n * val_fraction)`, raised to 1 when `val_fraction > 0` and
//!   `n >= 2`, and capped at `n - 1` so the training part is never empty (for `n >= 1`).
//! - [`stratified_split`] applies that rule per class: a class with at least 2 samples puts
//!   `round(m * val_fraction)` of its `m` samples (at least 1, at most `m - 1`) in validation when
//!   `val_fraction > 0`; a class with a single sample stays in training. The total may therefore
//!   differ slightly from `round(n * val_fraction)`.
//! - Chronological splits put the last rows (in file order, or in the order of a time key) in
//!   validation. [`chronological_split_by`] sorts stably, so rows with equal keys keep file
//!   order and a tie at the boundary is broken by file position.
//! - Every split returns `(train, val)` index lists, each sorted ascending, disjoint, together
//!   covering `0..n`. Random splits depend only on the [`Rng`] state: the same seed gives the same
//!   split.
//! - Time keys ([`parse_time_key`]) are plain numbers, or ISO 8601 dates `YYYY-MM-DD`, date-times
//!   `YYYY-MM-DDTHH:MM[:SS[.fff]]` (`T` or a space between date and time) with an optional `Z` or
//!   `+HH:MM`/`-HH:MM` offset; dates become seconds since 1970-01-01T00:00:00Z (proleptic
//!   Gregorian calendar, no leap seconds). A column must not mix numbers and dates.

use std::path::Path;

use super::csv::RawTable;
use crate::error::{Error, Result};
use crate::rng::Rng;

fn check_fraction(val_fraction: f64) -> Result<()> {
    if val_fraction.is_finite() && (0.0..1.0).contains(&val_fraction) {
        Ok(())
    } else {
        Err(Error::config(
            "val_fraction",
            format!("must be at least 0 and below 1, got {val_fraction}"),
        ))
    }
}

/// Validation size for `n` rows (see the module docs).
fn val_count(n: usize, val_fraction: f64) -> usize {
    if n == 0 || val_fraction <= 0.0 {
        return 0;
    }
    let k = (n as f64 * val_fraction).round() as usize;
    k.max(1).min(n - 1)
}

/// A random split: `round(n * val_fraction)` rows (see the module docs) to validation.
pub fn random_split(
    n: usize,
    val_fraction: f64,
    rng: &mut Rng,
) -> Result<(Vec<usize>, Vec<usize>)> {
    check_fraction(val_fraction)?;
    let k = val_count(n, val_fraction);
    let perm = rng.permutation(n);
    let mut val = perm[..k].to_vec();
    let mut train = perm[k..].to_vec();
    val.sort_unstable();
    train.sort_unstable();
    Ok((train, val))
}

/// A split that keeps each class's share: per-class proportional validation counts (see the
/// module docs). Labels must be below `n_classes`.
pub fn stratified_split(
    labels: &[usize],
    n_classes: usize,
    val_fraction: f64,
    rng: &mut Rng,
) -> Result<(Vec<usize>, Vec<usize>)> {
    check_fraction(val_fraction)?;
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); n_classes];
    for (i, &label) in labels.iter().enumerate() {
        match members.get_mut(label) {
            Some(m) => m.push(i),
            None => {
                return Err(Error::InvalidData(format!(
                    "class label {label} of sample {i} is not below the number of classes ({n_classes})"
                )));
            }
        }
    }
    let mut train = Vec::with_capacity(labels.len());
    let mut val = Vec::new();
    for mut class in members {
        let m = class.len();
        let k = if m >= 2 {
            val_count(m, val_fraction)
        } else {
            0
        };
        rng.shuffle(&mut class);
        val.extend_from_slice(&class[..k]);
        train.extend_from_slice(&class[k..]);
    }
    val.sort_unstable();
    train.sort_unstable();
    Ok((train, val))
}

/// A chronological split in file order: the last rows are validation.
pub fn chronological_split(n: usize, val_fraction: f64) -> Result<(Vec<usize>, Vec<usize>)> {
    check_fraction(val_fraction)?;
    let k = val_count(n, val_fraction);
    Ok(((0..n - k).collect(), (n - k..n).collect()))
}

/// A chronological split by a time key (one finite value per row, e.g. from
/// [`parse_time_key`]): rows are stably sorted by key and the latest ones are validation.
pub fn chronological_split_by(
    order_key: &[f64],
    val_fraction: f64,
) -> Result<(Vec<usize>, Vec<usize>)> {
    check_fraction(val_fraction)?;
    if let Some(i) = order_key.iter().position(|k| !k.is_finite()) {
        return Err(Error::InvalidData(format!(
            "time key of row {i} is {}, not a finite number",
            order_key[i]
        )));
    }
    let n = order_key.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| order_key[a].total_cmp(&order_key[b]));
    let k = val_count(n, val_fraction);
    let mut val = order[n - k..].to_vec();
    let mut train = order[..n - k].to_vec();
    val.sort_unstable();
    train.sort_unstable();
    Ok((train, val))
}

/// Parses a time column (numbers or ISO dates, see the module docs) into sortable keys. Errors
/// name the line, taking row `i` to be on line `i + 2`; prefer [`parse_time_column`] for a
/// [`RawTable`], which knows each row's real line.
pub fn parse_time_key(cells: &[String], path: impl AsRef<Path>, column: &str) -> Result<Vec<f64>> {
    parse_time_cells(cells, path.as_ref(), column, |row| row as u64 + 2)
}

/// [`parse_time_key`] for column `col` of a table, with exact line numbers in errors.
pub fn parse_time_column(table: &RawTable, col: usize) -> Result<Vec<f64>> {
    table.check_shape()?;
    let Some(cells) = table.columns.get(col) else {
        return Err(table.unknown_column(&col.to_string()));
    };
    parse_time_cells(cells, &table.path, &table.headers[col], |row| {
        table.line(row)
    })
}

fn parse_time_cells(
    cells: &[String],
    path: &Path,
    column: &str,
    line_of: impl Fn(usize) -> u64,
) -> Result<Vec<f64>> {
    let error = |row: usize, msg: String| Error::Parse {
        path: path.to_path_buf(),
        line: line_of(row),
        column: column.to_string(),
        msg,
    };
    // Whether the column holds dates (Some(true)) or numbers (Some(false)), from its first cell.
    let mut dates: Option<bool> = None;
    let mut keys = Vec::with_capacity(cells.len());
    for (row, cell) in cells.iter().enumerate() {
        let cell = cell.trim();
        if cell.is_empty() {
            return Err(error(row, "missing time value".to_string()));
        }
        let (key, is_date) = if let Ok(v) = cell.parse::<f64>() {
            if !v.is_finite() {
                return Err(error(
                    row,
                    format!(
                        "time value '{}' is not finite",
                        crate::data::csv::shown(cell)
                    ),
                ));
            }
            (v, false)
        } else if let Some(v) = parse_datetime(cell) {
            (v, true)
        } else {
            return Err(error(
                row,
                format!(
                    "cannot parse '{}' as a time; expected a number or a date like 2024-01-31, 2024-01-31T13:45:00 or 2024-01-31 13:45:00",
                    crate::data::csv::shown(cell)
                ),
            ));
        };
        match dates {
            None => dates = Some(is_date),
            Some(d) if d != is_date => {
                return Err(error(
                    row,
                    format!(
                        "'{}' mixes numbers and dates in one time column",
                        crate::data::csv::shown(cell)
                    ),
                ));
            }
            Some(_) => {}
        }
        keys.push(key);
    }
    Ok(keys)
}

/// A run of ASCII digits as a number.
fn digits(b: &[u8]) -> Option<i64> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0')))
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        _ => 28,
    }
}

/// Days from 1970-01-01 to the given proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DD[(T| )HH:MM[:SS[.fff]]][Z|(+|-)HH:MM]` as seconds since the Unix epoch.
fn parse_datetime(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (year, month, day) = (digits(&b[0..4])?, digits(&b[5..7])?, digits(&b[8..10])?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let mut secs = days_from_civil(year, month, day) as f64 * 86_400.0;
    let rest = &b[10..];
    if rest.is_empty() {
        return Some(secs);
    }
    if !matches!(rest[0], b'T' | b't' | b' ') || rest.len() < 6 || rest[3] != b':' {
        return None;
    }
    let (hour, minute) = (digits(&rest[1..3])?, digits(&rest[4..6])?);
    if hour > 23 || minute > 59 {
        return None;
    }
    let mut i = 6;
    let mut second = 0.0;
    if rest.get(i) == Some(&b':') {
        let s = digits(rest.get(i + 1..i + 3)?)?;
        if s > 59 {
            return None;
        }
        second = s as f64;
        i += 3;
        if rest.get(i) == Some(&b'.') {
            let start = i + 1;
            let mut end = start;
            while end < rest.len() && rest[end].is_ascii_digit() {
                end += 1;
            }
            if end == start {
                return None;
            }
            // ASCII digits only, so this is valid UTF-8 and a valid float.
            let frac: f64 = std::str::from_utf8(&rest[i..end]).ok()?.parse().ok()?;
            second += frac;
            i = end;
        }
    }
    secs += (hour * 3600 + minute * 60) as f64 + second;
    let tz = &rest[i..];
    match tz {
        [] | [b'Z'] | [b'z'] => {}
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] | [sign @ (b'+' | b'-'), h1, h2, m1, m2] => {
            let (oh, om) = (digits(&[*h1, *h2])?, digits(&[*m1, *m2])?);
            if oh > 23 || om > 59 {
                return None;
            }
            let offset = (oh * 3600 + om * 60) as f64;
            // Local time = UTC + offset, so UTC = local - offset.
            secs -= if *sign == b'+' { offset } else { -offset };
        }
        _ => return None,
    }
    Some(secs)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn check_partition(n: usize, train: &[usize], val: &[usize]) {
        let mut all: Vec<usize> = train.iter().chain(val).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..n).collect::<Vec<_>>(), "coverage and disjointness");
        assert!(train.windows(2).all(|w| w[0] < w[1]));
        assert!(val.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn random_split_sizes() {
        let mut rng = Rng::seed_from(1);
        for (n, f, want) in [
            (100, 0.2, 20),
            (10, 0.25, 3), // round(2.5) = 3
            (10, 0.0, 0),
            (2, 0.1, 1), // at least 1
            (3, 0.01, 1),
            (2, 0.9, 1), // capped at n - 1
            (1, 0.5, 0),
            (0, 0.5, 0),
        ] {
            let (train, val) = random_split(n, f, &mut rng).unwrap();
            assert_eq!(val.len(), want, "n={n} f={f}");
            check_partition(n, &train, &val);
        }
    }

    #[test]
    fn random_split_is_deterministic_and_random() {
        let a = random_split(50, 0.3, &mut Rng::seed_from(42)).unwrap();
        let b = random_split(50, 0.3, &mut Rng::seed_from(42)).unwrap();
        let c = random_split(50, 0.3, &mut Rng::seed_from(43)).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        // Not simply the last rows.
        assert_ne!(a.1, (35..50).collect::<Vec<_>>());
    }

    #[test]
    fn fractions_are_validated() {
        let mut rng = Rng::seed_from(0);
        for f in [-0.1, 1.0, 1.5, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                random_split(10, f, &mut rng),
                Err(Error::InvalidConfig { .. })
            ));
            assert!(matches!(
                stratified_split(&[0, 1], 2, f, &mut rng),
                Err(Error::InvalidConfig { .. })
            ));
            assert!(matches!(
                chronological_split(10, f),
                Err(Error::InvalidConfig { .. })
            ));
            assert!(matches!(
                chronological_split_by(&[1.0, 2.0], f),
                Err(Error::InvalidConfig { .. })
            ));
        }
    }

    #[test]
    fn stratified_proportions() {
        // 60 of class 0, 30 of class 1, 10 of class 2, 1 of class 3, interleaved.
        let mut labels = Vec::new();
        labels.extend(std::iter::repeat_n(0, 60));
        labels.extend(std::iter::repeat_n(1, 30));
        labels.extend(std::iter::repeat_n(2, 10));
        labels.push(3);
        let mut rng = Rng::seed_from(7);
        rng.shuffle(&mut labels);
        let (train, val) = stratified_split(&labels, 5, 0.2, &mut Rng::seed_from(3)).unwrap();
        check_partition(labels.len(), &train, &val);
        let count = |labels: &[usize], idx: &[usize], c: usize| {
            idx.iter().filter(|&&i| labels[i] == c).count()
        };
        assert_eq!(count(&labels, &val, 0), 12);
        assert_eq!(count(&labels, &val, 1), 6);
        assert_eq!(count(&labels, &val, 2), 2);
        assert_eq!(count(&labels, &val, 3), 0); // single sample stays in training
        assert_eq!(count(&labels, &train, 3), 1);
        // Small classes still get one validation sample each.
        let labels = [0, 0, 1, 1, 1, 1, 1, 1, 1, 1];
        let (train, val) = stratified_split(&labels, 2, 0.1, &mut Rng::seed_from(3)).unwrap();
        check_partition(labels.len(), &train, &val);
        assert_eq!(count(&labels, &val, 0), 1);
        assert_eq!(count(&labels, &val, 1), 1);
        // Zero fraction: everything trains.
        let (train, val) = stratified_split(&labels, 2, 0.0, &mut Rng::seed_from(3)).unwrap();
        assert!(val.is_empty());
        assert_eq!(train.len(), 10);
    }

    #[test]
    fn stratified_is_deterministic_and_checks_labels() {
        let labels: Vec<usize> = (0..40).map(|i| i % 3).collect();
        let a = stratified_split(&labels, 3, 0.25, &mut Rng::seed_from(9)).unwrap();
        let b = stratified_split(&labels, 3, 0.25, &mut Rng::seed_from(9)).unwrap();
        let c = stratified_split(&labels, 3, 0.25, &mut Rng::seed_from(10)).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(matches!(
            stratified_split(&[0, 3], 3, 0.5, &mut Rng::seed_from(0)),
            Err(Error::InvalidData(_))
        ));
    }

    #[test]
    fn chronological_last_rows() {
        let (train, val) = chronological_split(10, 0.3).unwrap();
        assert_eq!(train, (0..7).collect::<Vec<_>>());
        assert_eq!(val, vec![7, 8, 9]);
        let (train, val) = chronological_split(5, 0.0).unwrap();
        assert_eq!((train.len(), val.len()), (5, 0));
    }

    #[test]
    fn chronological_by_key_is_stable() {
        // Rows 1 and 4 share the latest key; the boundary falls between them.
        let keys = [3.0, 9.0, 1.0, 5.0, 9.0, 2.0];
        let (train, val) = chronological_split_by(&keys, 0.35).unwrap(); // round(2.1) = 2
        check_partition(6, &train, &val);
        assert_eq!(val, vec![1, 4]);
        let (_, val) = chronological_split_by(&keys, 0.2).unwrap(); // 1 row: the later of the tie
        assert_eq!(val, vec![4]);
        let (_, val) = chronological_split_by(&keys, 0.5).unwrap();
        assert_eq!(val, vec![1, 3, 4]);
        assert!(matches!(
            chronological_split_by(&[1.0, f64::NAN], 0.5),
            Err(Error::InvalidData(_))
        ));
    }

    fn cells(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn date_parsing() {
        let p = Path::new("t.csv");
        let keys = parse_time_key(
            &cells(&[
                "1970-01-01",
                "1970-01-02",
                "2000-03-01",
                "2024-02-29T12:30:15",
                "2024-02-29 12:30:15",
                "2024-02-29T12:30:15.5Z",
                "2024-02-29T14:30:15+02:00",
                "2024-02-29T12:30",
                "1969-12-31",
            ]),
            p,
            "when",
        )
        .unwrap();
        assert_eq!(keys[0], 0.0);
        assert_eq!(keys[1], 86_400.0);
        assert_eq!(keys[2], 11_017.0 * 86_400.0);
        let day_2024_02_29 = 19_782.0 * 86_400.0;
        assert_eq!(keys[3], day_2024_02_29 + 45_015.0);
        assert_eq!(keys[4], keys[3]);
        assert_eq!(keys[5], keys[3] + 0.5);
        assert_eq!(keys[6], keys[3]);
        assert_eq!(keys[7], day_2024_02_29 + 45_000.0);
        assert_eq!(keys[8], -86_400.0);
        // Numbers pass through.
        assert_eq!(
            parse_time_key(&cells(&["3", "1.5", "-2"]), p, "t").unwrap(),
            vec![3.0, 1.5, -2.0]
        );
    }

    #[test]
    fn date_errors_name_line_and_column() {
        let p = Path::new("t.csv");
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "2024-1-01",
            "2024-01-01T25:00",
            "2024-01-01T10:00:61",
            "2024-01-01X",
            "yesterday",
            "2024-01-01T10:00+0",
            "",
            "inf",
            "２０２４-01-01",
        ] {
            let err = parse_time_key(&cells(&["2024-01-01", bad]), p, "when").unwrap_err();
            match err {
                Error::Parse { line, column, .. } => {
                    assert_eq!((line, column.as_str()), (3, "when"), "{bad}")
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
        // Mixing numbers and dates.
        let err = parse_time_key(&cells(&["2024-01-01", "5"]), p, "when").unwrap_err();
        assert!(err.to_string().contains("mixes numbers and dates"), "{err}");
    }

    #[test]
    fn time_column_uses_table_lines() {
        let table = crate::data::csv::read_csv_from_reader(
            "m.csv",
            "t,y\n2024-01-02,1\n\n2024-01-01,0\nbad,1\n".as_bytes(),
            None,
        )
        .unwrap();
        let err = parse_time_column(&table, 0).unwrap_err();
        assert!(matches!(err, Error::Parse { line: 5, .. }), "{err:?}");
        let ok = crate::data::csv::read_csv_from_reader(
            "m.csv",
            "t,y\n2024-01-02,1\n2024-01-01,0\n2024-01-03,1\n".as_bytes(),
            None,
        )
        .unwrap();
        let keys = parse_time_column(&ok, 0).unwrap();
        let (train, val) = chronological_split_by(&keys, 0.34).unwrap();
        assert_eq!(train, vec![0, 1]);
        assert_eq!(val, vec![2]);
    }
}
