//! Fuzz target: the NPY reader never panics, never allocates beyond what the bytes justify, and
//! every error names the file.

use std::path::Path;

const NAME: &str = "fuzz.npy";

fn main() {
    afl::fuzz!(|data: &[u8]| {
        match mlp::data::npy::read_npy_from_bytes(data, Path::new(NAME)) {
            Ok(a) => {
                let count: usize = a.shape.iter().product();
                assert_eq!(a.data.len(), count);
            }
            Err(e) => {
                let msg = e.to_string();
                assert!(msg.contains(NAME), "error does not name the file: {msg}");
            }
        }
    });
}
