//! Text of values that arrive as bytes (SQL statements, cache keys).

/// `bytes` as text: UTF-8 when it is valid UTF-8, else Latin-1 (every byte one character),
/// so that no byte is lost or replaced.
#[must_use]
pub fn decode_utf8_or_latin1(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => bytes.iter().map(|&byte| char::from(byte)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::decode_utf8_or_latin1;

    #[test]
    fn valid_utf8_is_kept() {
        assert_eq!(decode_utf8_or_latin1("SELECT 'é'".as_bytes()), "SELECT 'é'");
        assert_eq!(decode_utf8_or_latin1(b""), "");
    }

    #[test]
    fn invalid_utf8_is_read_as_latin1() {
        assert_eq!(decode_utf8_or_latin1(b"key\xe9\xff"), "key\u{e9}\u{ff}");
    }
}
