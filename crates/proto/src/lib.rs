//! SkyWalking v3 protocol: message types, gRPC clients and gRPC servers.
//!
//! Everything lives in package `skywalking.v3`, so method paths are
//! `/skywalking.v3.<Service>/<method>` exactly as OAP serves them.

#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod v3 {
    tonic::include_proto!("skywalking.v3");
}
