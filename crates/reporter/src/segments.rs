//! Streams finished segments to `TraceSegmentReportService.collect`.
//!
//! A stream opens when a segment is waiting and closes when the queue has been idle for
//! `stream_idle`, when it is `stream_max_age` old, or when a flush finds the queue empty.
//! A failed stream loses only what it carried (counted); the loop then backs off.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use sw_proto::v3::trace_segment_report_service_client::TraceSegmentReportServiceClient;
use sw_proto::v3::SegmentObject;
use tokio::sync::mpsc;
use tokio::time::{sleep, timeout, Instant};
use tokio_stream::wrappers::ReceiverStream;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::backoff::Backoff;
use crate::channel::Auth;
use crate::outage::OutageLog;
use crate::{Counters, ReporterConfig};

pub type Client = TraceSegmentReportServiceClient<InterceptedService<Channel, Auth>>;

/// A caller waiting until everything queued before its request has been sent.
pub type FlushWaiter = std::sync::mpsc::Sender<()>;

pub struct SegmentSender {
    pub client: Client,
    pub config: ReporterConfig,
    pub counters: Arc<Counters>,
    pub queue: mpsc::Receiver<SegmentObject>,
    pub flushes: mpsc::UnboundedReceiver<FlushWaiter>,
    waiters: Vec<FlushWaiter>,
    /// Logs a backend outage once at its start and once at its end.
    outage: OutageLog,
}

impl SegmentSender {
    pub fn new(
        client: Client,
        config: ReporterConfig,
        counters: Arc<Counters>,
        queue: mpsc::Receiver<SegmentObject>,
        flushes: mpsc::UnboundedReceiver<FlushWaiter>,
    ) -> Self {
        Self { client, config, counters, queue, flushes, waiters: Vec::new(), outage: OutageLog::default() }
    }

    /// Runs until every producer is gone and the queue is drained.
    pub async fn run(mut self) {
        let mut backoff = Backoff::new();
        loop {
            let first = tokio::select! {
                segment = self.queue.recv() => match segment {
                    Some(segment) => segment,
                    None => break,
                },
                Some(waiter) = self.flushes.recv() => {
                    self.waiters.push(waiter);
                    self.answer_flushes_if_drained();
                    continue;
                }
            };
            match self.send_stream(first).await {
                Ok(()) => {
                    backoff.reset();
                    self.outage.recovered("gRPC", &self.config.backend, &self.counters);
                    self.answer_flushes_if_drained();
                }
                Err(status) => {
                    self.counters.send_errors.fetch_add(1, Relaxed);
                    let wait = backoff.next_wait();
                    self.outage.failed("gRPC", &self.config.backend, &status, wait, &self.counters);
                    // Flush waiters are answered only after a successful send; their own
                    // timeout ends the wait while the backend fails.
                    sleep(wait).await;
                }
            }
        }
        for waiter in self.waiters.drain(..) {
            let _ = waiter.send(());
        }
    }

    fn answer_flushes_if_drained(&mut self) {
        if self.queue.is_empty() {
            for waiter in self.waiters.drain(..) {
                let _ = waiter.send(());
            }
        }
    }

    /// Sends `first` and whatever follows it in one client stream.
    async fn send_stream(&mut self, first: SegmentObject) -> Result<(), tonic::Status> {
        let (tx, rx) = mpsc::channel::<SegmentObject>(64);
        let started = Instant::now();
        let max_age = self.config.stream_max_age;
        let idle = self.config.stream_idle;
        let mut request = tonic::Request::new(ReceiverStream::new(rx));
        // The deadline covers the whole stream, plus time for the backend to answer.
        request.set_timeout(max_age + self.config.call_timeout);
        let mut sent: u64 = 0;
        let queue = &mut self.queue;
        let flushes = &mut self.flushes;
        let waiters = &mut self.waiters;
        let call = self.client.collect(request);
        let feed = async {
            if tx.send(first).await.is_err() {
                return;
            }
            sent += 1;
            while started.elapsed() < max_age {
                let next = tokio::select! {
                    next = timeout(idle, queue.recv()) => next,
                    Some(waiter) = flushes.recv() => {
                        waiters.push(waiter);
                        if queue.is_empty() { break; }
                        continue;
                    }
                };
                match next {
                    Ok(Some(segment)) => {
                        if tx.send(segment).await.is_err() {
                            // The call ended (failed); the segment is lost with the stream.
                            sent += 1;
                            break;
                        }
                        sent += 1;
                    }
                    Ok(None) | Err(_) => break,
                }
                if !waiters.is_empty() && queue.is_empty() {
                    break;
                }
            }
            drop(tx);
        };
        let (result, ()) = tokio::join!(call, feed);
        match result {
            Ok(_) => {
                self.counters.segments_sent.fetch_add(sent, Relaxed);
                Ok(())
            }
            Err(status) => {
                self.counters.segments_lost_send_error.fetch_add(sent, Relaxed);
                Err(status)
            }
        }
    }
}
