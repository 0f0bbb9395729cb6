//! `ProfileTask`: hands out profile tasks and receives snapshots and finish reports.

use sw_proto::v3::profile_task_server::ProfileTask;
use sw_proto::v3::{Commands, GoProfileData, ProfileTaskCommandQuery, ProfileTaskFinishReport, ThreadSnapshot};
use tonic::{Request, Response, Status, Streaming};

use super::{empty, Receivers};
use crate::now_ms;
use crate::profile_tasks::command_for;
use crate::store::Kind;

#[tonic::async_trait]
impl ProfileTask for Receivers {
    async fn get_profile_task_commands(
        &self,
        request: Request<ProfileTaskCommandQuery>,
    ) -> Result<Response<Commands>, Status> {
        let query = request.into_inner();
        let tasks = self.store.tasks_after(&query.service, query.last_command_time);
        Ok(Response::new(Commands { commands: tasks.iter().map(command_for).collect() }))
    }

    async fn collect_snapshot(
        &self,
        request: Request<Streaming<ThreadSnapshot>>,
    ) -> Result<Response<Commands>, Status> {
        self.drain(request.into_inner(), Kind::Snapshot, |snapshot| {
            self.store.add_snapshot(snapshot);
        })
        .await
    }

    /// Go pprof payloads are not analysed here; the stream is read and acknowledged so a
    /// Go agent does not retry forever.
    async fn go_profile_report(
        &self,
        request: Request<Streaming<GoProfileData>>,
    ) -> Result<Response<Commands>, Status> {
        self.drain(request.into_inner(), Kind::Snapshot, |_| {}).await
    }

    async fn report_task_finish(
        &self,
        request: Request<ProfileTaskFinishReport>,
    ) -> Result<Response<Commands>, Status> {
        let report = request.into_inner();
        if !self.store.finish_task(&report.task_id, report.service_instance, now_ms()) {
            ::log::info!("finish report for unknown profile task {:?}", report.task_id);
        }
        Ok(empty())
    }
}
