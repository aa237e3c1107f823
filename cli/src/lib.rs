//! The `redress` command-line tool, as a library so its pure parts are unit-tested:
//! classifying complaints offline, checking the configuration, and inspecting and
//! redriving the complaints dead-letter queue.

pub mod classify;
pub mod config;
pub mod corrections;
pub mod dlq;
pub mod hold;
pub mod keys;
pub mod outbox;
pub mod reconcile;
pub mod report;
pub mod train;
pub mod user;
