//! The serial numbers of the last commands received, so a command the backend hands out
//! twice runs once (upstream's CommandSerialNumberCache).

use std::collections::VecDeque;

/// How many serial numbers are remembered, as upstream.
pub(crate) const REMEMBERED_SERIALS: usize = 64;

#[derive(Debug, Default)]
pub(crate) struct SerialCache {
    recent: VecDeque<String>,
}

impl SerialCache {
    /// Remembers `serial`; returns false when it was already remembered.
    pub fn insert(&mut self, serial: &str) -> bool {
        if self.recent.iter().any(|s| s == serial) {
            return false;
        }
        if self.recent.len() == REMEMBERED_SERIALS {
            self.recent.pop_front();
        }
        self.recent.push_back(serial.to_owned());
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_serial_is_forgotten_after_64_newer_ones() {
        let mut cache = SerialCache::default();
        assert!(cache.insert("s0"));
        assert!(!cache.insert("s0"));
        for i in 1..REMEMBERED_SERIALS {
            assert!(cache.insert(&format!("s{i}")));
        }
        assert!(!cache.insert("s0"), "64 remembered, s0 still among them");
        assert!(cache.insert("s64"));
        assert!(cache.insert("s0"), "s0 was pushed out by s64");
    }
}
