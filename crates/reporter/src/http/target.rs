//! Where OAP's HTTP endpoints are, read from `agent_collector_backend_services`.
//!
//! Accepted forms: `host:port`, `http://host:port`, `https://host:port`, each with an
//! optional path prefix (for a reverse proxy) and trailing `/`. Like the gRPC channel, only
//! the first address of a comma-separated list is used. `agent_force_tls` turns any form
//! into HTTPS, as the Python agent does.

use hyper::Uri;

/// The parsed backend address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Speak HTTPS.
    pub tls: bool,
    /// Host name or IP address, without the brackets of an IPv6 literal.
    pub host: String,
    /// TCP port (80 or 443 when the address has none).
    pub port: u16,
    /// The `Host` header: the address's authority as written.
    pub authority: String,
    /// Path prefix without a trailing `/`; empty for none.
    pub base_path: String,
}

impl Target {
    /// `host:port` to open a TCP connection to (IPv6 literals in brackets).
    pub fn socket_address(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// `http://host:port/prefix` or `https://...`, for log lines.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}{}", self.authority, self.base_path)
    }
}

/// Parses `backend`; the error says what is wrong with it.
pub fn parse(backend: &str, force_tls: bool) -> Result<Target, String> {
    let first = backend.split(',').next().unwrap_or_default().trim();
    let (tls, rest) = match first.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => (force_tls, rest),
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("https") => (true, rest),
        Some((scheme, _)) => return Err(format!("unsupported scheme {scheme:?} (use http or https)")),
        None => (force_tls, first),
    };
    let (authority, path) = match rest.find('/') {
        Some(at) => rest.split_at(at),
        None => (rest, ""),
    };
    if authority.is_empty() {
        return Err("no host".into());
    }
    if authority.contains('@') {
        return Err("credentials in the address are not supported".into());
    }
    let (host, port) = split_host_port(authority)?;
    let port = match port {
        Some(port) => port,
        None if tls => 443,
        None => 80,
    };
    let base_path = path.trim_end_matches('/');
    if base_path.contains(['?', '#']) {
        return Err("the address may not have a query or fragment".into());
    }
    // Every request path is built from this prefix, so it must make a valid URI path.
    Uri::try_from(format!("{base_path}/v3/segments")).map_err(|e| format!("invalid path {base_path:?}: {e}"))?;
    Ok(Target { tls, host: host.to_owned(), port, authority: authority.to_owned(), base_path: base_path.to_owned() })
}

fn split_host_port(authority: &str) -> Result<(&str, Option<u16>), String> {
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']').ok_or("unclosed '[' in the address")?;
        match after {
            "" => (host, None),
            _ => (host, Some(after.strip_prefix(':').ok_or("expected ':port' after ']'")?)),
        }
    } else {
        match authority.split_once(':') {
            Some((_, rest)) if rest.contains(':') => {
                return Err("an IPv6 address must be written in brackets, e.g. [::1]:12800".into())
            }
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err("no host".into());
    }
    let port = port
        .map(|p| p.parse::<u16>().ok().filter(|&p| p != 0).ok_or_else(|| format!("invalid port {p:?}")))
        .transpose()?;
    Ok((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(tls: bool, host: &str, port: u16, authority: &str, base_path: &str) -> Target {
        Target { tls, host: host.into(), port, authority: authority.into(), base_path: base_path.into() }
    }

    #[test]
    fn accepted_forms() {
        let plain = target(false, "oap", 12800, "oap:12800", "");
        assert_eq!(parse("oap:12800", false), Ok(plain.clone()));
        assert_eq!(parse("http://oap:12800", false), Ok(plain.clone()));
        assert_eq!(parse(" http://oap:12800/ ", false), Ok(plain.clone()));
        assert_eq!(parse("HTTP://oap:12800//", false), Ok(plain.clone()));
        assert_eq!(parse("oap:12800/, other:12800", false), Ok(plain));
        assert_eq!(parse("oap:12800", true), Ok(target(true, "oap", 12800, "oap:12800", "")));
        assert_eq!(parse("http://oap:12800", true).map(|t| t.tls), Ok(true));
        assert_eq!(parse("https://oap", false), Ok(target(true, "oap", 443, "oap", "")));
        assert_eq!(parse("oap", false), Ok(target(false, "oap", 80, "oap", "")));
        assert_eq!(parse("oap:8080/sw/api/", false), Ok(target(false, "oap", 8080, "oap:8080", "/sw/api")));
        assert_eq!(parse("[::1]:12800", false), Ok(target(false, "::1", 12800, "[::1]:12800", "")));
        assert_eq!(parse("http://[fe80::1]/", false), Ok(target(false, "fe80::1", 80, "[fe80::1]", "")));
        assert_eq!(parse("oap:12800", false).map(|t| t.url()), Ok("http://oap:12800".to_owned()));
        assert_eq!(parse("oap:1/p/", true).map(|t| t.url()), Ok("https://oap:1/p".to_owned()));
    }

    #[test]
    fn rejected_forms() {
        for bad in [
            "",
            "http://",
            ":12800",
            "grpc://oap:11800",
            "oap:port",
            "oap:0",
            "oap:70000",
            "::1:12800",
            "[::1",
            "[::1]12800",
            "user:pw@oap:12800",
            "oap:12800/x?y=1",
            "oap:12800/a b",
        ] {
            assert!(parse(bad, false).is_err(), "{bad:?} was accepted");
        }
    }
}
