//! The command line of the collector, shared by the `sw-collector` binary and
//! `sw-python collector`.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::CollectorConfig;

/// The command line help.
pub const USAGE: &str = "usage: sw-collector [--grpc ADDR] [--http ADDR] [--max-segments N] \
[--max-logs N] [--max-meters N] [--max-snapshots N] [--persist FILE]

  --grpc ADDR         gRPC listen address (default 127.0.0.1:11800)
  --http ADDR         HTTP listen address (default 127.0.0.1:12800)
  --max-segments N    segments kept in memory, oldest dropped first
  --max-logs N        log records kept
  --max-meters N      meter values kept
  --max-snapshots N   profile snapshots kept
  --persist FILE      load the store from FILE at start and save it there";

/// Parses the command line; `Ok(None)` means help was asked for.
pub fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Option<CollectorConfig>, String> {
    let mut config = CollectorConfig::default();
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        // Both `--flag value` and `--flag=value`.
        let (flag, inline) = match flag.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (flag, None),
        };
        if flag == "-h" || flag == "--help" {
            return Ok(None);
        }
        let value = match inline {
            Some(v) => v,
            None => args.next().ok_or_else(|| format!("{flag} needs a value"))?,
        };
        let count = |v: &str| v.parse::<usize>().map_err(|_| format!("{flag}: {v:?} is not a count"));
        let addr = |v: &str| {
            v.parse::<SocketAddr>().map_err(|_| format!("{flag}: {v:?} is not an address like 127.0.0.1:11800"))
        };
        match flag.as_str() {
            "--grpc" => config.grpc_addr = addr(&value)?,
            "--http" => config.http_addr = addr(&value)?,
            "--max-segments" => config.limits.max_segments = count(&value)?,
            "--max-logs" => config.limits.max_logs = count(&value)?,
            "--max-meters" => config.limits.max_meters = count(&value)?,
            "--max-snapshots" => config.limits.max_snapshots = count(&value)?,
            "--persist" => config.persist_path = Some(PathBuf::from(value)),
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(Some(config))
}

/// Completes on Ctrl-C or, on Unix, SIGTERM.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Runs the collector in the foreground until Ctrl-C or SIGTERM; `program` names it in
/// messages (`sw-collector`, `sw-python collector`). Returns the process exit code.
pub fn run(program: &str, args: impl IntoIterator<Item = String>) -> u8 {
    let config = match parse_args(args) {
        Ok(Some(config)) => config,
        Ok(None) => {
            println!("{}", USAGE.replace("sw-collector", program));
            return 0;
        }
        Err(reason) => {
            eprintln!("{program}: {reason}\n{}", USAGE.replace("sw-collector", program));
            return 2;
        }
    };
    let bound = match crate::bind(config) {
        Ok(bound) => bound,
        Err(e) => {
            eprintln!("{program}: {e}");
            return 1;
        }
    };
    let http = bound.http_addr();
    let page = if http.ip().is_unspecified() { format!("127.0.0.1:{}", http.port()) } else { http.to_string() };
    eprintln!("{program}: gRPC on {}, HTTP on http://{http}, web page http://{page}/", bound.grpc_addr());
    match bound.run_blocking(stop_signal()) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("{program}: {e}");
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn parses_every_option() {
        let c = parse_args(args(&[
            "--grpc",
            "127.0.0.1:1",
            "--http=127.0.0.1:2",
            "--max-segments",
            "3",
            "--max-logs",
            "4",
            "--max-meters",
            "5",
            "--max-snapshots",
            "6",
            "--persist",
            "/tmp/x",
        ]))
        .expect("valid")
        .expect("not help");
        assert_eq!(c.grpc_addr.port(), 1);
        assert_eq!(c.http_addr.port(), 2);
        assert_eq!(
            (c.limits.max_segments, c.limits.max_logs, c.limits.max_meters, c.limits.max_snapshots),
            (3, 4, 5, 6)
        );
        assert_eq!(c.persist_path, Some(PathBuf::from("/tmp/x")));
    }

    #[test]
    fn rejects_bad_input() {
        assert!(parse_args(args(&["--grpc", "nowhere"])).is_err());
        assert!(parse_args(args(&["--max-logs", "-1"])).is_err());
        assert!(parse_args(args(&["--max-logs"])).is_err());
        assert!(parse_args(args(&["--bogus", "1"])).is_err());
        assert!(parse_args(args(&["--help"])).expect("ok").is_none());
    }
}
