//! The `mlp` command-line tool.

fn main() {}
