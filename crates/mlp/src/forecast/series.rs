//! Loading a time series from a CSV: a time column, one or more target series and optional
//! exogenous columns, on a regular time grid.
//!
//! Rules:
//!
//! - The time column holds numbers, ISO dates `YYYY-MM-DD` or date-times (the formats of
//!   [`crate::data::split::parse_time_key`]), or period labels ([`parse_period`]): quarters
//!   `1971Q1`, `1971-Q1`, `1971 Q1` and months `1971M01`, `1971-01` (the way statistical
//!   offices and pandas' `Period` write them), read as the first day of the period and written
//!   back as `1971Q1` / `1971-01`; rows must be in strictly increasing time order.
//! - The step is detected from the data: for numbers, the most common difference; for dates all
//!   at midnight, 90 % of them on the same day of the month (or on month ends), a whole number of months
//!   (monthly, quarterly `3`, yearly `12`); other midnight dates, a whole number of days (daily
//!   `1`, weekly `7`); other date-times, a whole number of seconds. Ties between equally common
//!   differences go to the smallest.
//! - A row whose time is not a whole number of steps from the first is *irregular* and always an
//!   error. A jump of more than one step is a *gap*: an error naming the file, line and the
//!   missing steps, unless a [`Fill`] is given, which inserts the missing steps. Missing cells
//!   (empty, `NA`, `NaN`) inside the history follow the same rule. Nothing is ever shifted.
//! - Trailing rows whose targets are all empty are *future* rows: they carry the known future
//!   values of exogenous columns for forecasting (their exogenous cells must be present).
//! - Line numbers in errors are the physical lines of the file (header = line 1).

use super::calendar::{self, DAY};
#[cfg(any(test, feature = "datasets"))]
use crate::data::csv::read_csv_from_reader;
use crate::data::csv::{RawTable, read_csv};
use crate::data::split::parse_time_column;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// What the time column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeKind {
    /// Plain numbers (integers or decimals).
    Number,
    /// Dates `YYYY-MM-DD` (keys are seconds since 1970-01-01).
    Date,
    /// Date-times (keys are seconds since 1970-01-01 UTC).
    DateTime,
    /// Quarters `1971Q1`, `1971-Q1`, `1971 Q1` (keys: the first day of the quarter, as dates);
    /// written back as `1971Q1`.
    Quarter,
    /// Months `1971M01` or `1971-01` (keys: the first day of the month, as dates); written
    /// back as `1971-01`.
    Month,
}

/// The regular distance between consecutive observations.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "unit", content = "n")]
pub enum Step {
    /// A numeric time column advancing by this amount.
    Number(f64),
    /// Whole seconds (sub-daily date-times).
    Seconds(i64),
    /// Whole days (daily `1`, weekly `7`).
    Days(i64),
    /// Whole calendar months (monthly `1`, quarterly `3`, yearly `12`).
    Months(i64),
}

impl Step {
    /// Human description: `1 month`, `7 days (weekly)`, `0.5`.
    pub fn describe(&self) -> String {
        match *self {
            Step::Number(v) => format_number(v),
            Step::Seconds(s) if s % 3600 == 0 => plural(s / 3600, "hour"),
            Step::Seconds(s) => plural(s, "second"),
            Step::Days(7) => "7 days (weekly)".into(),
            Step::Days(d) => plural(d, "day"),
            Step::Months(12) => "12 months (yearly)".into(),
            Step::Months(3) => "3 months (quarterly)".into(),
            Step::Months(m) => plural(m, "month"),
        }
    }

    /// The time key `n` steps after `key` (months keep the day of month, clamped to the
    /// month's length, or stay on month ends).
    pub fn advance(&self, key: f64, n: i64) -> f64 {
        match *self {
            Step::Number(v) => key + v * n as f64,
            Step::Seconds(s) => key + (s * n) as f64,
            Step::Days(d) => key + (d * n) as f64 * DAY,
            Step::Months(m) => {
                let days = (key / DAY).floor() as i64;
                let time_of_day = key - days as f64 * DAY;
                let (y, mo, d) = calendar::civil_from_days(days);
                let month_end = d == calendar::days_in_month(y, mo);
                let total = y * 12 + mo as i64 - 1 + m * n;
                let (ny, nm) = (total.div_euclid(12), (total.rem_euclid(12) + 1) as u32);
                let len = calendar::days_in_month(ny, nm);
                let nd = if month_end && d >= 28 {
                    len
                } else {
                    d.min(len)
                };
                calendar::days_from_civil(ny, nm, nd) as f64 * DAY + time_of_day
            }
        }
    }
}

fn plural(n: i64, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

fn format_number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// Writes a time key the way the time column wrote it.
pub fn format_time(key: f64, kind: TimeKind) -> String {
    match kind {
        TimeKind::Number => format_number(key),
        TimeKind::Quarter | TimeKind::Month => {
            let (y, m, _) = calendar::civil_from_days((key / DAY).floor() as i64);
            if kind == TimeKind::Quarter {
                format!("{y:04}Q{}", (m - 1) / 3 + 1)
            } else {
                format!("{y:04}-{m:02}")
            }
        }
        TimeKind::Date | TimeKind::DateTime => {
            let days = (key / DAY).floor() as i64;
            let (y, m, d) = calendar::civil_from_days(days);
            if kind == TimeKind::Date {
                format!("{y:04}-{m:02}-{d:02}")
            } else {
                let secs = (key - days as f64 * DAY).round() as i64;
                format!(
                    "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
                    secs / 3600,
                    secs / 60 % 60,
                    secs % 60
                )
            }
        }
    }
}

/// How missing steps and missing cells are filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fill {
    /// Straight line between the neighbouring observed values (the nearest one at the ends).
    Linear,
    /// The last observed value (the first observed one before it).
    Previous,
    /// Zero.
    Zero,
}

impl std::str::FromStr for Fill {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "linear" => Ok(Fill::Linear),
            "previous" | "ffill" => Ok(Fill::Previous),
            "zero" => Ok(Fill::Zero),
            other => Err(Error::config(
                "fill",
                format!("unknown '{other}'; one of linear, previous, zero"),
            )),
        }
    }
}

/// Which columns to read.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesColumns {
    /// The time column.
    pub time: String,
    /// Target series (at least one).
    pub targets: Vec<String>,
    /// Exogenous columns whose future values are known.
    pub exog: Vec<String>,
    /// Fill gaps and missing cells (None: they are errors).
    pub fill: Option<Fill>,
}

/// One named column of values on the time grid.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// Header name.
    pub name: String,
    /// Values, one per time step.
    pub values: Vec<f64>,
}

/// A regular multivariate time series.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Where it came from (file path or `dataset:NAME`).
    pub source: String,
    /// Name of the time column.
    pub time_column: String,
    /// What the time column holds.
    pub kind: TimeKind,
    /// The step between observations.
    pub step: Step,
    /// Time keys of every step: the observed history, then any future rows.
    pub times: Vec<f64>,
    /// Target series, each `history_len()` long.
    pub targets: Vec<Column>,
    /// Exogenous columns, each `times.len()` long (history and future rows).
    pub exog: Vec<Column>,
    /// Number of missing time steps inserted plus empty cells filled.
    pub filled: usize,
}

impl Series {
    /// Number of observed steps.
    pub fn history_len(&self) -> usize {
        self.targets.first().map_or(0, |c| c.values.len())
    }

    /// Number of future rows (exogenous values only).
    pub fn future_len(&self) -> usize {
        self.times.len() - self.history_len()
    }

    /// Loads a CSV file.
    pub fn load(path: &Path, columns: &SeriesColumns) -> Result<Series> {
        Series::from_table(&read_csv(path, None)?, columns)
    }

    /// Builds the series from a parsed table (see the module documentation for the rules).
    pub fn from_table(table: &RawTable, columns: &SeriesColumns) -> Result<Series> {
        if columns.targets.is_empty() {
            return Err(Error::config("target", "name at least one target column"));
        }
        let tcol = table.column_index(&columns.time)?;
        let target_cols = columns
            .targets
            .iter()
            .map(|c| table.column_index(c))
            .collect::<Result<Vec<_>>>()?;
        let exog_cols = columns
            .exog
            .iter()
            .map(|c| table.column_index(c))
            .collect::<Result<Vec<_>>>()?;
        if let Some(c) = target_cols.iter().chain(&exog_cols).find(|&&c| c == tcol) {
            return Err(Error::config(
                "target",
                format!(
                    "'{}' is the time column; it cannot also be a target or exogenous column",
                    table.headers[*c]
                ),
            ));
        }
        if table.n_rows < 2 {
            return Err(Error::format(
                &table.path,
                format!("needs at least 2 data rows; found {}", table.n_rows),
            ));
        }
        let (keys, kind) = parse_times(table, tcol)?;
        for r in 1..keys.len() {
            if keys[r] <= keys[r - 1] {
                return Err(table.cell_error(
                    r,
                    tcol,
                    format!(
                        "time '{}' is not after the previous row's '{}'; sort the file by time and remove duplicate times",
                        table.columns[tcol][r],
                        table.columns[tcol][r - 1]
                    ),
                ));
            }
        }
        let step = detect_step(&keys, kind);
        let positions = grid_positions(table, tcol, &keys, step)?;
        let n_steps = positions[positions.len() - 1] as usize + 1;

        // Rows at the end whose targets are all missing are future rows.
        let mut history_rows = table.n_rows;
        while history_rows > 0
            && target_cols
                .iter()
                .all(|&c| is_missing(&table.columns[c][history_rows - 1]))
        {
            history_rows -= 1;
        }
        if history_rows < 2 {
            return Err(Error::format(
                &table.path,
                "fewer than 2 rows have target values",
            ));
        }
        let history_steps = positions[history_rows - 1] as usize + 1;

        let mut filled = 0;
        // Gaps in the time grid.
        for r in 1..table.n_rows {
            let jump = positions[r] - positions[r - 1];
            if jump > 1 {
                if columns.fill.is_none() {
                    return Err(table.cell_error(
                        r,
                        tcol,
                        format!(
                            "gap in the time series: {} missing step(s) of {} between '{}' and '{}'; fill them with `fill` linear|previous|zero or add the rows",
                            jump - 1,
                            step.describe(),
                            table.columns[tcol][r - 1],
                            table.columns[tcol][r]
                        ),
                    ));
                }
                filled += (jump - 1) as usize;
            }
        }
        let read = |c: usize, len: usize, rows: usize, filled: &mut usize| -> Result<Vec<f64>> {
            let mut values = vec![f64::NAN; len];
            for (r, &pos) in positions.iter().enumerate().take(rows) {
                let cell = &table.columns[c][r];
                let pos = pos as usize;
                if is_missing(cell) {
                    if columns.fill.is_none() {
                        return Err(table.cell_error(
                            r,
                            c,
                            "missing value; fill it with `fill` linear|previous|zero or fix the data",
                        ));
                    }
                    *filled += 1;
                    continue;
                }
                let v: f64 = cell
                    .parse()
                    .map_err(|_| table.cell_error(r, c, format!("'{cell}' is not a number")))?;
                if !v.is_finite() {
                    return Err(table.cell_error(r, c, format!("'{cell}' is not finite")));
                }
                values[pos] = v;
            }
            if let Some(fill) = columns.fill {
                fill_missing(&mut values, fill);
            }
            if values.iter().any(|v| v.is_nan()) {
                return Err(table.cell_error(0, c, "the column has no values to fill from"));
            }
            Ok(values)
        };
        let targets = target_cols
            .iter()
            .map(|&c| {
                Ok(Column {
                    name: table.headers[c].clone(),
                    values: read(c, history_steps, history_rows, &mut filled)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let exog = exog_cols
            .iter()
            .map(|&c| {
                Ok(Column {
                    name: table.headers[c].clone(),
                    values: read(c, n_steps, table.n_rows, &mut filled)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let times = (0..n_steps as i64)
            .map(|i| step.advance(keys[0], i))
            .collect();
        Ok(Series {
            source: table.path.display().to_string(),
            time_column: table.headers[tcol].clone(),
            kind,
            step,
            times,
            targets,
            exog,
            filled,
        })
    }

    /// The time keys of the `n` steps after the last one in `times`.
    pub fn future_times(&self, n: usize) -> Vec<f64> {
        let Some(&last) = self.times.last() else {
            return Vec::new();
        };
        (1..=n as i64).map(|i| self.step.advance(last, i)).collect()
    }

    /// The first `len` observed steps (future rows dropped; exogenous columns cut to match).
    pub fn truncated(&self, len: usize) -> Series {
        let len = len.min(self.history_len());
        let mut s = self.clone();
        s.times.truncate(len);
        for c in s.targets.iter_mut().chain(s.exog.iter_mut()) {
            c.values.truncate(len);
        }
        s
    }
}

/// A compiled-in real series for demos, tests and the documentation (cargo feature `datasets`).
#[cfg(feature = "datasets")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmbeddedSeries {
    /// Monthly mean CO2 at Mauna Loa, 1958-03 to 2001-12, 526 months, columns `date,co2`
    /// (public domain; see `crates/mlp/data/README.md`).
    Co2,
}

#[cfg(feature = "datasets")]
impl EmbeddedSeries {
    /// The CSV text.
    pub fn csv_text(self) -> &'static str {
        match self {
            EmbeddedSeries::Co2 => include_str!("../../data/co2_monthly.csv"),
        }
    }

    /// Name accepted by `--dataset`.
    pub fn name(self) -> &'static str {
        match self {
            EmbeddedSeries::Co2 => "co2",
        }
    }

    /// `(time column, target column)`.
    pub fn columns(self) -> (&'static str, &'static str) {
        match self {
            EmbeddedSeries::Co2 => ("date", "co2"),
        }
    }

    /// The parsed table (its path reads `dataset:NAME`).
    pub fn table(self) -> Result<RawTable> {
        read_csv_from_reader(
            &format!("dataset:{}", self.name()),
            self.csv_text().as_bytes(),
            Some(b','),
        )
    }

    /// The series with its default columns.
    pub fn load(self) -> Result<Series> {
        let (time, target) = self.columns();
        Series::from_table(
            &self.table()?,
            &SeriesColumns {
                time: time.into(),
                targets: vec![target.into()],
                exog: Vec::new(),
                fill: None,
            },
        )
    }
}

#[cfg(feature = "datasets")]
impl std::str::FromStr for EmbeddedSeries {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "co2" => Ok(EmbeddedSeries::Co2),
            other => Err(Error::config(
                "dataset",
                format!("unknown series '{other}'; built in: co2"),
            )),
        }
    }
}

/// A period label as the first day of its period: `(year, month, quarter?)` for quarters
/// `1971Q1`, `1971-Q1`, `1971 Q1` (`q` accepted) and months `1971M01`, `1971M1`, `1971-01`.
/// `None` for anything else (dates, numbers, out-of-range quarters and months).
pub fn parse_period(cell: &str) -> Option<(i64, u32, TimeKind)> {
    let b = cell.trim().as_bytes();
    if b.len() < 6 || !b[..4].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let year = b[..4]
        .iter()
        .fold(0i64, |a, d| a * 10 + i64::from(d - b'0'));
    let number = |d: &[u8]| -> Option<u32> {
        if d.is_empty() || d.len() > 2 || !d.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(d.iter().fold(0u32, |a, x| a * 10 + u32::from(x - b'0')))
    };
    let mut rest = &b[4..];
    let sep = matches!(rest.first(), Some(b'-' | b' '));
    if sep {
        rest = &rest[1..];
    }
    match rest.first() {
        Some(b'Q' | b'q') => {
            let q = number(&rest[1..]).filter(|q| (1..=4).contains(q) && rest.len() == 2)?;
            Some((year, 3 * (q - 1) + 1, TimeKind::Quarter))
        }
        Some(b'M' | b'm') if !sep => {
            let m = number(&rest[1..]).filter(|m| (1..=12).contains(m))?;
            Some((year, m, TimeKind::Month))
        }
        // `1971-01`: exactly two digits after a dash (not a date, which has a day too).
        Some(_) if sep && b[4] == b'-' && rest.len() == 2 => {
            let m = number(rest).filter(|m| (1..=12).contains(m))?;
            Some((year, m, TimeKind::Month))
        }
        _ => None,
    }
}

/// The time keys of column `tcol` and what it holds: quarters and months as labelled periods
/// ([`parse_period`], decided by the first cell; every cell must then be the same kind of
/// period), otherwise numbers, dates and date-times as
/// [`crate::data::split::parse_time_column`] reads them. Errors name the file, line and column.
pub fn parse_times(table: &RawTable, tcol: usize) -> Result<(Vec<f64>, TimeKind)> {
    let first_cell = table
        .columns
        .get(tcol)
        .and_then(|c| c.first())
        .map_or("", |c| c.trim());
    if let Some((_, _, kind)) = parse_period(first_cell) {
        let example = if kind == TimeKind::Quarter {
            "a quarter like 1971Q1, 1971-Q1 or 1971 Q1"
        } else {
            "a month like 1971M01 or 1971-01"
        };
        let mut keys = Vec::with_capacity(table.n_rows);
        for (r, cell) in table.columns[tcol].iter().enumerate().take(table.n_rows) {
            match parse_period(cell) {
                Some((y, m, k)) if k == kind => {
                    keys.push(calendar::days_from_civil(y, m, 1) as f64 * DAY)
                }
                _ => {
                    return Err(table.cell_error(
                        r,
                        tcol,
                        format!(
                            "cannot parse '{}' as a time; the column holds periods, expected {example}",
                            crate::data::csv::shown(cell.trim())
                        ),
                    ));
                }
            }
        }
        return Ok((keys, kind));
    }
    let keys = parse_time_column(table, tcol)?;
    let kind = if first_cell.parse::<f64>().is_ok() {
        TimeKind::Number
    } else if first_cell.len() == 10 {
        TimeKind::Date
    } else {
        TimeKind::DateTime
    };
    Ok((keys, kind))
}

/// The toolkit's one definition of a missing cell (see [`crate::data::preprocess::is_missing`]),
/// so a file means the same thing to `forecast` as to `train` and `predict`.
fn is_missing(cell: &str) -> bool {
    crate::data::preprocess::is_missing(cell)
}

/// The most common value of `diffs` (ties: the smallest), compared exactly.
fn mode(diffs: &[i64]) -> i64 {
    let mut sorted = diffs.to_vec();
    sorted.sort_unstable();
    let (mut best, mut best_count) = (sorted[0], 0);
    let mut i = 0;
    while i < sorted.len() {
        let j = sorted[i..].partition_point(|&v| v == sorted[i]) + i;
        if j - i > best_count {
            (best, best_count) = (sorted[i], j - i);
        }
        i = j;
    }
    best
}

/// The step of strictly increasing keys (see the module documentation).
fn detect_step(keys: &[f64], kind: TimeKind) -> Step {
    match kind {
        TimeKind::Number => {
            // Differences compared on a fine grid so 0.1 + 0.2 style noise does not split them.
            let quantum = 1e-9 * keys.iter().fold(1.0f64, |m, k| m.max(k.abs()));
            let diffs: Vec<i64> = keys
                .windows(2)
                .map(|w| ((w[1] - w[0]) / quantum).round() as i64)
                .collect();
            let common = mode(&diffs);
            // The exact difference of the first pair in the winning group.
            let i = diffs.iter().position(|&d| d == common).unwrap_or(0);
            Step::Number(keys[i + 1] - keys[i])
        }
        TimeKind::Date | TimeKind::DateTime | TimeKind::Quarter | TimeKind::Month => {
            let midnight = keys.iter().all(|k| k.rem_euclid(DAY) == 0.0);
            if !midnight {
                let diffs: Vec<i64> = keys
                    .windows(2)
                    .map(|w| (w[1] - w[0]).round() as i64)
                    .collect();
                return Step::Seconds(mode(&diffs).max(1));
            }
            let dates: Vec<(i64, u32, u32)> = keys
                .iter()
                .map(|k| calendar::civil_from_days((k / DAY) as i64))
                .collect();
            // Monthly when nearly all dates (90 %) share a day of the month or are month ends,
            // so that one odd date is reported as irregular instead of changing the step.
            let most = |count: usize| count * 10 >= dates.len() * 9;
            let day = mode(&dates.iter().map(|d| d.2 as i64).collect::<Vec<_>>()) as u32;
            let same_day = most(dates.iter().filter(|d| d.2 == day).count());
            let month_ends = most(
                dates
                    .iter()
                    .filter(|&&(y, m, d)| d == calendar::days_in_month(y, m))
                    .count(),
            );
            let months: Vec<i64> = dates.iter().map(|&(y, m, _)| y * 12 + m as i64).collect();
            if (same_day || month_ends) && months.windows(2).all(|w| w[1] > w[0]) {
                let diffs: Vec<i64> = months.windows(2).map(|w| w[1] - w[0]).collect();
                return Step::Months(mode(&diffs));
            }
            let diffs: Vec<i64> = keys
                .windows(2)
                .map(|w| ((w[1] - w[0]) / DAY).round() as i64)
                .collect();
            Step::Days(mode(&diffs).max(1))
        }
    }
}

/// The grid index of every row; an irregular row is an error.
fn grid_positions(table: &RawTable, tcol: usize, keys: &[f64], step: Step) -> Result<Vec<i64>> {
    let irregular = |r: usize| {
        table.cell_error(
            r,
            tcol,
            format!(
                "irregular time step: '{}' is not a whole number of steps ({}) after '{}'",
                table.columns[tcol][r],
                step.describe(),
                table.columns[tcol][0]
            ),
        )
    };
    let mut positions = Vec::with_capacity(keys.len());
    for (r, &k) in keys.iter().enumerate() {
        let pos = match step {
            Step::Number(v) => {
                let p = (k - keys[0]) / v;
                if (p - p.round()).abs() > 1e-6 {
                    return Err(irregular(r));
                }
                p.round() as i64
            }
            Step::Seconds(s) => {
                let d = (k - keys[0]).round() as i64;
                if d % s != 0 {
                    return Err(irregular(r));
                }
                d / s
            }
            Step::Days(n) => {
                let d = ((k - keys[0]) / DAY).round() as i64;
                if d % n != 0 {
                    return Err(irregular(r));
                }
                d / n
            }
            Step::Months(n) => {
                let (y0, m0, _) = calendar::civil_from_days((keys[0] / DAY) as i64);
                let (y, m, _) = calendar::civil_from_days((k / DAY) as i64);
                let d = (y - y0) * 12 + m as i64 - m0 as i64;
                if d % n != 0 || step.advance(keys[0], d / n) != k {
                    return Err(irregular(r));
                }
                d / n
            }
        };
        positions.push(pos);
    }
    Ok(positions)
}

/// Fills NaN entries in place.
pub fn fill_missing(values: &mut [f64], fill: Fill) {
    let known: Vec<usize> = (0..values.len()).filter(|&i| !values[i].is_nan()).collect();
    let (Some(&first), Some(&last)) = (known.first(), known.last()) else {
        return;
    };
    match fill {
        Fill::Zero => values
            .iter_mut()
            .filter(|v| v.is_nan())
            .for_each(|v| *v = 0.0),
        Fill::Previous => {
            let mut prev = values[first];
            for v in values.iter_mut() {
                if v.is_nan() {
                    *v = prev;
                } else {
                    prev = *v;
                }
            }
        }
        Fill::Linear => {
            let (head, tail) = (values[first], values[last]);
            values[..first].fill(head);
            values[last + 1..].fill(tail);
            for w in known.windows(2) {
                let (a, b) = (w[0], w[1]);
                for i in a + 1..b {
                    let t = (i - a) as f64 / (b - a) as f64;
                    values[i] = values[a] + t * (values[b] - values[a]);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> RawTable {
        read_csv_from_reader("test.csv", text.as_bytes(), None).expect("test setup")
    }

    fn cols(fill: Option<Fill>) -> SeriesColumns {
        SeriesColumns {
            time: "t".into(),
            targets: vec!["y".into()],
            exog: Vec::new(),
            fill,
        }
    }

    #[test]
    fn detects_steps() {
        let cases = [
            ("1\n2\n3\n4", Step::Number(1.0)),
            ("0.5\n1.0\n1.5", Step::Number(0.5)),
            ("2024-01-31\n2024-02-29\n2024-03-31", Step::Months(1)),
            ("2024-01-01\n2024-04-01\n2024-07-01", Step::Months(3)),
            ("2020-01-01\n2021-01-01\n2022-01-01", Step::Months(12)),
            ("2024-01-01\n2024-01-02\n2024-01-03", Step::Days(1)),
            ("2024-01-01\n2024-01-08\n2024-01-15", Step::Days(7)),
            (
                "2024-01-01T00:00\n2024-01-01T01:00\n2024-01-01T02:00",
                Step::Seconds(3600),
            ),
        ];
        for (times, want) in cases {
            let text = format!(
                "t,y\n{}\n",
                times
                    .lines()
                    .map(|t| format!("{t},1"))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
            let s = Series::from_table(&table(&text), &cols(None)).expect("test setup");
            match (s.step, want) {
                (Step::Number(a), Step::Number(b)) => assert!((a - b).abs() < 1e-9),
                (a, b) => assert_eq!(a, b, "{times}"),
            }
            // The grid reproduces the given times exactly.
            let given: Vec<f64> = parse_time_column(&table(&text), 0).expect("test setup");
            for (a, b) in s.times.iter().zip(&given) {
                assert!((a - b).abs() < 1e-6, "{times}");
            }
        }
    }

    #[test]
    fn quarter_and_month_labels_are_times() {
        for (times, kind, step, first) in [
            (
                "1971Q1\n1971Q2\n1971Q3\n1971Q4\n1972Q1",
                TimeKind::Quarter,
                3,
                "1971Q1",
            ),
            ("1971-Q1\n1971-Q2\n1971-Q3", TimeKind::Quarter, 3, "1971Q1"),
            ("1971 Q3\n1971 Q4\n1972 Q1", TimeKind::Quarter, 3, "1971Q3"),
            ("1971q4\n1972q1\n1972q2", TimeKind::Quarter, 3, "1971Q4"),
            ("1971M11\n1971M12\n1972M01", TimeKind::Month, 1, "1971-11"),
            ("1971-11\n1971-12\n1972-01", TimeKind::Month, 1, "1971-11"),
        ] {
            let text = format!(
                "t,y\n{}\n",
                times
                    .lines()
                    .map(|t| format!("{t},1"))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
            let s = Series::from_table(&table(&text), &cols(None)).expect(times);
            assert_eq!((s.kind, s.step), (kind, Step::Months(step)), "{times}");
            assert_eq!(format_time(s.times[0], s.kind), first, "{times}");
            // The next period after the last, written the same way.
            let next = format_time(s.future_times(1)[0], s.kind);
            let last = times.lines().last().expect("nonempty");
            assert_ne!(
                next,
                format_time(*s.times.last().expect("nonempty"), s.kind)
            );
            assert!(parse_period(&next).is_some(), "{last} -> {next}");
            assert_eq!(
                format_time(s.times[s.times.len() - 1], s.kind).len(),
                first.len()
            );
        }
        assert_eq!(
            format_time(Step::Months(3).advance(0.0, 5), TimeKind::Quarter),
            "1971Q2"
        );
        // Not periods: dates, numbers, quarter 5, month 13.
        for cell in [
            "1971-01-01",
            "1971",
            "1971Q5",
            "1971M13",
            "1971-13",
            "19710",
            "1971-M01",
        ] {
            assert_eq!(parse_period(cell), None, "{cell}");
        }
        // A gap among quarters is the usual one-line error naming the row; a non-quarter
        // among quarters too.
        let err = Series::from_table(&table("t,y\n1971Q1,1\n1971Q2,2\n1971Q4,4\n"), &cols(None))
            .expect_err("gap")
            .to_string();
        assert!(
            err.starts_with("test.csv, line 4, column 't': gap"),
            "{err}"
        );
        assert!(err.contains("'1971Q2' and '1971Q4'"), "{err}");
        let err = Series::from_table(&table("t,y\n1971Q1,1\n1971-04-01,2\n"), &cols(None))
            .expect_err("mixed")
            .to_string();
        assert!(err.starts_with("test.csv, line 3, column 't'"), "{err}");
        assert!(err.contains("1971Q1") && !err.contains('\n'), "{err}");
        // Two labels of the same quarter: not after the previous row.
        let err = Series::from_table(&table("t,y\n1971Q1,1\n1971-Q1,2\n"), &cols(None))
            .expect_err("duplicate")
            .to_string();
        assert!(err.contains("line 3") && err.contains("not after"), "{err}");
    }

    #[test]
    fn gap_is_an_error_naming_file_and_line() {
        let text = "t,y\n2024-01-01,1\n2024-02-01,2\n2024-04-01,4\n2024-05-01,5\n";
        let err = Series::from_table(&table(text), &cols(None))
            .expect_err("should be refused")
            .to_string();
        assert!(
            err.starts_with("test.csv, line 4, column 't': gap"),
            "{err}"
        );
        assert!(err.contains("1 missing step(s) of 1 month"), "{err}");
        assert!(!err.contains('\n'));
    }

    #[test]
    fn gaps_are_filled_on_request() {
        let text = "t,y,x\n1,1,10\n2,2,20\n5,8,50\n6,10,60\n";
        let mut c = cols(Some(Fill::Linear));
        c.exog = vec!["x".into()];
        let s = Series::from_table(&table(text), &c).expect("test setup");
        assert_eq!(s.targets[0].values, vec![1.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        assert_eq!(s.exog[0].values, vec![10.0, 20.0, 30.0, 40.0, 50.0, 60.0]);
        assert_eq!(s.times, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(s.filled, 2);
        let c = cols(Some(Fill::Previous));
        let s = Series::from_table(&table(text), &c).expect("test setup");
        assert_eq!(s.targets[0].values, vec![1.0, 2.0, 2.0, 2.0, 8.0, 10.0]);
        let s = Series::from_table(&table(text), &cols(Some(Fill::Zero))).expect("test setup");
        assert_eq!(s.targets[0].values, vec![1.0, 2.0, 0.0, 0.0, 8.0, 10.0]);
    }

    #[test]
    fn missing_cell_and_irregular_and_unsorted_rows() {
        let err = Series::from_table(&table("t,y\n1,1\n2,\n3,3\n4,\n5,5\n"), &cols(None))
            .expect_err("should be refused")
            .to_string();
        assert!(err.contains("line 3, column 'y': missing value"), "{err}");
        let s = Series::from_table(
            &table("t,y\n1,1\n2,\n3,3\n4,4\n"),
            &cols(Some(Fill::Linear)),
        )
        .expect("test setup");
        assert_eq!(s.targets[0].values, vec![1.0, 2.0, 3.0, 4.0]);
        let err = Series::from_table(
            &table("t,y\n0,1\n2,1\n4,1\n6,1\n7,1\n8,1\n10,1\n"),
            &cols(None),
        )
        .expect_err("should be refused")
        .to_string();
        assert!(err.contains("line 6") && err.contains("irregular"), "{err}");
        let err = Series::from_table(&table("t,y\n1,1\n3,1\n2,1\n"), &cols(None))
            .expect_err("should be refused")
            .to_string();
        assert!(err.contains("line 4") && err.contains("not after"), "{err}");
    }

    #[test]
    fn trailing_rows_without_targets_are_future_exog() {
        let text = "t,y,x\n1,1,0\n2,2,1\n3,3,0\n4,,1\n5,,0\n";
        let mut c = cols(None);
        c.exog = vec!["x".into()];
        let s = Series::from_table(&table(text), &c).expect("test setup");
        assert_eq!((s.history_len(), s.future_len()), (3, 2));
        assert_eq!(s.exog[0].values.len(), 5);
        assert_eq!(s.future_times(2), vec![6.0, 7.0]);
    }

    #[test]
    fn month_arithmetic_and_formatting() {
        let jan31 = calendar::days_from_civil(2024, 1, 31) as f64 * DAY;
        let feb = Step::Months(1).advance(jan31, 1);
        assert_eq!(format_time(feb, TimeKind::Date), "2024-02-29");
        assert_eq!(
            format_time(Step::Months(1).advance(jan31, 2), TimeKind::Date),
            "2024-03-31"
        );
        assert_eq!(format_time(3.0, TimeKind::Number), "3");
        assert_eq!(
            format_time(DAY + 3723.0, TimeKind::DateTime),
            "1970-01-02T01:02:03"
        );
    }

    #[cfg(feature = "datasets")]
    #[test]
    fn embedded_co2_loads_without_gaps() {
        let s = EmbeddedSeries::Co2.load().expect("test setup");
        assert_eq!(s.history_len(), 526);
        assert_eq!(s.step, Step::Months(1));
        assert_eq!(format_time(s.times[0], s.kind), "1958-03-01");
        assert_eq!(format_time(s.times[525], s.kind), "2001-12-01");
    }
}
