//! Helpers shared by the CLI test files: run the `mlp` binary, read what it printed, and a
//! temporary folder that removes itself.
// Each test file uses its own subset of these helpers.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

/// Runs the `mlp` binary built for these tests.
pub fn mlp(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mlp"))
        .args(args)
        .output()
        .expect("run mlp")
}

/// What the run printed on standard output.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// What the run printed on standard error.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs `mlp` and asserts that it succeeded (printing both streams when it did not).
pub fn run_ok(args: &[&str]) -> Output {
    let o = mlp(args);
    assert!(
        o.status.success(),
        "mlp {args:?} failed:\n{}\n{}",
        stdout(&o),
        stderr(&o)
    );
    o
}

/// A fresh folder under the system's temporary directory, removed when dropped. The process id
/// in the name keeps test binaries running side by side apart.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// Creates (or empties) `mlp-test-{name}-{pid}`.
    pub fn new(name: &str) -> Self {
        let p = std::env::temp_dir().join(format!("mlp-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("temp dir");
        TempDir(p)
    }

    /// Writes `contents` to `name` inside the folder and returns the file's path.
    pub fn file(&self, name: &str, contents: &str) -> String {
        let p = self.0.join(name);
        std::fs::write(&p, contents).expect("write");
        p.display().to_string()
    }

    /// The path of `name` inside the folder (not created).
    pub fn path(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
