//! The `sw8-correlation` header and the per-context correlation map.
//!
//! Wire format: `b64(key):b64(value)` pairs joined with `,`, standard padded base64 over
//! UTF-8. Limits follow upstream's Python agent, off-by-one included: a map holding more
//! than `max_elements` entries refuses new ones, so `max_elements + 1` entries fit.
//! Value lengths are counted in characters, as Python's `len(str)` does.

use crate::sw8::b64;

/// Header name.
pub const HEADER: &str = "sw8-correlation";

/// Upstream default of `correlation_element_max_number`.
pub const DEFAULT_MAX_ELEMENTS: usize = 3;

/// Upstream default of `correlation_value_max_length`.
pub const DEFAULT_MAX_VALUE_LEN: usize = 128;

/// Encode pairs in order; no pairs give an empty string (upstream still sends the header).
pub fn encode(items: &[(String, String)]) -> String {
    let mut out = Vec::new();
    for (i, (key, value)) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        b64::encode_bytes(key.as_bytes(), &mut out);
        out.push(b':');
        b64::encode_bytes(value.as_bytes(), &mut out);
    }
    // Base64, commas and colons only.
    String::from_utf8(out).unwrap_or_default()
}

/// Decode a header value, skipping entries that are not exactly `key:value`, are not
/// base64/UTF-8, or whose key or value has more than `max_value_len` characters.
///
/// The header comes from whoever calls the service, and everything decoded here is sent
/// on with every outgoing call: so the header is held to the limits that apply to values set
/// in code, keys included (upstream limits only values, and a 53 KB header of long keys was
/// forwarded whole), and an entry too long to possibly fit is skipped before decoding.
///
/// Like upstream, decoding stops only once the map holds *more than* `max_elements`
/// entries, so up to `max_elements + 1` entries are returned. A repeated key overwrites
/// the earlier value in place (dict semantics). Unlike upstream, which checks value
/// length only in `put_correlation` and raises on bad base64, over-long values and bad
/// entries are skipped here.
pub fn decode(value: &str, max_elements: usize, max_value_len: usize) -> Vec<(String, String)> {
    let mut items: Vec<(String, String)> = Vec::new();
    let value = value.trim();
    if value.is_empty() {
        return items;
    }
    // A character is at most 4 bytes of UTF-8, so at most this much base64.
    let max_encoded = max_value_len.saturating_mul(4).div_ceil(3).saturating_mul(4).saturating_add(4);
    for entry in value.split(',') {
        if items.len() > max_elements {
            break;
        }
        let Some((key, val)) = split_pair(entry) else {
            continue;
        };
        if key.len() > max_encoded || val.len() > max_encoded {
            continue;
        }
        let (Some(key), Some(val)) = (decode_text(key), decode_text(val)) else {
            continue;
        };
        if char_len_exceeds(&val, max_value_len) || char_len_exceeds(&key, max_value_len) {
            continue;
        }
        match items.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = val,
            None => items.push((key, val)),
        }
    }
    items
}

/// Split `k:v`; `None` unless there is exactly one colon.
fn split_pair(entry: &str) -> Option<(&str, &str)> {
    let (key, val) = entry.split_once(':')?;
    if val.contains(':') {
        return None;
    }
    Some((key, val))
}

fn decode_text(encoded: &str) -> Option<String> {
    String::from_utf8(b64::decode(encoded)?).ok()
}

/// True when `s` has more than `max` characters; stops counting early.
fn char_len_exceeds(s: &str, max: usize) -> bool {
    // Each char is at least one byte, so a short string needs no counting.
    s.len() > max && s.chars().nth(max).is_some()
}

/// An ordered correlation map with upstream's limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Correlation {
    items: Vec<(String, String)>,
    max_elements: usize,
    max_value_len: usize,
}

impl Default for Correlation {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_ELEMENTS, DEFAULT_MAX_VALUE_LEN)
    }
}

impl Correlation {
    /// An empty map with the given limits.
    pub fn new(max_elements: usize, max_value_len: usize) -> Self {
        Self { items: Vec::new(), max_elements, max_value_len }
    }

    /// A map filled from an incoming header value (see [`decode`]).
    pub fn from_header(value: &str, max_elements: usize, max_value_len: usize) -> Self {
        Self { items: decode(value, max_elements, max_value_len), max_elements, max_value_len }
    }

    /// Upstream's `put_correlation`: `None` deletes the key; a value longer than the limit
    /// is ignored; when the map already holds more than `max_elements` entries every put,
    /// even one replacing an existing key, is ignored. Returns false when the put was ignored.
    pub fn put(&mut self, key: &str, value: Option<&str>) -> bool {
        let Some(value) = value else {
            self.items.retain(|(k, _)| k != key);
            return true;
        };
        if char_len_exceeds(value, self.max_value_len) || self.items.len() > self.max_elements {
            return false;
        }
        match self.items.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => value.clone_into(&mut slot.1),
            None => self.items.push((key.to_owned(), value.to_owned())),
        }
        true
    }

    /// The value stored under `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.items.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Entries in insertion order.
    pub fn items(&self) -> &[(String, String)] {
        &self.items
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The outgoing header value (empty string when there are no entries).
    pub fn to_header(&self) -> String {
        encode(&self.items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn encodes_b64_pairs() {
        assert_eq!(encode(&[]), "");
        assert_eq!(encode(&pairs(&[("a", "b"), ("key", "välue")])), "YQ==:Yg==,a2V5:dsOkbHVl");
    }

    #[test]
    fn round_trips_in_order() {
        let items = pairs(&[("z", "1"), ("a", ""), ("", "empty key"), ("日本", "語")]);
        assert_eq!(decode(&encode(&items), 10, 128), items);
    }

    #[test]
    fn accepts_one_more_than_max_elements() {
        let items = pairs(&[("a", "1"), ("b", "2"), ("c", "3"), ("d", "4"), ("e", "5")]);
        let header = encode(&items);
        assert_eq!(decode(&header, 3, 128), items[..4].to_vec());
        assert_eq!(decode(&header, 0, 128), items[..1].to_vec());
    }

    #[test]
    fn skips_bad_entries_without_counting_them() {
        let header = "YQ==:MQ==,nocolon,YQ==:MQ==:MQ==,!!:MQ==,Yg==:/w==,,Yw==:Mw==";
        // bad base64, three parts, non-UTF-8 value and empty entries are all skipped.
        assert_eq!(decode(header, 1, 128), pairs(&[("a", "1"), ("c", "3")]));
    }

    #[test]
    fn skips_over_long_values() {
        let items = pairs(&[("a", "12345"), ("b", "1234"), ("c", "ééé")]);
        assert_eq!(decode(&encode(&items), 10, 4), pairs(&[("b", "1234"), ("c", "ééé")]));
    }

    #[test]
    fn repeated_key_overwrites_in_place() {
        let header = encode(&pairs(&[("a", "1"), ("b", "2"), ("a", "3")]));
        assert_eq!(decode(&header, 10, 128), pairs(&[("a", "3"), ("b", "2")]));
    }

    #[test]
    fn blank_header_is_empty() {
        assert!(decode("", 3, 128).is_empty());
        assert!(decode("  ", 3, 128).is_empty());
    }

    #[test]
    fn put_follows_upstream_limits() {
        let mut c = Correlation::new(3, 5);
        for (i, key) in ["a", "b", "c", "d"].iter().enumerate() {
            assert!(c.put(key, Some("v")), "put {i}");
        }
        // Four entries with max 3: the fifth is refused, and so is an update.
        assert!(!c.put("e", Some("v")));
        assert!(!c.put("a", Some("w")));
        assert_eq!(c.len(), 4);
        assert_eq!(c.get("a"), Some("v"));
        // Deleting is always allowed and makes room again.
        assert!(c.put("a", None));
        assert_eq!(c.get("a"), None);
        assert!(c.put("a", Some("w")));
        assert_eq!(c.get("a"), Some("w"));
        // Over-long values are ignored; the limit is in characters.
        assert!(!c.put("b", Some("123456")));
        assert_eq!(c.get("b"), Some("v"));
    }

    #[test]
    fn put_counts_characters_not_bytes() {
        let mut c = Correlation::new(3, 3);
        assert!(c.put("k", Some("ééé")));
        assert!(!c.put("k", Some("éééé")));
        assert_eq!(c.get("k"), Some("ééé"));
    }

    #[test]
    fn header_round_trip_through_map() {
        let mut c = Correlation::default();
        assert_eq!(c.to_header(), "");
        c.put("user", Some("42"));
        c.put("tier", Some("gold"));
        let back = Correlation::from_header(&c.to_header(), 3, 128);
        assert_eq!(back.items(), c.items());
        assert!(!back.is_empty());
    }
}

#[cfg(test)]
mod inbound_limits {
    use super::*;

    #[test]
    fn a_huge_inbound_header_is_held_to_the_limits() {
        // 53 KB: long keys, long values, many entries.
        let mut items: Vec<(String, String)> = Vec::new();
        for i in 0..40 {
            items.push((format!("key-{i}-{}", "k".repeat(1000)), "v".repeat(300)));
            items.push((format!("k{i}"), "v".repeat(50)));
        }
        let header = encode(&items);
        assert!(header.len() > 53_000, "{}", header.len());
        let kept = decode(&header, DEFAULT_MAX_ELEMENTS, DEFAULT_MAX_VALUE_LEN);
        assert_eq!(kept.len(), DEFAULT_MAX_ELEMENTS + 1, "upstream's off-by-one, no more");
        for (key, value) in &kept {
            assert!(key.chars().count() <= DEFAULT_MAX_VALUE_LEN && value.chars().count() <= DEFAULT_MAX_VALUE_LEN);
        }
        let forwarded = encode(&kept);
        assert!(forwarded.len() < 2 * 1024, "forwarded {} bytes", forwarded.len());
    }

    #[test]
    fn values_at_the_limit_in_multibyte_characters_are_kept() {
        let items = vec![("k".to_owned(), "\u{1F600}".repeat(DEFAULT_MAX_VALUE_LEN))];
        assert_eq!(decode(&encode(&items), 3, DEFAULT_MAX_VALUE_LEN), items);
    }
}
