//! Tag keys, as upstream's `skywalking.trace.tags` names them (the backend keys on them).

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
