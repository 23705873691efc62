//! One module per subcommand.

pub mod analyze;
pub mod attack;
pub mod bench;
pub mod cv;
pub mod data;
pub mod demo;
pub mod eval;
pub mod forecast;
pub mod importance;
pub mod info;
pub mod jet;
pub mod lsa;
pub mod pinn;
pub mod predict;
pub mod prune;
pub mod quantize;
pub mod reach;
pub mod sweep;
pub mod train;
pub mod verify;
