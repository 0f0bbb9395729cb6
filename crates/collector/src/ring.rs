//! A bounded FIFO of one kind of data, with its counters.

use std::collections::VecDeque;

use crate::store::KindStats;

/// A bounded FIFO with its counters, bounded both in items and in (encoded) bytes.
#[derive(Debug)]
pub(crate) struct Ring<T> {
    pub(crate) items: VecDeque<T>,
    /// Encoded size of each item, parallel to `items`.
    sizes: VecDeque<usize>,
    pub(crate) bytes: usize,
    pub(crate) cap: usize,
    pub(crate) max_bytes: usize,
    pub(crate) stats: KindStats,
}

impl<T> Ring<T> {
    pub(crate) fn new(cap: usize, max_bytes: usize) -> Self {
        Self { items: VecDeque::new(), sizes: VecDeque::new(), bytes: 0, cap, max_bytes, stats: KindStats::default() }
    }

    pub(crate) fn push(&mut self, item: T, size: usize) {
        self.stats.received += 1;
        if self.cap == 0 || size > self.max_bytes {
            // It could never fit: it goes the way of the oldest item.
            self.stats.evicted += 1;
            return;
        }
        while self.items.len() >= self.cap || self.bytes + size > self.max_bytes {
            self.evict_oldest();
        }
        self.keep(item, size);
    }

    /// Drops the oldest item and counts it evicted; false when there is none.
    pub(crate) fn evict_oldest(&mut self) -> bool {
        if self.items.pop_front().is_none() {
            return false;
        }
        self.bytes -= self.sizes.pop_front().unwrap_or(0);
        self.stats.evicted += 1;
        true
    }

    /// Appends an item already counted and made room for (see `SegmentRing`).
    pub(crate) fn keep(&mut self, item: T, size: usize) {
        self.items.push_back(item);
        self.sizes.push_back(size);
        self.bytes += size;
    }

    pub(crate) fn clear(&mut self) {
        self.items.clear();
        self.sizes.clear();
        self.bytes = 0;
    }

    pub(crate) fn ignore(&mut self) {
        self.stats.received += 1;
        self.stats.ignored += 1;
    }

    pub(crate) fn snapshot_stats(&self) -> KindStats {
        KindStats { stored: self.items.len() as u64, ..self.stats }
    }
}
