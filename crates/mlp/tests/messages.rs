//! The library's messages speak the library's language: a hint names a setting (written
//! `` `impute` ``, the config key), never a command-line flag (`--impute`), because the library
//! has no command line; the CLI rewrites setting names into the flags of the running subcommand.
//! This scans the library's own source rather than provoking every error, so a new message that
//! names a flag fails here even before anyone writes a test that triggers it.

use std::path::{Path, PathBuf};

/// Lines that may name a flag, each with the reason: (file suffix, text on the line, reason).
const ALLOWED: &[(&str, &str, &str)] = &[];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).expect("read source dir");
    for entry in entries {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// True when `line` has `--` followed by a lowercase letter at the start of a word, i.e. a flag.
fn names_a_flag(line: &str) -> bool {
    let bytes = line.as_bytes();
    bytes.windows(3).enumerate().any(|(i, w)| {
        w[0] == b'-'
            && w[1] == b'-'
            && w[2].is_ascii_lowercase()
            && (i == 0 || matches!(bytes[i - 1], b' ' | b'"' | b'(' | b'\'' | b'`'))
    })
}

#[test]
fn library_messages_name_settings_not_flags() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 20, "found only {} source files", files.len());
    let mut found = Vec::new();
    for file in &files {
        // Unit-test files quote messages, they do not produce them.
        if file.file_name().is_some_and(|n| n == "tests.rs") {
            continue;
        }
        let text = std::fs::read_to_string(file).expect("read source file");
        for (n, line) in text.lines().enumerate() {
            // A unit-test module ends the code that builds messages.
            if line.trim_start().starts_with("#[cfg(test)]") {
                break;
            }
            // Doc and plain comments may talk about the CLI.
            if line.trim_start().starts_with("//") || !names_a_flag(line) {
                continue;
            }
            let shown = file
                .strip_prefix(&src)
                .unwrap_or(file)
                .display()
                .to_string();
            let allowed = ALLOWED
                .iter()
                .any(|(f, t, _)| shown.ends_with(f) && line.contains(t));
            if !allowed {
                found.push(format!("src/{shown}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "library messages name CLI flags; name the setting as `name` instead (the CLI maps it):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_scan_sees_a_flag() {
    // The scan must be able to fail: a flag in a message is seen, a decrement-like `x--` is not.
    assert!(names_a_flag("\"use --impute mean\""));
    assert!(names_a_flag("leave it out with --ignore '{name}'"));
    assert!(!names_a_flag("set `impute` to mean"));
    assert!(!names_a_flag("a -- b"));
}
