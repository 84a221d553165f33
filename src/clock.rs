//! The one clock of the service. Whatever decides by the time of day (leases, retries, a
//! rotated-out secret's grace period, the times recorded in events and logs) reads a `Clock`
//! handed to it, so tests set and move the time instead of sleeping.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::store::time::LeaseClock;

/// The system clock, or in tests a manual one.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    manual: Option<Arc<Mutex<DateTime<Utc>>>>,
}

impl Clock {
    /// The system's wall clock.
    pub fn system() -> Clock {
        Clock::default()
    }

    /// A clock that stands at `start` until moved with [`Clock::advance`].
    pub fn manual(start: DateTime<Utc>) -> Clock {
        Clock {
            manual: Some(Arc::new(Mutex::new(start))),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        match &self.manual {
            None => Utc::now(),
            Some(time) => *time.lock().unwrap_or_else(|poisoned| poisoned.into_inner()),
        }
    }

    /// The clock leases are judged by: the database's for the system clock (instances' wall
    /// clocks may disagree; the database's is one for all), this one's time for a manual one.
    pub fn for_leases(&self) -> LeaseClock {
        match &self.manual {
            None => LeaseClock::Database,
            Some(_) => LeaseClock::At(self.now()),
        }
    }

    /// Moves a manual clock forward (every copy of it sees the move).
    ///
    /// # Panics
    /// On the system clock, which nobody moves.
    pub fn advance(&self, by: Duration) {
        let time = self
            .manual
            .as_ref()
            .expect("only a manual clock can be moved");
        let mut time = time.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        *time += by;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told_and_every_copy_sees_it() {
        let start = DateTime::from_timestamp(1_000_000, 0).unwrap();
        let clock = Clock::manual(start);
        let copy = clock.clone();
        assert_eq!(copy.now(), start);
        clock.advance(Duration::from_secs(90));
        assert_eq!(copy.now(), start + Duration::from_secs(90));
        assert_eq!(
            copy.for_leases(),
            LeaseClock::At(start + Duration::from_secs(90))
        );
        assert_eq!(Clock::system().for_leases(), LeaseClock::Database);
    }
}
