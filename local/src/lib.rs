//! The local runner: the whole Redress pipeline on one machine, against DynamoDB Local
//! and moto, with the same handlers, event types and AWS SDK code as in Lambda.

pub mod auth;
pub mod cognito;
pub mod demo;
pub mod http;
pub mod pipeline;
pub mod poller;
pub mod provision;
pub mod template;

pub use pipeline::{LocalOptions, LocalPipeline};
