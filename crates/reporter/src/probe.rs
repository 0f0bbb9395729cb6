//! Is the backend there at all? A TCP connect, tried before a sender takes segments out of
//! the queue during an outage.
//!
//! Without it, every retry against a backend that is down opened a stream or request,
//! moved what was queued into it, and lost all of it when the connection was refused;
//! and the growing backoff between such retries meant a backend that came back was
//! noticed up to a minute late, while the full queue turned new spans into no-ops. A
//! refused connect costs next to nothing, so the probe runs about once a second.

use std::time::Duration;

use std::sync::atomic::Ordering::Relaxed;

use rand::Rng;
use tokio::net::TcpStream;
use tokio::time::{sleep, timeout};

use crate::outage::OutageLog;
use crate::Counters;

/// About how long a sender waits between probes of a backend that is down.
const INTERVAL: Duration = Duration::from_secs(1);

/// Whether a TCP connection to any of `addresses` (`host:port`) opens within `limit`.
pub async fn reachable(addresses: &[String], limit: Duration) -> Result<(), String> {
    let mut last = String::from("no address to probe");
    for address in addresses {
        match timeout(limit, TcpStream::connect(address.as_str())).await {
            Ok(Ok(_)) => return Ok(()),
            Ok(Err(error)) => last = format!("{address}: {error}"),
            Err(_) => last = format!("{address}: no connection within {limit:?}"),
        }
    }
    Err(last)
}

/// Lets a sender take segments out of the queue only while the backend is known to be
/// there: from the start until a probe succeeds, and again after any failed send.
#[derive(Debug)]
pub struct Gate {
    addresses: Vec<String>,
    limit: Duration,
    verified: bool,
}

impl Gate {
    pub fn new(addresses: Vec<String>, limit: Duration) -> Self {
        Self { addresses, limit, verified: false }
    }

    /// True when sending may go ahead. Otherwise the failed probe is counted as a send
    /// error and logged as part of the outage, a probe interval has passed, and nothing
    /// left the queue.
    pub async fn open(&mut self, transport: &str, backend: &str, outage: &mut OutageLog, counters: &Counters) -> bool {
        if self.verified {
            return true;
        }
        match reachable(&self.addresses, self.limit).await {
            Ok(()) => {
                self.verified = true;
                true
            }
            Err(error) => {
                counters.send_errors.fetch_add(1, Relaxed);
                let wait = interval();
                outage.failed(transport, backend, &error, wait, counters);
                sleep(wait).await;
                false
            }
        }
    }

    /// A send failed: probe again before the next one.
    pub fn send_failed(&mut self) {
        self.verified = false;
    }
}

/// The wait before the next probe, with jitter so many agents do not probe in step.
pub fn interval() -> Duration {
    INTERVAL.mul_f64(rand::rng().random_range(0.75..1.25))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_listening_port_is_reachable_and_a_closed_one_is_not() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let open = listener.local_addr().unwrap().to_string();
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().to_string()
        };
        let limit = Duration::from_secs(2);
        assert!(reachable(std::slice::from_ref(&open), limit).await.is_ok());
        let refused = reachable(std::slice::from_ref(&closed), limit).await.unwrap_err();
        assert!(refused.contains(&closed), "{refused}");
        assert!(reachable(&[closed, open], limit).await.is_ok(), "any reachable address will do");
    }
}
