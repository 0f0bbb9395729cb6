//! Compiles the project's own `.proto` files with protox (pure Rust), so no system
//! `protoc` is needed on any machine that builds the agent.

use std::path::PathBuf;

const PROTOS: &[&str] = &[
    "common/Common.proto",
    "common/Command.proto",
    "language-agent/Tracing.proto",
    "language-agent/Meter.proto",
    "language-agent/ConfigurationDiscoveryService.proto",
    "management/Management.proto",
    "profile/Profile.proto",
    "logging/Logging.proto",
    "event/Event.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    for proto in PROTOS {
        println!("cargo:rerun-if-changed={}", root.join(proto).display());
    }
    let descriptors = protox::compile(PROTOS, [&root])?;
    tonic_prost_build::configure().build_client(true).build_server(true).compile_fds(descriptors)?;
    Ok(())
}
