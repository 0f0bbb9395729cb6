//! Profiling traffic: polling `getProfileTaskCommands` for tasks, streaming thread
//! snapshots to `collectSnapshot`, and `reportTaskFinish`.
//!
//! The reporter knows nothing of profiling itself: commands go to a [`CommandHandler`]
//! (the profiler), which also says which command time it has seen last.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use sw_proto::v3::profile_task_client::ProfileTaskClient;
use sw_proto::v3::{Commands, ProfileTaskCommandQuery, ProfileTaskFinishReport, ThreadSnapshot};
use tokio::sync::{mpsc, watch};
use tokio::time::{sleep, timeout};
use tokio_stream::wrappers::ReceiverStream;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::backoff::Backoff;
use crate::channel::Auth;
use crate::{Counters, ReporterConfig};

pub type Client = ProfileTaskClient<InterceptedService<Channel, Auth>>;

/// Receives the commands the backend hands out (profile tasks).
pub trait CommandHandler: Send + Sync {
    /// Creation time (ms) of the newest command already received; sent as `lastCommandTime`.
    fn last_command_time(&self) -> i64;
    /// Commands from one poll.
    fn handle(&self, commands: Commands);
}

/// Polls for profile tasks every `profile_poll_interval`, starting at once.
pub async fn poll_commands(
    mut client: Client,
    config: ReporterConfig,
    counters: Arc<Counters>,
    handler: Arc<dyn CommandHandler>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let mut request = tonic::Request::new(ProfileTaskCommandQuery {
            service: config.service.clone(),
            service_instance: config.instance.clone(),
            last_command_time: handler.last_command_time(),
        });
        request.set_timeout(config.call_timeout);
        match client.get_profile_task_commands(request).await {
            Ok(response) => {
                let commands = response.into_inner();
                if !commands.commands.is_empty() {
                    handler.handle(commands);
                }
            }
            Err(status) => {
                counters.send_errors.fetch_add(1, Relaxed);
                log::debug!("polling profile tasks from {} failed: {}", config.backend, status.message());
            }
        }
        tokio::select! {
            () = sleep(config.profile_poll_interval) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Streams snapshots as they come; a stream closes after half a second without one.
pub async fn send_snapshots(
    mut client: Client,
    config: ReporterConfig,
    counters: Arc<Counters>,
    mut queue: mpsc::Receiver<ThreadSnapshot>,
) {
    let idle = Duration::from_millis(500);
    let mut backoff = Backoff::new();
    while let Some(first) = queue.recv().await {
        let (tx, rx) = mpsc::channel(16);
        let mut request = tonic::Request::new(ReceiverStream::new(rx));
        request.set_timeout(config.stream_max_age + config.call_timeout);
        let mut sent = 0u64;
        let call = client.collect_snapshot(request);
        let feed = async {
            let mut next = Some(first);
            while let Some(snapshot) = next.take() {
                if tx.send(snapshot).await.is_err() {
                    break;
                }
                sent += 1;
                next = timeout(idle, queue.recv()).await.ok().flatten();
            }
            drop(tx);
        };
        let (result, ()) = tokio::join!(call, feed);
        match result {
            Ok(_) => {
                counters.snapshots_sent.fetch_add(sent, Relaxed);
                backoff.reset();
            }
            Err(status) => {
                counters.send_errors.fetch_add(1, Relaxed);
                counters.snapshots_lost_send_error.fetch_add(sent, Relaxed);
                log::debug!("sending profile snapshots to {} failed: {}", config.backend, status.message());
                sleep(backoff.next_wait()).await;
            }
        }
    }
}

/// Reports finished tasks, retrying a failed report a few times.
pub async fn report_finishes(
    mut client: Client,
    config: ReporterConfig,
    counters: Arc<Counters>,
    mut queue: mpsc::UnboundedReceiver<String>,
) {
    while let Some(task_id) = queue.recv().await {
        let mut backoff = Backoff::new();
        for attempt in 1..=5 {
            let mut request = tonic::Request::new(ProfileTaskFinishReport {
                service: config.service.clone(),
                service_instance: config.instance.clone(),
                task_id: task_id.clone(),
            });
            request.set_timeout(config.call_timeout);
            match client.report_task_finish(request).await {
                Ok(_) => break,
                Err(status) => {
                    counters.send_errors.fetch_add(1, Relaxed);
                    log::debug!("reportTaskFinish for {task_id} failed (attempt {attempt}): {}", status.message());
                    sleep(backoff.next_wait()).await;
                }
            }
        }
    }
}

/// For transports without profiling (HTTP, Kafka): empties the profiling queues so
/// producers never see them full for long; each snapshot counts as lost, and the first
/// one is worth a warning.
pub async fn discard(
    mut snapshots: mpsc::Receiver<ThreadSnapshot>,
    mut finishes: mpsc::UnboundedReceiver<String>,
    counters: Arc<Counters>,
    protocol: &'static str,
) {
    let mut warned = false;
    loop {
        tokio::select! {
            Some(_) = snapshots.recv() => {
                counters.snapshots_lost_send_error.fetch_add(1, Relaxed);
                if !warned {
                    log::warn!("profile snapshots cannot be sent with agent_protocol={protocol}; they are dropped and counted");
                    warned = true;
                }
            }
            Some(task_id) = finishes.recv() => {
                log::debug!("profile task {task_id} finished; not reported (agent_protocol={protocol} has no profiling)");
            }
            else => return,
        }
    }
}
