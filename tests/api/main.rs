//! Black-box tests: the real `assessment-service` binary on a random port, against a fresh
//! database per test, on SQLite and on PostgreSQL.

mod helpers;

mod auth;
mod crash;
mod generate;
mod generation;
mod hardening;
mod history;
mod idempotency;
mod instances;
mod limits;
mod llm;
mod operations;
mod settings;
mod storage;
mod webhooks;
