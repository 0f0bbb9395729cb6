//! `agent_log_reporter_safe_mode`: credentials in URLs are removed from reported text, as
//! upstream's `re.sub(r'://(.*?)@', '://', text)` removes them.

/// `text` with every `://user:password@` turned into `://`. As the regex, the credentials
/// end at the first `@` on the same line (`.` does not match a newline).
#[must_use]
pub fn strip_credentials(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains("://") {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let after = &rest[at + 3..];
        let line = after.find('\n').map_or(after, |end| &after[..end]);
        match line.find('@') {
            Some(credentials_end) => {
                out.push_str(&rest[..at + 3]);
                rest = &after[credentials_end + 1..];
            }
            None => {
                out.push_str(&rest[..at + 1]);
                rest = &rest[at + 1..];
            }
        }
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::strip_credentials;

    #[test]
    fn same_as_upstreams_regex() {
        // Expectations from Python: re.sub(r'://(.*?)@', '://', text)
        let cases = [
            ("http://user:pass@host/x", "http://host/x"),
            ("a https://u@h and ftp://x:y@z/ b", "a https://h and ftp://z/ b"),
            ("no url here", "no url here"),
            ("http://host/path@v1", "http://v1"),
            ("http://host\nuser@example.com", "http://host\nuser@example.com"),
            (":// @", "://"),
            ("x://a@b://c@d", "x://b://d"),
        ];
        for (input, expected) in cases {
            assert_eq!(strip_credentials(input), expected, "{input}");
        }
    }
}
