//! Exponential backoff with jitter, so many agents that lost the same backend do not
//! reconnect in lockstep.

use std::time::Duration;

use rand::Rng;

const INITIAL: Duration = Duration::from_millis(500);
const MAX: Duration = Duration::from_secs(60);

/// Grows the wait after each failure and resets it after a success.
#[derive(Debug)]
pub struct Backoff {
    current: Duration,
}

impl Backoff {
    pub fn new() -> Self {
        Self { current: Duration::ZERO }
    }

    /// The wait before the next attempt: doubles up to a minute, with ±25% jitter.
    pub fn next_wait(&mut self) -> Duration {
        self.current = if self.current.is_zero() { INITIAL } else { (self.current * 2).min(MAX) };
        let jitter = rand::rng().random_range(0.75..1.25);
        self.current.mul_f64(jitter)
    }

    pub fn reset(&mut self) {
        self.current = Duration::ZERO;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_and_are_capped() {
        let mut backoff = Backoff::new();
        let first = backoff.next_wait();
        assert!(first >= INITIAL.mul_f64(0.75) && first <= INITIAL.mul_f64(1.25));
        for _ in 0..20 {
            backoff.next_wait();
        }
        let capped = backoff.next_wait();
        assert!(capped <= MAX.mul_f64(1.25) && capped >= MAX.mul_f64(0.75));
        backoff.reset();
        assert!(backoff.next_wait() <= INITIAL.mul_f64(1.25));
    }
}
