//! Streams finished segments to `TraceSegmentReportService.collect`.
//!
//! A stream opens when a segment is waiting and closes when the queue has been idle for
//! `stream_idle`, when it is `stream_max_age` old, or when a flush finds the queue empty.
//! A failed stream loses only what it carried (counted); the loop then backs off.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use tokio::sync::{mpsc, Notify};
use tokio::time::{sleep, Instant};

use crate::inbox::{Link, SegmentInbox};
use crate::segment_queue::{SegmentQueue, Segments};
use crate::segment_stream::{SegmentFrames, SegmentStreamClient};
use crate::{Counters, ReporterConfig};

/// How often the sender looks at the queue when producers did not wake it: the longest a
/// segment waits before it leaves (a flush or a full batch sends at once).
///
/// Every wake-up costs the reporter thread about the same, whether it carries one segment or
/// a hundred: timers, passes through epoll, the runtime's eventfd, a send. Measured on a
/// 2-core VM, at 50 ms the reporter used 6-7 µs of CPU per request of a Flask service
/// answering ~500 requests a second, and 2.3 ms per second when idle; at 200 ms, 2.4-2.7 µs
/// and 0.8-0.9 ms. A trace shows up in the backend a fraction of a second later, which the
/// backend's minute-sized aggregation does not notice.
pub const TICK: std::time::Duration = std::time::Duration::from_millis(200);

/// Producers wake the sender early once this many segments wait (or a quarter of the queue).
pub fn wake_threshold(capacity: usize) -> usize {
    (capacity / 4).clamp(1, 512)
}

/// A caller waiting until everything queued before its request has been sent.
pub type FlushWaiter = std::sync::mpsc::Sender<()>;

/// How every transport's sender waits for work: until a [`TICK`] passes (at most
/// `limit`), producers wake it (a batch worth sending waits), or a flush is requested.
/// Waiting on the queue itself would wake the reporter thread for every segment.
pub async fn wait_for_work(
    wake: &Notify,
    flushes: &mut mpsc::UnboundedReceiver<FlushWaiter>,
    waiters: &mut Vec<FlushWaiter>,
    limit: std::time::Duration,
) {
    tokio::select! {
        () = sleep(TICK.min(limit)) => {}
        () = wake.notified() => {}
        Some(waiter) = flushes.recv() => waiters.push(waiter),
    }
}

pub struct SegmentSender {
    pub client: SegmentStreamClient,
    pub config: ReporterConfig,
    inbox: SegmentInbox,
    link: Link,
}

impl SegmentSender {
    pub fn new(
        client: SegmentStreamClient,
        config: ReporterConfig,
        counters: Arc<Counters>,
        queue: Arc<SegmentQueue>,
        flushes: mpsc::UnboundedReceiver<FlushWaiter>,
    ) -> Self {
        let address = crate::channel::first_address(&config.backend);
        let link = Link::new("gRPC", config.backend.clone(), vec![address], config.call_timeout, counters);
        Self { client, config, inbox: SegmentInbox::new(queue, flushes), link }
    }

    /// Runs until every producer is gone and the queue is drained.
    pub async fn run(mut self) {
        while let Some(first) = self.inbox.next(&mut self.link).await {
            match self.send_stream(first).await {
                Ok(()) => self.inbox.delivered(&mut self.link),
                Err(status) => self.inbox.lost(&mut self.link, &status).await,
            }
        }
    }

    /// Sends `first` and whatever follows it in one client stream, batch by batch.
    async fn send_stream(&mut self, first: Segments) -> Result<(), tonic::Status> {
        let (tx, rx) = mpsc::channel::<Segments>(4);
        let started = Instant::now();
        let max_age = self.config.stream_max_age;
        let idle = self.config.stream_idle;
        let mut request = tonic::Request::new(SegmentFrames::new(rx));
        // The deadline covers the whole stream, plus time for the backend to answer.
        request.set_timeout(max_age + self.config.call_timeout);
        let mut sent: u64 = 0;
        let inbox = &mut self.inbox;
        let call = self.client.collect(request);
        let feed = async {
            let mut next = Some(first);
            let mut last_item = Instant::now();
            'stream: while started.elapsed() < max_age {
                // Send everything queued now.
                while let Some(segments) = next.take().or_else(|| inbox.try_recv()) {
                    sent += segments.len() as u64;
                    if tx.send(segments).await.is_err() {
                        // The call ended (failed); what it carried is lost with it.
                        break 'stream;
                    }
                    last_item = Instant::now();
                }
                if inbox.flush_pending() {
                    break; // a flush: close the stream so the backend acknowledges it
                }
                let idle_left = idle.saturating_sub(last_item.elapsed());
                if idle_left.is_zero() {
                    break;
                }
                inbox.wait(idle_left).await;
            }
            drop(tx);
        };
        let (result, ()) = tokio::join!(call, feed);
        let counters = self.link.counters();
        match result {
            Ok(_) => {
                counters.segments_sent.fetch_add(sent, Relaxed);
                Ok(())
            }
            Err(status) => {
                counters.segments_lost_send_error.fetch_add(sent, Relaxed);
                Err(status)
            }
        }
    }
}
