//! The Redress domain: what a complaint is, how it is classified, routed and given
//! deadlines, and how repeats are found. Plain types and pure functions: no AWS types,
//! no I/O beyond reading configuration text.

pub mod assess;
pub mod borrower;
pub mod classify;
pub mod complaint;
pub mod config;
pub mod dates;
pub mod keyring;
pub mod lifecycle;
pub mod metrics;
pub mod model;
pub mod notify;
pub mod ports;
pub mod reference;
pub mod repeat;
pub mod report;
pub mod retry;
pub mod routing;
pub mod signin;
pub mod sla;
pub mod survey;
pub mod taxonomy;
pub mod ticket;
pub mod watch;

pub use taxonomy::{Bilingual, CategoryId, Channel, Language, Priority, Signal, TeamId};
