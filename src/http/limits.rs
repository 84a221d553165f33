//! Limits on what one client may ask: a request rate per API key (a token bucket, kept in this
//! instance's memory) and a number of queued jobs per organization (counted in the database,
//! so shared by every instance).

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use super::error::ApiError;

type PerKey =
    RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock, StateInformationMiddleware>;

/// The limits in force; each is off when unset.
#[derive(Default)]
pub struct Limits {
    rate: Option<(PerKey, u32)>,
    /// Most jobs an organization may have waiting for a worker.
    pub max_queued_jobs: Option<u32>,
}

impl std::fmt::Debug for Limits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limits")
            .field("rate", &self.rate.as_ref().map(|(_, burst)| burst))
            .field("max_queued_jobs", &self.max_queued_jobs)
            .finish()
    }
}

/// How long a client refused for its queued jobs is told to wait before trying again.
const QUEUE_RETRY_AFTER: Duration = Duration::from_secs(5);

impl Limits {
    /// `per_second` requests a second per API key, in bursts of up to `burst` (0 per second:
    /// no rate limit); at most `max_queued_jobs` queued jobs per organization (0: none).
    pub fn new(per_second: u32, burst: u32, max_queued_jobs: u32) -> Limits {
        let rate = NonZeroU32::new(per_second).map(|rate| {
            let burst = NonZeroU32::new(burst).unwrap_or(rate);
            let quota = Quota::per_second(rate).allow_burst(burst);
            (
                RateLimiter::keyed(quota).with_middleware::<StateInformationMiddleware>(),
                burst.get(),
            )
        });
        Limits {
            rate,
            max_queued_jobs: NonZeroU32::new(max_queued_jobs).map(NonZeroU32::get),
        }
    }

    /// Takes one request from `key_id`'s bucket, or refuses it with how long to wait.
    pub fn take(&self, key_id: &str) -> Result<(), ApiError> {
        let Some((limiter, burst)) = &self.rate else {
            return Ok(());
        };
        match limiter.check_key(&key_id.to_owned()) {
            Ok(_) => Ok(()),
            Err(refused) => {
                let wait = refused.wait_time_from(DefaultClock::default().now());
                Err(ApiError::TooManyRequests {
                    message: "Too many requests for this API key; slow down".to_owned(),
                    limit: *burst,
                    retry_after: wait,
                })
            }
        }
    }

    /// Refuses a new job of an organization that has `queued` jobs waiting already.
    pub fn admit_job(&self, queued: u64) -> Result<(), ApiError> {
        match self.max_queued_jobs {
            Some(max) if queued >= u64::from(max) => Err(ApiError::TooManyRequests {
                message: format!(
                    "Too many queued jobs: this organization has {max} waiting (the limit); \
                     try again once some have started"
                ),
                limit: max,
                retry_after: QUEUE_RETRY_AFTER,
            }),
            _ => Ok(()),
        }
    }

    /// Forgets the buckets of keys not seen lately (they are full again anyway).
    pub fn forget_idle(&self) {
        if let Some((limiter, _)) = &self.rate {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_gets_its_burst_then_waits_and_other_keys_are_their_own() {
        let limits = Limits::new(1, 3, 0);
        for _ in 0..3 {
            limits.take("key-a").unwrap();
        }
        match limits.take("key-a") {
            Err(ApiError::TooManyRequests {
                limit, retry_after, ..
            }) => {
                assert_eq!(limit, 3);
                assert!(retry_after > Duration::ZERO && retry_after <= Duration::from_secs(1));
            }
            other => panic!("{other:?}"),
        }
        limits.take("key-b").unwrap();
    }

    #[test]
    fn unset_limits_refuse_nothing() {
        let limits = Limits::new(0, 0, 0);
        for _ in 0..1_000 {
            limits.take("key-a").unwrap();
        }
        limits.admit_job(1_000_000).unwrap();
        let limits = Limits::new(0, 0, 2);
        limits.admit_job(1).unwrap();
        assert!(limits.admit_job(2).is_err());
    }
}
