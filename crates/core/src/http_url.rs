//! The parts of an outgoing request's URL that HTTP client plugins record: the path as
//! the operation name, the host and port as the peer, the URL itself as `http.url`.
//!
//! Upstream takes them from Python's `urlparse` (with any `user:password@` removed from
//! the host). That costs a dozen Python calls per request, so the common shape of URL is
//! split here instead; for anything where `urlparse` could give a different answer
//! (credentials, IPv6 hosts, `;params`, fragments, whitespace, non-ASCII, an empty query,
//! a scheme other than lowercase `http`/`https`) this returns `None` and the caller asks
//! Python, so the result is always exactly `urlparse`'s.

/// What an exit span records about the URL of an outgoing HTTP request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UrlParts<'a> {
    /// The path, `/` when the URL has none: the span's operation name.
    pub path: &'a str,
    /// `host[:port]` as written: the span's peer.
    pub netloc: &'a str,
}

/// `url` split as `urlparse` splits it, when `urlparse(url).geturl()` is `url` itself and
/// the parts are certain; `None` when only `urlparse` can say.
pub fn split_plain(url: &str) -> Option<UrlParts<'_>> {
    let rest = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://"))?;
    // `urlparse` strips whitespace and drops tabs and newlines, and normalises non-ASCII
    // hosts; `#` starts a fragment, `;` parameters, `@` credentials, `[` an IPv6 host.
    if !rest.bytes().all(|b| b.is_ascii_graphic() && !matches!(b, b'#' | b';' | b'@' | b'[' | b']')) {
        return None;
    }
    let netloc_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (netloc, after) = rest.split_at(netloc_end);
    if netloc.is_empty() {
        return None;
    }
    let path = match after.split_once('?') {
        // An empty query is dropped by `geturl()`: the URL would not come back unchanged.
        Some((_, "")) => return None,
        Some((path, _)) => path,
        None => after,
    };
    Some(UrlParts { path: if path.is_empty() { "/" } else { path }, netloc })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(url: &str) -> Option<(&str, &str)> {
        split_plain(url).map(|p| (p.path, p.netloc))
    }

    #[test]
    fn splits_the_common_shapes() {
        assert_eq!(parts("http://127.0.0.1:8080/users/1"), Some(("/users/1", "127.0.0.1:8080")));
        assert_eq!(parts("https://example.com"), Some(("/", "example.com")));
        assert_eq!(parts("http://example.com/"), Some(("/", "example.com")));
        assert_eq!(parts("http://example.com?a=1"), Some(("/", "example.com")));
        assert_eq!(parts("http://example.com/a/b?x=1&y=2"), Some(("/a/b", "example.com")));
        assert_eq!(parts("http://Example.COM:80/A%20B"), Some(("/A%20B", "Example.COM:80")));
        assert_eq!(parts("http://h/a?b?c"), Some(("/a", "h")));
    }

    #[test]
    fn leaves_to_python_what_urlparse_treats_specially() {
        for url in [
            "http://user:pw@host/a",
            "http://[::1]:80/a",
            "http://host/a;params",
            "http://host/a#frag",
            "http://host/a?",
            "http://host/a b",
            "http://host/a\tb",
            " http://host/a",
            "http://hóst/a",
            "HTTP://host/a",
            "ftp://host/a",
            "http:///a",
            "http://?a=1",
            "host/a",
            "",
        ] {
            assert_eq!(split_plain(url), None, "{url:?}");
        }
    }
}
