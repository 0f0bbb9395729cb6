//! Head sampling of new trace roots: at most N per 3-second window (`sample_n_per_3_secs`).
//!
//! Upstream runs a thread that zeroes a counter every 3 s. Here the window is derived from
//! the clock instead, and the window number and the count share one atomic word, so a
//! compare-and-swap both starts a new window and takes a slot: no thread, no lock, and
//! never more than N admissions per window however many threads race.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

/// Length of a sampling window in milliseconds.
pub const WINDOW_MS: u64 = 3000;

/// State before the first admission: never equal to a real state, because a real count
/// never reaches `u32::MAX` (the rate is capped below it).
const NO_WINDOW: u64 = u64::MAX;

/// The count is stored in 32 bits; larger rates behave as this many.
const MAX_RATE: u64 = u32::MAX as u64 - 1;

/// Admits at most N new traces per 3-second window; N <= 0 admits everything.
#[derive(Debug)]
pub struct Sampler {
    rate: AtomicI64,
    /// High 32 bits: window number (wrapping); low 32 bits: admissions in that window.
    state: AtomicU64,
}

impl Sampler {
    /// A sampler admitting `n_per_3_secs` traces per window (<= 0: sample everything).
    pub fn new(n_per_3_secs: i64) -> Self {
        Self { rate: AtomicI64::new(n_per_3_secs), state: AtomicU64::new(NO_WINDOW) }
    }

    /// Change the rate at runtime; admissions already made in the current window still count.
    pub fn set_rate(&self, n_per_3_secs: i64) {
        self.rate.store(n_per_3_secs, Ordering::Relaxed);
    }

    /// The current rate (<= 0 means unlimited).
    pub fn rate(&self) -> i64 {
        self.rate.load(Ordering::Relaxed)
    }

    /// Try to take a slot for a new trace now (monotonic clock).
    pub fn try_sample(&self) -> bool {
        // Sampling everything (the default) needs no clock read, which costs more than
        // the rest of this on virtual machines.
        if self.rate.load(Ordering::Relaxed) <= 0 {
            return true;
        }
        self.try_sample_at(monotonic_ms())
    }

    /// Try to take a slot for a new trace at `now_ms` (any millisecond clock that does not
    /// go backwards). A caller whose `now_ms` lies in an older window than the current one
    /// is counted against the current window, so a stale clock read cannot reopen a window.
    pub fn try_sample_at(&self, now_ms: u64) -> bool {
        let rate = self.rate.load(Ordering::Relaxed);
        if rate <= 0 {
            return true;
        }
        let limit = (rate as u64).min(MAX_RATE);
        // Window numbers wrap at 2^32 (400 years of 3 s windows); comparisons below are
        // made on the wrapping difference.
        let window = (now_ms / WINDOW_MS) as u32;
        let mut current = self.state.load(Ordering::Relaxed);
        loop {
            let stored_window = (current >> 32) as u32;
            let count = current & u64::from(u32::MAX);
            let newer = current == NO_WINDOW || (window.wrapping_sub(stored_window) as i32) > 0;
            let next = if newer {
                (u64::from(window) << 32) | 1
            } else if count < limit {
                current + 1
            } else {
                return false;
            };
            match self.state.compare_exchange_weak(current, next, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return true,
                Err(actual) => current = actual,
            }
        }
    }
}

impl Default for Sampler {
    /// Upstream's default `sample_n_per_3_secs` of 0: sample everything.
    fn default() -> Self {
        Self::new(0)
    }
}

/// Milliseconds since the first call in this process, on the monotonic clock. Windows are
/// therefore not aligned to wall-clock multiples of 3 s; neither are upstream's.
fn monotonic_ms() -> u64 {
    static BASE: OnceLock<Instant> = OnceLock::new();
    let elapsed = BASE.get_or_init(Instant::now).elapsed();
    u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;

    fn admitted(s: &Sampler, now_ms: u64, attempts: usize) -> usize {
        (0..attempts).filter(|_| s.try_sample_at(now_ms)).count()
    }

    #[test]
    fn admits_exactly_n_per_window() {
        let s = Sampler::new(5);
        assert_eq!(admitted(&s, 10_000, 20), 5);
        // Same window, later in it: still closed.
        assert_eq!(admitted(&s, 11_999, 20), 0);
    }

    #[test]
    fn next_window_resets() {
        let s = Sampler::new(2);
        assert_eq!(admitted(&s, 0, 5), 2);
        assert_eq!(admitted(&s, 2_999, 5), 0);
        assert_eq!(admitted(&s, 3_000, 5), 2);
        // Skipping windows is fine too.
        assert_eq!(admitted(&s, 30_000, 5), 2);
    }

    #[test]
    fn stale_time_counts_against_current_window() {
        let s = Sampler::new(2);
        assert_eq!(admitted(&s, 6_000, 1), 1);
        assert_eq!(admitted(&s, 5_999, 5), 1);
        assert_eq!(admitted(&s, 6_001, 5), 0);
    }

    #[test]
    fn first_call_at_a_huge_time_opens_a_window() {
        let s = Sampler::new(1);
        let far = u64::from(u32::MAX - 5) * WINDOW_MS;
        assert_eq!(admitted(&s, far, 3), 1);
        assert_eq!(admitted(&s, far + WINDOW_MS, 3), 1);
    }

    #[test]
    fn window_number_wraps() {
        let s = Sampler::new(1);
        let last = u64::from(u32::MAX) * WINDOW_MS;
        assert_eq!(admitted(&s, last, 3), 1);
        // The next window number wraps to 0 and is still seen as newer.
        assert_eq!(admitted(&s, last + WINDOW_MS, 3), 1);
    }

    #[test]
    fn zero_or_negative_rate_samples_everything() {
        for rate in [0, -1] {
            let s = Sampler::new(rate);
            assert_eq!(admitted(&s, 0, 1000), 1000);
        }
        assert_eq!(admitted(&Sampler::default(), 0, 10), 10);
    }

    #[test]
    fn rate_can_change_at_runtime() {
        let s = Sampler::new(3);
        assert_eq!(admitted(&s, 0, 2), 2);
        s.set_rate(5);
        assert_eq!(s.rate(), 5);
        assert_eq!(admitted(&s, 0, 10), 3);
        s.set_rate(1);
        assert_eq!(admitted(&s, 3_000, 10), 1);
        s.set_rate(0);
        assert_eq!(admitted(&s, 3_000, 10), 10);
    }

    #[test]
    fn lowering_rate_below_count_closes_window() {
        let s = Sampler::new(10);
        assert_eq!(admitted(&s, 0, 4), 4);
        s.set_rate(2);
        assert_eq!(admitted(&s, 0, 4), 0);
    }

    #[test]
    fn concurrent_callers_never_exceed_n() {
        let s = Arc::new(Sampler::new(37));
        for window in 0..5u64 {
            let total = Arc::new(AtomicUsize::new(0));
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    let s = Arc::clone(&s);
                    let total = Arc::clone(&total);
                    std::thread::spawn(move || {
                        let now = window * WINDOW_MS + 1;
                        let n = (0..500).filter(|_| s.try_sample_at(now)).count();
                        total.fetch_add(n, Ordering::Relaxed);
                    })
                })
                .collect();
            for h in handles {
                h.join().expect("sampler thread panicked");
            }
            assert_eq!(total.load(Ordering::Relaxed), 37, "window {window}");
        }
    }

    #[test]
    fn concurrent_callers_across_a_boundary() {
        // Threads straddle a window boundary with interleaved stale and fresh times:
        // no window may admit more than N.
        let s = Arc::new(Sampler::new(10));
        let per_window = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
        let handles: Vec<_> = (0..8)
            .map(|t| {
                let s = Arc::clone(&s);
                let per_window = Arc::clone(&per_window);
                std::thread::spawn(move || {
                    for i in 0..2000u64 {
                        // Each thread moves to the second window at a different point.
                        let w = usize::from(i > 200 * (t + 1));
                        if s.try_sample_at(w as u64 * WINDOW_MS + 7) {
                            per_window[w].fetch_add(1, Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().expect("sampler thread panicked");
        }
        // Stale window-0 callers that arrive after window 1 opened take window-1 slots, so
        // only the total and the fresh-caller share are exact.
        let first = per_window[0].load(Ordering::Relaxed);
        let second = per_window[1].load(Ordering::Relaxed);
        assert_eq!(first + second, 20);
        assert!(second <= 10, "{second}");
    }

    #[test]
    fn system_clock_entry_point_admits_then_stops() {
        let s = Sampler::new(3);
        // All calls land in at most two windows, so at most 6 are admitted.
        let n = (0..1000).filter(|_| s.try_sample()).count();
        assert!((3..=6).contains(&n), "{n}");
    }
}
