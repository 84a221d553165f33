//! A value remembered for a short time: what one instance may trust without asking the
//! database again (an API key's owner, a key's signing secrets), so that a change made on any
//! instance holds everywhere once the time is up.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Entries kept at most; past it the memory starts over.
const CAPACITY: usize = 10_000;

#[derive(Debug)]
pub struct Recent<V> {
    ttl: Duration,
    entries: Mutex<HashMap<String, (V, Instant)>>,
}

impl<V: Clone> Recent<V> {
    /// Values are trusted for `ttl` after they were put.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::default(),
        }
    }

    /// The value put under `key` less than the time-to-live ago.
    pub fn get(&self, key: &str) -> Option<V> {
        let entries = self.lock();
        let (value, at) = entries.get(key)?;
        (at.elapsed() < self.ttl).then(|| value.clone())
    }

    pub fn put(&self, key: String, value: V) {
        let mut entries = self.lock();
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries.insert(key, (value, Instant::now()));
    }

    pub fn forget(&self, key: &str) {
        self.lock().remove(key);
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, (V, Instant)>> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_trusted_until_its_time_is_up_or_it_is_forgotten() {
        let recent = Recent::new(Duration::from_secs(3_600));
        recent.put("a".to_owned(), 1);
        assert_eq!(recent.get("a"), Some(1));
        assert_eq!(recent.get("b"), None);
        recent.forget("a");
        assert_eq!(recent.get("a"), None);

        let expired = Recent::new(Duration::ZERO);
        expired.put("a".to_owned(), 1);
        assert_eq!(expired.get("a"), None);
    }
}
