//! The assessment service: an event-sourced CQRS service that turns a job role and description
//! into a skills assessment, asynchronously, and serves its status and result over HTTP.

pub mod api_keys;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod event_log;
pub mod generator;
pub mod http;
pub mod projector;
pub mod quality;
pub mod query;
pub mod read_models;
pub mod recent;
pub mod replay;
pub mod server;
pub mod store;
pub mod transfer;
pub mod wakeups;
pub mod webhooks;
pub mod worker;
