//! Physics workflows built on input derivatives: physics-informed MLPs ([`pinn`]) and the
//! Burgers reference they are scored against ([`burgers`]).

pub mod burgers;
pub mod pinn;
