//! The web page: served by the collector itself, with the right content types, and loading
//! nothing from any other origin.

mod server_common;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use server_common::collector;

/// A response with its headers (names lower-cased).
struct Page {
    status: u16,
    headers: HashMap<String, String>,
    body: String,
}

impl Page {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", String::as_str)
    }
}

/// One GET over a fresh connection; the static files are small and sent with a length.
fn fetch(addr: SocketAddr, path: &str) -> Page {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").expect("send");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read");
    let text = String::from_utf8(raw).expect("UTF-8 reply");
    let (head, body) = text.split_once("\r\n\r\n").expect("header end");
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split_whitespace().nth(1)).and_then(|s| s.parse().ok()).expect("status");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Page { status, headers, body: body.to_owned() }
}

/// Every value of `name="..."` in `html`.
fn attribute_values<'a>(html: &'a str, name: &str) -> Vec<&'a str> {
    let needle = format!(" {name}=\"");
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find(&needle) {
        rest = &rest[at + needle.len()..];
        let end = rest.find('"').expect("closing quote");
        out.push(&rest[..end]);
        rest = &rest[end..];
    }
    out
}

fn expected_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        _ => panic!("unexpected asset {path}"),
    }
}

#[test]
fn page_and_its_assets_are_served_with_their_content_types() {
    let c = collector();
    let page = fetch(c.http_addr(), "/");
    assert_eq!(page.status, 200);
    assert_eq!(page.header("content-type"), "text/html; charset=utf-8");
    assert_eq!(page.header("cache-control"), "no-cache");
    assert!(page.header("content-security-policy").contains("default-src 'none'"));
    assert!(page.body.contains("<script src=\"/web/app.js\""), "the page loads its script");

    let mut assets: Vec<&str> = attribute_values(&page.body, "src");
    assets.extend(attribute_values(&page.body, "href").into_iter().filter(|h| !h.starts_with('#')));
    assets.sort_unstable();
    assert_eq!(assets, ["/web/app.js", "/web/favicon.svg", "/web/style.css"]);
    for path in assets {
        let asset = fetch(c.http_addr(), path);
        assert_eq!(asset.status, 200, "{path}");
        assert_eq!(asset.header("content-type"), expected_type(path), "{path}");
        assert_eq!(asset.header("cache-control"), "no-cache", "{path}");
        assert_eq!(asset.header("x-content-type-options"), "nosniff", "{path}");
        assert!(asset.body.len() > 100, "{path} has content");
    }
    c.shutdown().expect("shutdown");
}

#[test]
fn page_references_only_same_origin_paths() {
    let c = collector();
    let addr = c.http_addr();
    let html = fetch(addr, "/").body;
    for value in attribute_values(&html, "src").into_iter().chain(attribute_values(&html, "href")) {
        assert!(
            value.starts_with('#') || (value.starts_with('/') && !value.starts_with("//")),
            "{value:?} is not a same-origin path"
        );
    }
    let css = fetch(addr, "/web/style.css").body;
    assert!(!css.contains("url(") && !css.contains("@import"), "the stylesheet loads nothing");

    let js = fetch(addr, "/web/app.js").body;
    // The SVG namespace is a name, not something fetched.
    let without_namespace = js.replace("http://www.w3.org/2000/svg", "");
    for external in ["http://", "https://", "'//", "\"//", "`//"] {
        assert!(!without_namespace.contains(external), "app.js mentions {external}");
    }
    // Data from the network is shown as text: nothing in the script parses it as markup.
    for sink in ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("] {
        assert!(!js.contains(sink), "app.js uses {sink}");
    }
    for api in ["'/api/stats'", "`/api/traces/${", "'/api/profile/tasks'", "`/api/profile/analysis?${"] {
        assert!(js.contains(api), "app.js reads {api}");
    }
    c.shutdown().expect("shutdown");
}

#[test]
fn unknown_assets_are_not_found() {
    let c = collector();
    for path in ["/web/nope.js", "/web/..%2FCargo.toml", "/web/", "/index.html"] {
        let reply = fetch(c.http_addr(), path);
        assert_eq!(reply.status, 404, "{path}");
    }
    // The API is still there next to the page.
    let stats = fetch(c.http_addr(), "/api/stats");
    assert_eq!(stats.status, 200);
    assert_eq!(stats.header("content-type"), "application/json");
    c.shutdown().expect("shutdown");
}
