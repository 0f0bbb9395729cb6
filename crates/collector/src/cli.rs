//! The command line of the collector, shared by the `sw-collector` binary and
//! `sw-python collector`.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::CollectorConfig;

/// The command line help.
pub const USAGE: &str = "usage: sw-collector [--grpc ADDR] [--http ADDR] [--max-segments N] \
[--max-logs N] [--max-meters N] [--max-snapshots N] [--max-mib N] [--max-connections N] \
[--max-streams N] [--allow-host NAME] [--log-level LEVEL] [--persist FILE]

  --grpc ADDR           gRPC listen address (default 127.0.0.1:11800)
  --http ADDR           HTTP listen address (default 127.0.0.1:12800)
  --max-segments N      segments kept in memory, oldest dropped first
  --max-logs N          log records kept
  --max-meters N        meter values kept
  --max-snapshots N     profile snapshots kept
  --max-mib N           MiB each kind of data may hold in memory (default 64)
  --max-connections N   connections open at once, per protocol (default: a quarter of
                        the open-files limit, at most 1024)
  --max-streams N       gRPC calls open at once on one connection (default 64); more
                        are refused with REFUSED_STREAM
  --allow-host NAME     serve HTTP requests addressed to NAME too (besides IP addresses
                        and localhost); repeat or separate with commas; * allows any
  --log-level LEVEL     error, warn, info (default), debug, trace or off
  --persist FILE        load the store from FILE at start and save it there";

/// The command line: the collector's configuration plus how much to log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// What to run.
    pub config: CollectorConfig,
    /// Log lines at this level and above go to stderr.
    pub log_level: log::LevelFilter,
}

/// Parses the command line; `Ok(None)` means help was asked for.
pub fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Option<CollectorConfig>, String> {
    parse_options(args).map(|o| o.map(|o| o.config))
}

/// Parses the command line with the log level; `Ok(None)` means help was asked for.
pub fn parse_options(args: impl IntoIterator<Item = String>) -> Result<Option<Options>, String> {
    let mut config = CollectorConfig::default();
    let mut log_level = log::LevelFilter::Info;
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
            "--max-mib" => {
                let mib = count(&value)?;
                config.limits.max_bytes_per_kind = mib.checked_mul(1024 * 1024).ok_or("--max-mib: too large")?;
            }
            "--max-connections" => match count(&value)? {
                0 => return Err("--max-connections must be at least 1".into()),
                n => config.max_connections = Some(n),
            },
            "--max-streams" => match count(&value)? {
                0 => return Err("--max-streams must be at least 1".into()),
                n => config.max_streams_per_connection = u32::try_from(n).map_err(|_| "--max-streams: too large")?,
            },
            "--allow-host" => {
                let hosts = value.split(',').map(str::trim).filter(|h| !h.is_empty()).map(str::to_owned);
                config.allowed_hosts.extend(hosts);
            }
            "--log-level" => {
                log_level = crate::logger::parse_level(&value)
                    .ok_or_else(|| format!("--log-level: {value:?} is not error, warn, info, debug, trace or off"))?;
            }
            "--persist" => config.persist_path = Some(PathBuf::from(value)),
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(Some(Options { config, log_level }))
}

/// A warning for each listen address that other machines can reach, or `None`.
fn exposure_warning(program: &str, what: &str, addr: SocketAddr) -> Option<String> {
    (!addr.ip().is_loopback()).then(|| {
        format!(
            "{program}: WARNING: {what} listens on {addr}, reachable from other machines. The collector has no \
             authentication: whoever reaches it can read every trace and change the settings of every agent. \
             Bind to 127.0.0.1 unless the network is trusted."
        )
    })
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
    let options = match parse_options(args) {
        Ok(Some(options)) => options,
        Ok(None) => {
            println!("{}", USAGE.replace("sw-collector", program));
            return 0;
        }
        Err(reason) => {
            eprintln!("{program}: {reason}\n{}", USAGE.replace("sw-collector", program));
            return 2;
        }
    };
    crate::logger::init(options.log_level);
    let config = options.config;
    for (what, addr) in [("gRPC", config.grpc_addr), ("HTTP", config.http_addr)] {
        if let Some(warning) = exposure_warning(program, what, addr) {
            eprintln!("{warning}");
        }
    }
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
    fn parses_the_hardening_options() {
        let o = parse_options(args(&[
            "--max-mib",
            "8",
            "--max-connections=9",
            "--max-streams",
            "16",
            "--allow-host",
            "a.example, b.example",
            "--allow-host=c",
            "--log-level",
            "debug",
        ]))
        .expect("valid")
        .expect("not help");
        assert_eq!(o.config.limits.max_bytes_per_kind, 8 << 20);
        assert_eq!(o.config.max_connections, Some(9));
        assert_eq!(o.config.max_streams_per_connection, 16);
        assert_eq!(parse_args(args(&[])).expect("valid").expect("not help").max_streams_per_connection, 64);
        assert!(parse_options(args(&["--max-streams", "0"])).is_err());
        assert!(parse_options(args(&["--max-streams", "4294967296"])).is_err());
        assert_eq!(o.config.allowed_hosts, ["a.example", "b.example", "c"]);
        assert_eq!(o.log_level, log::LevelFilter::Debug);
        assert!(parse_options(args(&["--log-level", "loud"])).is_err());
        assert!(parse_options(args(&["--max-connections", "0"])).is_err());
    }

    #[test]
    fn warns_about_addresses_other_machines_reach() {
        let warn = |a: &str| exposure_warning("c", "HTTP", a.parse().expect("address"));
        assert!(warn("127.0.0.1:1").is_none());
        assert!(warn("[::1]:1").is_none());
        assert!(warn("0.0.0.0:1").is_some_and(|w| w.contains("WARNING")));
        assert!(warn("192.168.1.2:1").is_some());
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
