//! Fuzz target: a model or checkpoint file (safetensors container plus JSON metadata) never
//! makes loading panic; every error names the file; a model that loads can predict one row.

use std::path::Path;

use mlp::io::TensorFile;
use mlp::io::checkpoint;
use mlp::model::Model;

const NAME: &str = "fuzz.safetensors";

fn named(e: &mlp::Error) {
    let msg = e.to_string();
    assert!(msg.contains(NAME), "error does not name the file: {msg}");
}

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let path = Path::new(NAME);
        let file = match TensorFile::from_bytes(data, path) {
            Ok(f) => f,
            Err(e) => return named(&e),
        };
        match Model::from_tensor_file(&file, path) {
            Ok(model) => {
                let n = model.n_features();
                // A crafted file may hold a huge (but consistent) network; predicting with it
                // is not what is being fuzzed.
                if n <= 4096 && model.network.n_params() <= 1 << 20 {
                    let _ = model.forward(&vec![0.5; n], 1);
                }
            }
            Err(e) => named(&e),
        }
        if file.metadata.contains_key("checkpoint") {
            if let Err(e) = checkpoint::load_from_bytes(data, path) {
                named(&e);
            }
        }
    });
}
