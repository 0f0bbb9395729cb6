//! Tag keys, as upstream's `skywalking.trace.tags` names them (the backend keys on them).

use std::borrow::Cow;

use crate::span_data::TagKey;

pub const HTTP_METHOD: &str = "http.method";
pub const HTTP_URL: &str = "http.url";
pub const HTTP_STATUS_CODE: &str = "http.status_code";
pub const HTTP_STATUS_MSG: &str = "http.status_msg";
pub const HTTP_PARAMS: &str = "http.params";
pub const DB_TYPE: &str = "db.type";
pub const DB_INSTANCE: &str = "db.instance";
pub const DB_STATEMENT: &str = "db.statement";
/// The one tag that is repeatable (not overridable): each value is appended.
pub const DB_SQL_PARAMETERS: &str = "db.sql.parameters";
pub const CACHE_TYPE: &str = "cache.type";
pub const CACHE_OP: &str = "cache.op";
pub const CACHE_CMD: &str = "cache.cmd";
pub const CACHE_KEY: &str = "cache.key";
pub const MQ_BROKER: &str = "mq.broker";
pub const MQ_TOPIC: &str = "mq.topic";
pub const MQ_QUEUE: &str = "mq.queue";
pub const CELERY_PARAMETERS: &str = "celery.parameters";
pub const GRPC_METHOD: &str = "grpc.method";
pub const GRPC_URL: &str = "grpc.url";
pub const GRPC_STATUS_CODE: &str = "grpc.status_code";

/// Whether a tag with `key` replaces an earlier one with the same key.
#[must_use]
pub fn overridable(key: &str) -> bool {
    key != DB_SQL_PARAMETERS
}

/// Every key above, for [`key`].
const KNOWN: [&str; 20] = [
    HTTP_METHOD,
    HTTP_URL,
    HTTP_STATUS_CODE,
    HTTP_STATUS_MSG,
    HTTP_PARAMS,
    DB_TYPE,
    DB_INSTANCE,
    DB_STATEMENT,
    DB_SQL_PARAMETERS,
    CACHE_TYPE,
    CACHE_OP,
    CACHE_CMD,
    CACHE_KEY,
    MQ_BROKER,
    MQ_TOPIC,
    MQ_QUEUE,
    CELERY_PARAMETERS,
    GRPC_METHOD,
    GRPC_URL,
    GRPC_STATUS_CODE,
];

/// A tag key given as text (by Python code): one of the constants above, borrowed, when it
/// is one (no allocation, none to free), else the text copied.
#[must_use]
pub fn key(text: &str) -> TagKey {
    match KNOWN.iter().find(|known| **known == text) {
        Some(known) => Cow::Borrowed(known),
        None => Cow::Owned(text.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_keys_are_borrowed_others_copied() {
        for known in &KNOWN {
            assert!(matches!(key(known), Cow::Borrowed(k) if k == *known), "{known}");
        }
        assert!(matches!(key("http.methods"), Cow::Owned(k) if k == "http.methods"));
        assert!(matches!(key(""), Cow::Owned(k) if k.is_empty()));
    }
}
