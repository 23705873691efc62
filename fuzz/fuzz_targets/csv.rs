//! Fuzz target: the CSV reader never panics, and every error names the file.

use mlp::data::csv::{DELIMITER_CANDIDATES, read_csv_from_reader};

const NAME: &str = "fuzz.csv";

fn check(data: &[u8], delimiter: Option<u8>) {
    match read_csv_from_reader(NAME, data, delimiter) {
        Ok(table) => {
            // The table is rectangular and its line numbers are real lines of the input.
            assert_eq!(table.columns.len(), table.headers.len());
            assert!(table.columns.iter().all(|c| c.len() == table.n_rows));
            let lines = data.iter().filter(|&&b| b == b'\n' || b == b'\r').count() as u64 + 1;
            assert!(table.lines.iter().all(|&l| l >= 2 && l <= lines));
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(msg.contains(NAME), "error does not name the file: {msg}");
        }
    }
}

fn main() {
    afl::fuzz!(|data: &[u8]| {
        check(data, None);
        // The first byte picks an explicit delimiter for the rest.
        if let Some((&first, rest)) = data.split_first() {
            let d = DELIMITER_CANDIDATES[usize::from(first) % DELIMITER_CANDIDATES.len()];
            check(rest, Some(d));
        }
    });
}
