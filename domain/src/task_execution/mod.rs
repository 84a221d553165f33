//! The `TaskExecution` aggregate: one assessment-generation job, from request to its end.

mod aggregate;
mod commands;
mod events;
mod upcasters;

pub use aggregate::{Lifecycle, TaskExecution, TaskExecutionError};
pub use commands::TaskExecutionCommand;
pub use events::{JobRequested, TaskExecutionEvent};
pub use upcasters::upcasters;
