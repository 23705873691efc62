//! One module per subcommand.

pub mod analyze;
pub mod attack;
pub mod bench;
pub mod cv;
pub mod data;
pub mod demo;
pub mod eval;
pub mod export;
pub mod export_c;
pub mod forecast;
pub mod graph_features;
pub mod import;
pub mod importance;
pub mod info;
pub mod jet;
pub mod lsa;
pub mod pinn;
pub mod predict;
pub mod prune;
pub mod quantize;
pub mod reach;
pub mod serve;
pub mod sweep;
pub mod train;
pub mod verify;
