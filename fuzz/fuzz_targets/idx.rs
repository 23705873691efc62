//! Fuzz target: the IDX reader never panics, never allocates beyond what the bytes justify, and
//! every error names the file.

use std::path::Path;

const NAME: &str = "fuzz.idx";

fn main() {
    afl::fuzz!(|data: &[u8]| {
        match mlp::data::idx::read_idx_from_bytes(data, Path::new(NAME)) {
            Ok(a) => {
                let count: usize = a.dims.iter().product();
                assert_eq!(a.data.len(), count);
            }
            Err(e) => {
                let msg = e.to_string();
                assert!(msg.contains(NAME), "error does not name the file: {msg}");
            }
        }
    });
}
