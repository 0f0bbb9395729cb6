//! `EventService`: events, kept as sent.

use sw_proto::v3::event_service_server::EventService;
use sw_proto::v3::{Commands, Event};
use tonic::{Request, Response, Status, Streaming};

use super::Receivers;
use crate::store::Kind;

#[tonic::async_trait]
impl EventService for Receivers {
    async fn collect(&self, request: Request<Streaming<Event>>) -> Result<Response<Commands>, Status> {
        self.drain(request.into_inner(), Kind::Event, |event| {
            self.store.add_event(event);
        })
        .await
    }
}
