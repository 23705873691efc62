//! Reading delimited text files (CSV, TSV, ...) into a [`RawTable`] of trimmed string cells.
//!
//! Rules:
//!
//! - The first non-blank record is the header; every column needs a non-empty, unique name.
//! - The delimiter is one of `,` `;` tab `|`. When not given it is sniffed from the first records
//!   (up to 50 records in the first 64 KiB): the candidate that splits the header into more than
//!   one field and gives every sampled record the same field count wins; among several such
//!   candidates the one with the most fields wins, ties going to the order above. When no
//!   candidate is consistent, the one whose header has more than one field and matches the most
//!   records is used (so the ragged-row error names the right line); failing that, `,`.
//! - Quoting follows RFC 4180 as implemented by the `csv` crate: fields may be wrapped in `"`,
//!   may then contain the delimiter and newlines, and `""` is a literal quote.
//! - Every cell (and header name) is trimmed of surrounding whitespace. A UTF-8 byte-order mark
//!   at the start of the file is ignored.
//! - Empty lines, and lines holding only whitespace, are skipped. Line numbers in errors are the
//!   physical, 1-based lines of the file (the header is line 1; a quoted field spanning lines
//!   is reported at the line where its record starts).
//! - Every data record must have as many fields as the header; otherwise
//!   [`Error::Parse`] with `expected N fields, found M`.
//! - The file must be UTF-8; an invalid byte is reported with its line and column.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The delimiters tried, in order of preference, when none is given.
pub const DELIMITER_CANDIDATES: [u8; 4] = [b',', b';', b'\t', b'|'];

/// How much of the file the delimiter sniffer looks at.
const SNIFF_BYTES: usize = 64 * 1024;
/// How many records the delimiter sniffer looks at.
const SNIFF_RECORDS: usize = 50;

/// A delimited text file as trimmed string cells, stored column by column.
#[derive(Debug, Clone, PartialEq)]
pub struct RawTable {
    /// The file the table came from (or the name given to [`read_csv_from_reader`]).
    pub(crate) path: PathBuf,
    /// Column names from the header row, trimmed, non-empty and unique.
    pub(crate) headers: Vec<String>,
    /// Column-major cells: `columns[c][r]` is row `r` of column `c`, trimmed.
    pub(crate) columns: Vec<Vec<String>>,
    /// Number of data rows (the header not counted).
    pub(crate) n_rows: usize,
    /// The delimiter used (given or sniffed).
    pub(crate) delimiter: u8,
    /// The 1-based line of the file on which each data row starts; may be empty for tables built
    /// in memory, in which case row `r` is taken to be on line `r + 2`. Use [`RawTable::line`].
    pub(crate) lines: Vec<u64>,
}

impl RawTable {
    /// The file the table came from (or the name given to [`read_csv_from_reader`]).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Column names from the header row, trimmed, non-empty and unique.
    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    /// Every column's cells, column-major: `columns()[c][r]` is row `r` of column `c`, trimmed.
    pub fn columns(&self) -> &[Vec<String>] {
        &self.columns
    }

    /// Number of data rows (the header not counted).
    pub fn n_rows(&self) -> usize {
        self.n_rows
    }

    /// The delimiter used (given or sniffed).
    pub fn delimiter(&self) -> u8 {
        self.delimiter
    }

    /// Resolves a column: by exact name first; if no column has that name and `spec` is an
    /// integer, as a 0-based column index. Otherwise [`Error::UnknownColumn`] listing the columns.
    pub fn column_index(&self, spec: &str) -> Result<usize> {
        if let Some(i) = self.find_column(spec) {
            return Ok(i);
        }
        if let Ok(i) = spec.trim().parse::<usize>()
            && i < self.headers.len()
        {
            return Ok(i);
        }
        Err(self.unknown_column(spec))
    }

    /// The index of the column with exactly this name, if any.
    pub fn find_column(&self, name: &str) -> Option<usize> {
        self.headers.iter().position(|h| h == name)
    }

    /// Number of columns.
    pub fn n_columns(&self) -> usize {
        self.headers.len()
    }

    /// The 1-based file line on which data row `row` (0-based) starts.
    pub fn line(&self, row: usize) -> u64 {
        self.lines.get(row).copied().unwrap_or(row as u64 + 2)
    }

    /// The column names, comma-separated (for error messages).
    pub fn available_columns(&self) -> String {
        self.headers.join(", ")
    }

    /// Checks that a table (perhaps built in memory) has one column per header and `n_rows`
    /// cells in every column, so indexing it cannot panic.
    pub(crate) fn check_shape(&self) -> Result<()> {
        if self.columns.len() != self.headers.len() {
            return Err(Error::shape(
                "table",
                format!("{} columns (one per header)", self.headers.len()),
                format!("{} columns", self.columns.len()),
            ));
        }
        if let Some((c, col)) = self
            .columns
            .iter()
            .enumerate()
            .find(|(_, col)| col.len() != self.n_rows)
        {
            return Err(Error::shape(
                format!("table column '{}'", self.headers[c]),
                format!("{} cells", self.n_rows),
                format!("{} cells", col.len()),
            ));
        }
        Ok(())
    }

    /// An [`Error::UnknownColumn`] for `name` in this table.
    pub fn unknown_column(&self, name: &str) -> Error {
        Error::UnknownColumn {
            path: self.path.clone(),
            name: name.to_string(),
            available: self.available_columns(),
        }
    }

    /// An [`Error::Parse`] about data row `row` (0-based) of column `col`.
    pub fn cell_error(&self, row: usize, col: usize, msg: impl Into<String>) -> Error {
        Error::Parse {
            path: self.path.clone(),
            line: self.line(row),
            column: self
                .headers
                .get(col)
                .map_or_else(|| (col + 1).to_string(), |h| shown(h)),
            msg: msg.into(),
        }
    }
}

/// Reads a delimited text file with a header row. `delimiter: None` sniffs it (see the module
/// docs).
pub fn read_csv(path: &Path, delimiter: Option<u8>) -> Result<RawTable> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse_bytes(path.to_path_buf(), &bytes, delimiter)
}

/// Like [`read_csv`] but from any reader (embedded data, stdin); `name` stands in for the path in
/// errors and in [`RawTable::path`].
pub fn read_csv_from_reader(
    name: &str,
    mut reader: impl Read,
    delimiter: Option<u8>,
) -> Result<RawTable> {
    let mut bytes = Vec::new();
    reader
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(name, e))?;
    parse_bytes(PathBuf::from(name), &bytes, delimiter)
}

/// A record holding one field that is empty after trimming: a blank line.
fn is_blank(record: &csv::ByteRecord) -> bool {
    record.len() == 1 && record[0].trim_ascii().is_empty()
}

fn delimiter_name(d: u8) -> String {
    match d {
        b'\t' => "tab".to_string(),
        _ => format!("'{}'", d as char),
    }
}

fn parse_bytes(path: PathBuf, bytes: &[u8], delimiter: Option<u8>) -> Result<RawTable> {
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(Error::format(&path, "file is empty; expected a header row"));
    }
    let delimiter = match delimiter {
        Some(d) => {
            if matches!(d, b'"' | b'\n' | b'\r') || !d.is_ascii() {
                return Err(Error::config(
                    "delimiter",
                    format!(
                        "{} cannot be a delimiter; use a single ASCII character such as ',' ';' tab or '|'",
                        delimiter_name(d)
                    ),
                ));
            }
            d
        }
        None => sniff_delimiter(body),
    };

    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(body);
    let mut record = csv::ByteRecord::new();
    let mut headers: Option<Vec<String>> = None;
    let mut columns: Vec<Vec<String>> = Vec::new();
    let mut lines: Vec<u64> = Vec::new();
    let mut lines_seen = LineCounter::default();

    loop {
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(csv_error(&path, e)),
        }
        if is_blank(&record) {
            continue;
        }
        let line = match record.position() {
            Some(p) => lines_seen.line_at(body, p.byte()),
            None => 0,
        };
        match &headers {
            None => {
                let names = read_header(&path, &record, line)?;
                columns = vec![Vec::new(); names.len()];
                headers = Some(names);
            }
            Some(names) => {
                if record.len() != names.len() {
                    let column = if record.len() < names.len() {
                        shown(&names[record.len()])
                    } else {
                        (names.len() + 1).to_string()
                    };
                    return Err(Error::Parse {
                        path,
                        line,
                        column,
                        msg: format!(
                            "expected {} fields, found {} (delimiter {}; quote fields that contain it)",
                            names.len(),
                            record.len(),
                            delimiter_name(delimiter)
                        ),
                    });
                }
                for (c, raw) in record.iter().enumerate() {
                    let cell = field_str(&path, raw, line, &names[c])?;
                    columns[c].push(cell);
                }
                lines.push(line);
            }
        }
    }

    let Some(headers) = headers else {
        return Err(Error::format(&path, "file is empty; expected a header row"));
    };
    Ok(RawTable {
        path,
        headers,
        columns,
        n_rows: lines.len(),
        delimiter,
        lines,
    })
}

/// Physical line numbers from byte offsets, counted incrementally.
///
/// The `csv` crate's record positions point just past the previous record (before its line
/// terminator's `\n` and before any skipped empty lines), so the line is recomputed here from
/// the byte offset: skip leading `\r`/`\n`, then count line breaks (`\n`, or a lone `\r`).
#[derive(Default)]
struct LineCounter {
    offset: usize,
    breaks: u64,
}

impl LineCounter {
    fn line_at(&mut self, body: &[u8], byte: u64) -> u64 {
        let mut start = usize::try_from(byte).unwrap_or(usize::MAX).min(body.len());
        while start < body.len() && matches!(body[start], b'\r' | b'\n') {
            start += 1;
        }
        if start >= self.offset {
            for i in self.offset..start {
                let is_break = match body[i] {
                    b'\n' => true,
                    b'\r' => body.get(i + 1) != Some(&b'\n'),
                    _ => false,
                };
                self.breaks += u64::from(is_break);
            }
            self.offset = start;
        }
        self.breaks + 1
    }
}

fn read_header(path: &Path, record: &csv::ByteRecord, line: u64) -> Result<Vec<String>> {
    let mut names: Vec<String> = Vec::with_capacity(record.len());
    for (c, raw) in record.iter().enumerate() {
        let name = field_str(path, raw, line, &(c + 1).to_string())?;
        if name.is_empty() {
            return Err(Error::Parse {
                path: path.to_path_buf(),
                line,
                column: (c + 1).to_string(),
                msg: format!(
                    "empty column name in the header (field {}); every column needs a name",
                    c + 1
                ),
            });
        }
        if let Some(prev) = names.iter().position(|n| *n == name) {
            return Err(Error::Parse {
                path: path.to_path_buf(),
                line,
                column: shown(&name),
                msg: format!(
                    "duplicate column name (fields {} and {}); column names must be unique",
                    prev + 1,
                    c + 1
                ),
            });
        }
        names.push(name);
    }
    Ok(names)
}

fn field_str(path: &Path, raw: &[u8], line: u64, column: &str) -> Result<String> {
    match std::str::from_utf8(raw) {
        Ok(s) => Ok(s.trim().to_string()),
        Err(e) => Err(Error::Parse {
            path: path.to_path_buf(),
            line,
            column: shown(column),
            msg: format!(
                "invalid UTF-8 at byte {} of the field; save the file as UTF-8",
                e.valid_up_to() + 1
            ),
        }),
    }
}

/// A column name or cell as an error shows it: with control characters (a line break inside a quoted
/// header field) escaped, so that the message stays on one line.
pub(crate) fn shown(name: &str) -> String {
    if name.chars().any(char::is_control) {
        name.escape_debug().to_string()
    } else {
        name.to_string()
    }
}

fn csv_error(path: &Path, err: csv::Error) -> Error {
    let line = err.position().map(|p| p.line());
    match err.into_kind() {
        csv::ErrorKind::Io(e) => Error::io(path, e),
        other => match line {
            Some(line) => Error::Parse {
                path: path.to_path_buf(),
                line,
                column: String::new(),
                msg: format!("{other:?}"),
            },
            None => Error::format(path, format!("{other:?}")),
        },
    }
}

/// Field counts of the non-blank records at the start of `sample`.
fn field_counts(sample: &[u8], delimiter: u8, truncated: bool) -> Vec<usize> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(sample);
    let mut record = csv::ByteRecord::new();
    let mut counts = Vec::new();
    while counts.len() <= SNIFF_RECORDS {
        match reader.read_byte_record(&mut record) {
            Ok(true) => {
                if !is_blank(&record) {
                    counts.push(record.len());
                }
            }
            _ => break,
        }
    }
    // The last record of a cut-off sample may itself be cut off.
    if (truncated || counts.len() > SNIFF_RECORDS) && counts.len() > 1 {
        counts.pop();
    }
    counts
}

/// Picks the delimiter as described in the module docs.
fn sniff_delimiter(body: &[u8]) -> u8 {
    let truncated = body.len() > SNIFF_BYTES;
    let sample = &body[..body.len().min(SNIFF_BYTES)];
    // (consistent, fields when consistent, matching records, header fields)
    let mut best: Option<((bool, usize, usize, usize), u8)> = None;
    for &d in &DELIMITER_CANDIDATES {
        let counts = field_counts(sample, d, truncated);
        let Some(&h) = counts.first() else { continue };
        if h <= 1 {
            continue;
        }
        let matching = counts.iter().filter(|&&c| c == h).count();
        let consistent = matching == counts.len();
        let score = (consistent, if consistent { h } else { 0 }, matching, h);
        if best.is_none_or(|(s, _)| score > s) {
            best = Some((score, d));
        }
    }
    best.map_or(b',', |(_, d)| d)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    static COUNTER: AtomicUsize = AtomicUsize::new(0);

    /// Writes `contents` to a unique temp file and returns its path.
    fn temp_file(tag: &str, contents: &[u8]) -> PathBuf {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let path = std::env::temp_dir().join(format!(
            "mlp-csv-test-{}-{}-{}.csv",
            std::process::id(),
            tag,
            n
        ));
        std::fs::write(&path, contents).unwrap();
        path
    }

    fn read(tag: &str, contents: &str, delimiter: Option<u8>) -> Result<RawTable> {
        let path = temp_file(tag, contents.as_bytes());
        let result = read_csv(&path, delimiter);
        let _ = std::fs::remove_file(&path);
        result
    }

    #[test]
    fn sniffs_comma() {
        let t = read("comma", "a,b,c\n1,2,3\n4,5,6\n", None).unwrap();
        assert_eq!(t.delimiter, b',');
        assert_eq!(t.headers, vec!["a", "b", "c"]);
        assert_eq!(t.n_rows, 2);
        assert_eq!(t.columns[1], vec!["2", "5"]);
        assert_eq!(t.lines, vec![2, 3]);
    }

    #[test]
    fn sniffs_semicolon_with_decimal_commas() {
        let t = read("semi", "x;y\n1,5;2,25\n3,0;4\n", None).unwrap();
        assert_eq!(t.delimiter, b';');
        assert_eq!(t.headers, vec!["x", "y"]);
        assert_eq!(t.columns[0], vec!["1,5", "3,0"]);
    }

    #[test]
    fn sniffs_tab_and_pipe() {
        let t = read("tab", "a\tb\n1\t2\n", None).unwrap();
        assert_eq!(t.delimiter, b'\t');
        assert_eq!(t.columns[1], vec!["2"]);
        let t = read("pipe", "a|b|c\nx, y|2|3\n", None).unwrap();
        assert_eq!(t.delimiter, b'|');
        assert_eq!(t.columns[0], vec!["x, y"]);
    }

    #[test]
    fn single_column_falls_back_to_comma() {
        let t = read("single", "y\n1\n2\n", None).unwrap();
        assert_eq!(t.delimiter, b',');
        assert_eq!(t.headers, vec!["y"]);
        assert_eq!(t.n_rows, 2);
    }

    #[test]
    fn explicit_delimiter_is_used() {
        let t = read("explicit", "a;b\n1;2\n", Some(b',')).unwrap();
        assert_eq!(t.headers, vec!["a;b"]);
        assert!(matches!(
            read("badd", "a\n", Some(b'"')),
            Err(Error::InvalidConfig { .. })
        ));
    }

    #[test]
    fn quoted_fields_with_embedded_delimiters_and_newlines() {
        let t = read(
            "quoted",
            "name,desc,n\n\"Smith, J\",\"says \"\"hi\"\"\",1\n\"a\nb\",plain,2\nlast,x,3\n",
            None,
        )
        .unwrap();
        assert_eq!(t.delimiter, b',');
        assert_eq!(t.columns[0], vec!["Smith, J", "a\nb", "last"]);
        assert_eq!(t.columns[1][0], "says \"hi\"");
        // The record with the embedded newline starts on line 3, the next on line 5.
        assert_eq!(t.lines, vec![2, 3, 5]);
    }

    #[test]
    fn cells_are_trimmed_bom_and_blank_lines_skipped() {
        let path = temp_file(
            "bom",
            b"\xEF\xBB\xBF a , b \r\n 1 ,2\r\n\r\n   \r\n3, 4 \r\n",
        );
        let t = read_csv(&path, None).unwrap();
        let _ = std::fs::remove_file(&path);
        assert_eq!(t.headers, vec!["a", "b"]);
        assert_eq!(t.columns[0], vec!["1", "3"]);
        assert_eq!(t.columns[1], vec!["2", "4"]);
        assert_eq!(t.lines, vec![2, 5]);
    }

    #[test]
    fn cr_only_line_endings_count_lines() {
        let err = read("cr", "a,b\r1,2\r\r3\r", None).unwrap_err();
        match err {
            Error::Parse { line, .. } => assert_eq!(line, 4),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn ragged_row_names_the_line() {
        let err = read("ragged", "a,b,c\n1,2,3\n4,5,6\n7,8\n", None).unwrap_err();
        match err {
            Error::Parse {
                line, column, msg, ..
            } => {
                assert_eq!(line, 4);
                assert_eq!(column, "c");
                assert!(msg.contains("expected 3 fields, found 2"), "{msg}");
            }
            other => panic!("unexpected {other:?}"),
        }
        let err = read("ragged2", "a,b\n1,2\n\n3,4,5\n", None).unwrap_err();
        match err {
            Error::Parse { line, msg, .. } => {
                assert_eq!(line, 4);
                assert!(msg.contains("expected 2 fields, found 3"), "{msg}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn ragged_semicolon_file_still_sniffed() {
        // One bad row among many: the sniffer still picks ';' and the error names line 3.
        let err = read("ragsemi", "a;b;c\n1;2;3\n4;5\n6;7;8\n", None).unwrap_err();
        match err {
            Error::Parse { line, msg, .. } => {
                assert_eq!(line, 3);
                assert!(msg.contains("expected 3 fields, found 2"), "{msg}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn empty_file() {
        for contents in ["", "\n\n", "  \n"] {
            let err = read("empty", contents, None).unwrap_err();
            assert!(
                err.to_string()
                    .contains("file is empty; expected a header row"),
                "{err}"
            );
        }
    }

    #[test]
    fn header_only_file_has_no_rows() {
        let t = read("hdr", "a,b\n", None).unwrap();
        assert_eq!(t.n_rows, 0);
        assert_eq!(t.columns, vec![Vec::<String>::new(), Vec::new()]);
    }

    #[test]
    fn duplicate_and_empty_header_names() {
        let err = read("dup", "a,b,a\n1,2,3\n", None).unwrap_err();
        match err {
            Error::Parse {
                line, column, msg, ..
            } => {
                assert_eq!(line, 1);
                assert_eq!(column, "a");
                assert!(msg.contains("duplicate"), "{msg}");
            }
            other => panic!("unexpected {other:?}"),
        }
        let err = read("emptyname", "a,,c\n1,2,3\n", None).unwrap_err();
        match err {
            Error::Parse {
                line, column, msg, ..
            } => {
                assert_eq!(line, 1);
                assert_eq!(column, "2");
                assert!(msg.contains("empty column name"), "{msg}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn invalid_utf8_names_line_and_column() {
        let path = temp_file("utf8", b"a,b\n1,2\n3,\xff\xfe\n");
        let err = read_csv(&path, None).unwrap_err();
        let _ = std::fs::remove_file(&path);
        match err {
            Error::Parse {
                line, column, msg, ..
            } => {
                assert_eq!(line, 3);
                assert_eq!(column, "b");
                assert!(msg.contains("UTF-8"), "{msg}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn missing_file_is_io_error() {
        let path = std::env::temp_dir().join("mlp-csv-test-definitely-missing-file.csv");
        assert!(matches!(read_csv(&path, None), Err(Error::Io { .. })));
    }

    #[test]
    fn from_reader_uses_name() {
        let t = read_csv_from_reader("embedded:iris", "a;b\n1;2\n".as_bytes(), None).unwrap();
        assert_eq!(t.path, PathBuf::from("embedded:iris"));
        assert_eq!(t.delimiter, b';');
    }

    #[test]
    fn column_index_by_name_then_index() {
        let t = read_csv_from_reader("m", "a,1,b\nx,y,z\n".as_bytes(), None).unwrap();
        assert_eq!(t.column_index("b").unwrap(), 2);
        // "1" is a column name, so it resolves by name, not as index 1.
        assert_eq!(t.column_index("1").unwrap(), 1);
        assert_eq!(t.column_index("0").unwrap(), 0);
        assert_eq!(t.column_index("2").unwrap(), 2);
        let err = t.column_index("nope").unwrap_err();
        match &err {
            Error::UnknownColumn {
                name, available, ..
            } => {
                assert_eq!(name, "nope");
                assert_eq!(available, "a, 1, b");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(err.to_string().contains("columns are: a, 1, b"));
        assert!(matches!(
            t.column_index("7"),
            Err(Error::UnknownColumn { .. })
        ));
    }
}
