//! Webhooks that are never lost: a durable subscription (`outbox`) turns each event of a job
//! with a `notification_url` into an outbox message, in the transaction that moves its
//! checkpoint; the `dispatcher` delivers the messages in order per job, with retries, through
//! the `sender` (signed by `signing`, guarded by `ssrf`), recording every attempt; the
//! `delivery_log` read model shows them to the client.

pub mod delivery_log;
pub mod dispatcher;
pub mod outbox;
pub mod sender;
pub mod signing;
pub mod ssrf;

use std::time::Duration;

/// How deliveries behave.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// Time one delivery may take.
    pub timeout: Duration,
    /// Waits before each retry; after the last one the message is given up.
    pub retry_schedule: Vec<Duration>,
    /// Lifts the SSRF guard (local development and tests).
    pub allow_private_targets: bool,
    /// Deliveries in flight at once.
    pub concurrency: usize,
    /// How long a rotated-out secret keeps signing.
    pub secret_grace: Duration,
}

/// About three days of retries, as Standard Webhooks senders commonly do.
pub const DEFAULT_RETRY_SCHEDULE: &str = "5s,5m,30m,2h,5h,10h,14h,20h,24h";

/// A retry schedule as one configuration value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule(pub Vec<Duration>);

impl std::str::FromStr for RetrySchedule {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        parse_schedule(text).map(RetrySchedule)
    }
}

/// Parses `1s,5m,2h,1d` (a number and a unit; no unit means seconds).
pub fn parse_schedule(text: &str) -> Result<Vec<Duration>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| {
            let split = part
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(part.len());
            let (number, unit) = part.split_at(split);
            let value: u64 = number
                .parse()
                .map_err(|_| format!("{part:?} is not a duration like 5s, 5m, 2h or 1d"))?;
            let seconds = match unit {
                "" | "s" => value,
                "ms" => return Ok(Duration::from_millis(value)),
                "m" => value * 60,
                "h" => value * 3_600,
                "d" => value * 86_400,
                _ => {
                    return Err(format!(
                        "{part:?} has an unknown unit (use ms, s, m, h or d)"
                    ))
                }
            };
            Ok(Duration::from_secs(seconds))
        })
        .collect::<Result<Vec<_>, _>>()
        .and_then(|schedule| {
            if schedule.is_empty() {
                Err("the retry schedule is empty".to_owned())
            } else {
                Ok(schedule)
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_schedule_spans_about_three_days() {
        let schedule = parse_schedule(DEFAULT_RETRY_SCHEDULE).unwrap();
        let total: Duration = schedule.iter().sum();
        assert!(total > Duration::from_secs(2 * 86_400) && total < Duration::from_secs(4 * 86_400));
        assert_eq!(
            parse_schedule("1s,5s,30s").unwrap(),
            vec![
                Duration::from_secs(1),
                Duration::from_secs(5),
                Duration::from_secs(30)
            ]
        );
        assert!(parse_schedule("5x").is_err());
        assert!(parse_schedule("").is_err());
    }
}
