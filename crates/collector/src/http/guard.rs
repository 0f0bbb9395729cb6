//! What every HTTP request passes before it reaches a handler: the collector answers only
//! requests addressed to it and changes state only for requests that no other web site
//! could have made a browser send.
//!
//! * `Host` must name this collector: an IP address, `localhost`, or a name allowed with
//!   `--allow-host`. A page on another site that points a name of its own at 127.0.0.1
//!   (DNS rebinding) would otherwise read everything the collector holds.
//! * Requests that change state (every method but GET, HEAD and OPTIONS) are refused when
//!   the browser says they come from another origin (`Origin` differs from `Host`, or
//!   `Sec-Fetch-Site` is `cross-site` or `same-site`).
//! * Their body must be `application/json` (the agents' HTTP reporters and the web page
//!   send that). A page on another origin can send `text/plain` or form bodies without the
//!   collector's consent, never JSON. `/dataValidate` changes nothing and takes YAML with
//!   any content type; `/reset` and `DELETE /receiveData` take no body.
//! * Request bodies larger than [`SMALL_BODY`] wait for a share of [`BODY_BUDGET`] before
//!   they are read, so that many clients uploading at once cannot make the collector hold
//!   more than that in bodies.
//! * Every request gets [`REQUEST_TIMEOUT`] in all.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::serve::REQUEST_TIMEOUT;

/// Bodies up to this size are read at once.
pub const SMALL_BODY: usize = 64 * 1024;
/// Bytes of request bodies held at once, over all connections.
pub const BODY_BUDGET: usize = 64 * 1024 * 1024;

/// Who may address the collector.
#[derive(Debug, Clone, Default)]
pub struct Allowed {
    /// Host names allowed besides IP addresses and `localhost` (lowercase, no port);
    /// `*` allows every name.
    pub hosts: Vec<String>,
}

/// The guard's state: the allowed hosts and the budget of body bytes being read.
#[derive(Debug)]
pub struct Guard {
    allowed: Allowed,
    /// In KiB.
    bodies: tokio::sync::Semaphore,
}

impl Guard {
    /// A guard that allows `allowed`.
    pub fn new(allowed: Allowed) -> Self {
        Self { allowed, bodies: tokio::sync::Semaphore::new(BODY_BUDGET / 1024) }
    }
}

impl Allowed {
    fn host_ok(&self, host: &str) -> bool {
        let name = host_name(host).trim_end_matches('.').to_ascii_lowercase();
        name == "localhost" || name.parse::<IpAddr>().is_ok() || self.hosts.iter().any(|h| h == "*" || *h == name)
    }
}

/// The host part of a `Host` value (`name`, `name:port`, `[v6]:port`).
fn host_name(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    host.rsplit_once(':').map_or(host, |(name, _)| name)
}

/// `Origin` (`scheme://host[:port]`) as `host[:port]`, with the scheme's default port
/// dropped so that it compares with `Host`.
fn origin_authority(origin: &str) -> Option<String> {
    let (scheme, rest) = origin.split_once("://")?;
    let authority = rest.split('/').next()?.to_ascii_lowercase();
    let default = match scheme {
        "http" => ":80",
        "https" => ":443",
        _ => return Some(authority),
    };
    Some(authority.strip_suffix(default).map(str::to_owned).unwrap_or(authority))
}

fn text(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Why a request is refused, or `None` to serve it.
fn refusal(allowed: &Allowed, method: &Method, path: &str, headers: &HeaderMap) -> Option<(StatusCode, String)> {
    let host = text(headers, header::HOST);
    if let Some(host) = host {
        if !allowed.host_ok(host) {
            let name = host_name(host);
            return Some((
                StatusCode::FORBIDDEN,
                format!(
                    "Host {host:?} is not an address of this collector; if this is intended, \
                     start it with --allow-host {name}"
                ),
            ));
        }
    }
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return None;
    }
    if let Some(site) = text(headers, header::HeaderName::from_static("sec-fetch-site")) {
        if site == "cross-site" || site == "same-site" {
            return Some((StatusCode::FORBIDDEN, format!("{method} from another site ({site}) refused")));
        }
    }
    if let Some(origin) = text(headers, header::ORIGIN) {
        let same = origin_authority(origin).is_some_and(|o| host.is_some_and(|h| o == h.to_ascii_lowercase()));
        if !same {
            return Some((StatusCode::FORBIDDEN, format!("{method} from origin {origin:?} refused")));
        }
    }
    let content_type = text(headers, header::CONTENT_TYPE);
    let json = content_type.is_some_and(|t| {
        t.split(';').next().is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
    });
    let rule = match path {
        "/dataValidate" => return None,
        "/reset" | "/receiveData" => content_type.is_none() || json,
        _ => json,
    };
    if rule {
        None
    } else {
        Some((
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("{method} {path} needs Content-Type: application/json, not {:?}", content_type.unwrap_or("none")),
        ))
    }
}

/// KiB of [`BODY_BUDGET`] a request must hold while its body is read (0 for small ones).
fn body_share(method: &Method, headers: &HeaderMap) -> u32 {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return 0;
    }
    let length = text(headers, header::CONTENT_LENGTH).and_then(|v| v.trim().parse::<usize>().ok());
    // Without a length (chunked), assume the largest body.
    let bytes = length.unwrap_or(super::MAX_BODY_BYTES).min(super::MAX_BODY_BYTES);
    if bytes <= SMALL_BODY {
        0
    } else {
        u32::try_from(bytes.div_ceil(1024)).unwrap_or(u32::MAX)
    }
}

/// The middleware: refuses with a one-line reason (logged), else serves within the time limit.
pub async fn guard(State(guard): State<Arc<Guard>>, request: Request, next: Next) -> Response {
    if let Some((status, reason)) = refusal(&guard.allowed, request.method(), request.uri().path(), request.headers()) {
        ::log::warn!("HTTP {} {} refused: {reason}", request.method(), request.uri().path());
        return (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], format!("{reason}\n")).into_response();
    }
    let what = format!("{} {}", request.method(), request.uri().path());
    let share = body_share(request.method(), request.headers());
    let serve = async {
        // Held until the response is built: the body is read and parsed within.
        let _permit = if share > 0 { guard.bodies.acquire_many(share).await.ok() } else { None };
        next.run(request).await
    };
    match tokio::time::timeout(REQUEST_TIMEOUT, serve).await {
        Ok(response) => response,
        Err(_) => {
            ::log::warn!("HTTP {what} took longer than {REQUEST_TIMEOUT:?}; abandoned");
            (StatusCode::REQUEST_TIMEOUT, "request took too long\n").into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).expect("valid"));
        }
        h
    }

    fn check(method: Method, path: &str, pairs: &[(&'static str, &str)]) -> Option<StatusCode> {
        let allowed = Allowed { hosts: vec!["collector".into()] };
        refusal(&allowed, &method, path, &headers(pairs)).map(|(s, _)| s)
    }

    const JSON: (&str, &str) = ("content-type", "application/json; charset=utf-8");

    #[test]
    fn hosts_must_name_the_collector() {
        for ok in ["127.0.0.1:12800", "localhost:12800", "LOCALHOST", "[::1]:12800", "10.1.2.3", "collector:1"] {
            assert_eq!(check(Method::GET, "/api/stats", &[("host", ok)]), None, "{ok}");
        }
        for bad in ["evil.example:12800", "attacker.com", "localhost.evil.com:1", "127.0.0.1.nip.io"] {
            assert_eq!(check(Method::GET, "/api/stats", &[("host", bad)]), Some(StatusCode::FORBIDDEN), "{bad}");
        }
        let all = Allowed { hosts: vec!["*".into()] };
        assert!(refusal(&all, &Method::GET, "/", &headers(&[("host", "anything")])).is_none());
    }

    #[test]
    fn state_changes_from_other_origins_are_refused() {
        let host = ("host", "127.0.0.1:12800");
        let post = |extra: &[(&'static str, &str)]| {
            let mut all = vec![host, JSON];
            all.extend_from_slice(extra);
            check(Method::POST, "/api/configurations", &all)
        };
        assert_eq!(post(&[]), None, "no Origin: not a browser, or a same-origin form");
        assert_eq!(post(&[("origin", "http://127.0.0.1:12800")]), None);
        assert_eq!(post(&[("sec-fetch-site", "same-origin")]), None);
        assert_eq!(post(&[("origin", "http://127.0.0.1:8000")]), Some(StatusCode::FORBIDDEN));
        assert_eq!(post(&[("origin", "null")]), Some(StatusCode::FORBIDDEN));
        assert_eq!(post(&[("sec-fetch-site", "same-site")]), Some(StatusCode::FORBIDDEN));
        assert_eq!(post(&[("sec-fetch-site", "cross-site")]), Some(StatusCode::FORBIDDEN));
        // Reads are left to the browser's same-origin policy.
        assert_eq!(check(Method::GET, "/api/traces", &[host, ("origin", "http://evil.example")]), None);
    }

    #[test]
    fn state_changes_need_json() {
        let host = ("host", "127.0.0.1:12800");
        for path in ["/api/configurations", "/api/profile/tasks", "/v3/segments"] {
            assert_eq!(check(Method::POST, path, &[host, JSON]), None);
            for t in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"] {
                let got = check(Method::POST, path, &[host, ("content-type", t)]);
                assert_eq!(got, Some(StatusCode::UNSUPPORTED_MEDIA_TYPE), "{path} {t}");
            }
            assert_eq!(check(Method::POST, path, &[host]), Some(StatusCode::UNSUPPORTED_MEDIA_TYPE));
        }
        assert_eq!(check(Method::POST, "/reset", &[host]), None);
        assert_eq!(check(Method::DELETE, "/receiveData", &[host]), None);
        assert_eq!(
            check(Method::POST, "/reset", &[host, ("content-type", "text/plain")]),
            Some(StatusCode::UNSUPPORTED_MEDIA_TYPE)
        );
        let form = ("content-type", "application/x-www-form-urlencoded");
        assert_eq!(check(Method::POST, "/dataValidate", &[host, form]), None, "curl's default");
    }
}
