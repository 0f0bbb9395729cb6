//! Backend addresses checked once at start, so that one that cannot work is reported with
//! what is wrong with it, instead of as an endless series of failed connections.

use crate::channel::first_address;
use crate::http::target;
use crate::{Protocol, ReporterConfig};

/// One line per address of `config` that cannot work; empty when all can. Each line names
/// the option, quotes its value and says what is wrong.
pub fn check_addresses(config: &ReporterConfig) -> Vec<String> {
    const BACKEND: &str = "agent_collector_backend_services";
    let quoted = |option: &str, value: &str, reason: String| format!("{option}={value:?}: {reason}");
    match config.protocol {
        Protocol::Grpc => {
            let first = first_address(&config.backend);
            check_host_port(&first, 11800, config.force_tls)
                .err()
                .map(|reason| quoted(BACKEND, &config.backend, reason))
                .into_iter()
                .collect()
        }
        Protocol::Http => target::parse(&config.backend, config.force_tls)
            .err()
            .map(|reason| quoted(BACKEND, &config.backend, reason))
            .into_iter()
            .collect(),
        Protocol::Kafka => {
            const SERVERS: &str = "kafka_bootstrap_servers";
            let servers = &config.kafka.bootstrap_servers;
            if servers.is_empty() {
                return vec![quoted(SERVERS, "", "no broker address (expected host:port, e.g. kafka:9092)".into())];
            }
            servers
                .iter()
                .filter_map(|server| check_host_port(server, 9092, false).err().map(|r| quoted(SERVERS, server, r)))
                .collect()
        }
    }
}

/// Checks a `host:port` address (IPv6 literals in brackets); `example_port` appears in the
/// examples of the messages.
fn check_host_port(address: &str, example_port: u16, force_tls: bool) -> Result<(), String> {
    let example = format!("e.g. oap:{example_port}");
    if address.is_empty() {
        return Err(format!("no address (expected host:port, {example})"));
    }
    if let Some((scheme, rest)) = address.split_once("://") {
        let tls =
            if scheme.eq_ignore_ascii_case("https") && !force_tls { "; for TLS set agent_force_tls=true" } else { "" };
        return Err(format!(
            "a URL with the scheme {scheme:?}; gRPC and Kafka take host:port without a scheme ({rest:?}){tls}"
        ));
    }
    let (host, port) = if let Some(bracketed) = address.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']').ok_or("unclosed '[' in the address")?;
        (host, after.strip_prefix(':'))
    } else {
        match address.rsplit_once(':') {
            Some((host, _)) if host.contains(':') => {
                return Err("an IPv6 address must be written in brackets, e.g. [::1]:11800".into())
            }
            Some((host, port)) => (host, Some(port)),
            None => (address, None),
        }
    };
    if host.is_empty() {
        return Err(format!("no host (expected host:port, {example})"));
    }
    let port = port.ok_or_else(|| format!("no port (expected host:port, {example})"))?;
    match port.parse::<u32>() {
        Ok(number) if (1..=65535).contains(&number) => Ok(()),
        Ok(number) => Err(format!("port {number} is not a TCP port (1 to 65535)")),
        Err(_) => Err(format!("port {port:?} is not a number (expected host:port, {example})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn working_addresses_pass() {
        for address in ["oap:11800", "127.0.0.1:1", "[::1]:11800", "oap.example.com:65535"] {
            assert_eq!(check_host_port(address, 11800, false), Ok(()), "{address}");
        }
    }

    #[test]
    fn each_broken_address_says_what_is_wrong() {
        let cases = [
            ("host:99999", "port 99999 is not a TCP port"),
            ("host:0", "port 0 is not a TCP port"),
            ("host:http", "port \"http\" is not a number"),
            ("grpc://oap:11800", "a URL with the scheme \"grpc\""),
            ("http://oap:11800", "a URL with the scheme \"http\""),
            ("", "no address"),
            (":11800", "no host"),
            ("[]:11800", "no host"),
            ("oap", "no port"),
            ("::1:11800", "IPv6 address must be written in brackets"),
        ];
        for (address, expected) in cases {
            let reason = check_host_port(address, 11800, false).expect_err(address);
            assert!(reason.contains(expected), "{address}: {reason}");
        }
        let https = check_host_port("https://oap:11800", 11800, false).expect_err("https");
        assert!(https.contains("agent_force_tls=true"), "{https}");
    }
}
