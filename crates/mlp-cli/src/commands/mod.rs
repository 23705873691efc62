//! One module per subcommand.

pub mod bench;
pub mod demo;
pub mod eval;
pub mod forecast;
pub mod info;
pub mod predict;
pub mod sweep;
pub mod train;
