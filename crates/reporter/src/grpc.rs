//! `agent_protocol=grpc` (the default): the reporter thread's tasks over one tonic channel:
//! segment streams, management, dynamic configuration, profiling and meters.

use std::sync::Arc;
use std::thread::JoinHandle;

use sw_proto::v3::configuration_discovery_service_client::ConfigurationDiscoveryServiceClient;
use sw_proto::v3::management_service_client::ManagementServiceClient;
use sw_proto::v3::meter_report_service_client::MeterReportServiceClient;
use sw_proto::v3::profile_task_client::ProfileTaskClient;
use tokio::sync::watch;

use crate::segment_stream::SegmentStreamClient;
use crate::segments::SegmentSender;
use crate::{
    cds, channel, management, meters, profile, CommandHandler, ConfigUpdates, Counters, Queues, ReporterConfig,
    ReporterError,
};

/// What the gRPC tasks share with the [`Reporter`] handle.
pub struct Shared {
    pub counters: Arc<Counters>,
    pub updates: Arc<ConfigUpdates>,
}

/// Starts the reporter thread running the gRPC tasks: segments, management, dynamic
/// configuration, profiling and meters.
pub fn spawn(
    runtime: tokio::runtime::Runtime,
    config: ReporterConfig,
    shared: Shared,
    queues: Queues,
    stopped: watch::Receiver<bool>,
    handler: Option<Arc<dyn CommandHandler>>,
) -> Result<JoinHandle<()>, ReporterError> {
    // The channel must be created inside the runtime (tonic spawns its connection task).
    let (grpc_channel, auth) = {
        let _guard = runtime.enter();
        channel::connect(&config)?
    };
    let Shared { counters: c, updates } = shared;
    let sender = SegmentSender::new(
        SegmentStreamClient::new(grpc_channel.clone(), auth.clone()),
        config.clone(),
        c.clone(),
        queues.segments,
        queues.flushes,
    );
    let management_client = ManagementServiceClient::with_interceptor(grpc_channel.clone(), auth.clone());
    let profile_client = ProfileTaskClient::with_interceptor(grpc_channel.clone(), auth.clone());
    let cds_client = ConfigurationDiscoveryServiceClient::with_interceptor(grpc_channel.clone(), auth.clone());
    let meter_client = MeterReportServiceClient::with_interceptor(grpc_channel.clone(), auth.clone());
    let log_sender = Queues::log_sender(
        queues.logs,
        queues.log_flushes,
        crate::logs::GrpcLogs {
            client: sw_proto::v3::log_report_service_client::LogReportServiceClient::with_interceptor(
                grpc_channel,
                auth,
            ),
            call_timeout: config.call_timeout,
        },
        vec![channel::first_address(&config.backend)],
        &config,
        &c,
    );
    let thread = std::thread::Builder::new().name("skywalking-reporter".into()).spawn(move || {
        runtime.block_on(async move {
            let mut tasks = vec![
                tokio::spawn(management::run(
                    management::GrpcManagement { client: management_client, call_timeout: config.call_timeout },
                    config.clone(),
                    c.clone(),
                    stopped.clone(),
                )),
                tokio::spawn(cds::poll(cds_client, config.clone(), c.clone(), updates, stopped.clone())),
                tokio::spawn(profile::send_snapshots(
                    profile_client.clone(),
                    config.clone(),
                    c.clone(),
                    queues.snapshots,
                )),
                tokio::spawn(profile::report_finishes(
                    profile_client.clone(),
                    config.clone(),
                    c.clone(),
                    queues.finishes,
                )),
            ];
            let logs = log_sender.map(|sender| tokio::spawn(sender.run()));
            if config.meters_active {
                tasks.push(tokio::spawn(meters::run(meter_client, config.clone(), c.clone(), stopped.clone())));
            }
            if let Some(handler) = handler.filter(|_| config.profile_active) {
                tasks.push(tokio::spawn(profile::poll_commands(profile_client, config, c, handler, stopped)));
            }
            sender.run().await;
            if let Some(logs) = logs {
                // The log queue is closed with the segment queue; let it drain.
                let _ = logs.await;
            }
            for task in tasks {
                task.abort();
            }
        });
    })?;
    Ok(thread)
}
