//! `sw-collector`: the local SkyWalking collector as a standalone program.
//!
//! ```text
//! sw-collector [--grpc ADDR] [--http ADDR] [--max-segments N] [--max-logs N]
//!              [--max-meters N] [--max-snapshots N] [--persist FILE]
//! ```

use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(sw_collector::cli::run("sw-collector", std::env::args().skip(1)))
}
