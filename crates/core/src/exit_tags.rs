//! The tags of database and cache exit spans: which tags, in which order (upstream's, which
//! the backend's database and cache analyses read), with the keys as constants rather than
//! text the plugin passes in, and a statement cut to a length when the plugin asks for it.

use crate::segment::set_tag;
use crate::span::SpanState;
use crate::tags;

/// A tag to record: its key and its value; a `None` value is left out.
pub type ExitTag = (&'static str, Option<String>);

/// A database call's tags: `db.type`, `db.instance` (when known), `db.statement` (when
/// given; cut to `statement_max_length` characters plus `...` when that is positive) and
/// `db.sql.parameters` (when given).
#[must_use]
pub fn database(
    db_type: String,
    instance: Option<String>,
    statement: Option<String>,
    parameters: Option<String>,
    statement_max_length: usize,
) -> [ExitTag; 4] {
    let statement = statement.map(|text| truncate(text, statement_max_length));
    [
        (tags::DB_TYPE, Some(db_type)),
        (tags::DB_INSTANCE, instance),
        (tags::DB_STATEMENT, statement),
        (tags::DB_SQL_PARAMETERS, parameters),
    ]
}

/// A cache command's tags as upstream's redis plugin writes them: `cache.type`,
/// `cache.key` (empty without a key), `cache.cmd`, `cache.op` (`read`, `write` or empty).
#[must_use]
pub fn cache(cache_type: String, key: Option<String>, cmd: String, op: Option<String>) -> [ExitTag; 4] {
    [
        (tags::CACHE_TYPE, Some(cache_type)),
        (tags::CACHE_KEY, Some(key.unwrap_or_default())),
        (tags::CACHE_CMD, Some(cmd)),
        (tags::CACHE_OP, Some(op.unwrap_or_default())),
    ]
}

/// A cache command's tags in the `db.*` style of upstream's aioredis plugin: `db.type` (the
/// cache's type), `db.instance` (the database number), `db.statement` (the command).
#[must_use]
pub fn cache_as_database(cache_type: String, instance: String, cmd: String) -> [ExitTag; 4] {
    database(cache_type, Some(instance), Some(cmd), None, 0)
}

/// Records `layer` and `tags` on an exit span, in order; nothing on a no-op span. A span
/// without tags yet (a new one) takes them as they are, in one allocation; a reused span
/// (an exit span a plugin inherited) takes them as `set_tag` does, replacing its own.
pub fn record(span: &mut SpanState, layer: i32, tags: [ExitTag; 4]) {
    if span.noop {
        return;
    }
    let data = &mut span.data;
    data.span_layer = layer;
    if data.tags.is_empty() {
        data.tags.reserve_exact(tags.iter().filter(|(_, value)| value.is_some()).count());
    }
    for (key, value) in tags {
        if let Some(value) = value {
            set_tag(data, key, value, tags::overridable(key));
        }
    }
}

/// `text` cut to `max_chars` characters with `...` appended when it is longer (upstream's
/// format); unchanged when `max_chars` is 0.
#[must_use]
pub fn truncate(mut text: String, max_chars: usize) -> String {
    if max_chars == 0 || text.len() <= max_chars {
        // A text of at most `max_chars` bytes has at most that many characters.
        return text;
    }
    if let Some((cut, _)) = text.char_indices().nth(max_chars) {
        text.truncate(cut);
        text.push_str("...");
    }
    text
}

#[cfg(test)]
mod tests {
    use sw_proto::v3::SpanLayer;

    use super::*;
    use crate::span_data::SpanData;
    use crate::span_kind::Kind;

    fn pairs(span: &SpanState) -> Vec<(&str, &str)> {
        span.data.tag_pairs()
    }

    fn exit_span() -> SpanState {
        SpanState::new(Kind::Exit, SpanData::default())
    }

    #[test]
    fn database_tags_in_upstreams_order_without_the_missing_ones() {
        let mut span = exit_span();
        let tags = database("mysql".into(), None, Some("SELECT 1".into()), Some("[7]".into()), 0);
        record(&mut span, SpanLayer::Database as i32, tags);
        assert_eq!(span.data.span_layer, SpanLayer::Database as i32);
        assert_eq!(
            pairs(&span),
            vec![("db.type", "mysql"), ("db.statement", "SELECT 1"), ("db.sql.parameters", "[7]")]
        );
        let mut span = exit_span();
        record(
            &mut span,
            SpanLayer::Database as i32,
            database("PostgreSQL".into(), Some("shop".into()), None, None, 0),
        );
        assert_eq!(pairs(&span), vec![("db.type", "PostgreSQL"), ("db.instance", "shop")]);
    }

    #[test]
    fn cache_tags_in_both_styles() {
        let mut span = exit_span();
        record(&mut span, SpanLayer::Cache as i32, cache("Redis".into(), None, "PING".into(), None));
        assert_eq!(
            pairs(&span),
            vec![("cache.type", "Redis"), ("cache.key", ""), ("cache.cmd", "PING"), ("cache.op", "")]
        );
        let mut span = exit_span();
        record(&mut span, SpanLayer::Cache as i32, cache_as_database("Redis".into(), "0".into(), "SET".into()));
        assert_eq!(pairs(&span), vec![("db.type", "Redis"), ("db.instance", "0"), ("db.statement", "SET")]);
    }

    #[test]
    fn a_reused_span_has_its_tags_replaced_and_parameters_appended() {
        let mut span = exit_span();
        let first = database("mysql".into(), Some("a".into()), Some("x".into()), Some("[1]".into()), 0);
        record(&mut span, SpanLayer::Database as i32, first);
        let second = database("mysql".into(), Some("b".into()), Some("y".into()), Some("[2]".into()), 0);
        record(&mut span, SpanLayer::Database as i32, second);
        assert_eq!(
            pairs(&span),
            vec![
                ("db.type", "mysql"),
                ("db.instance", "b"),
                ("db.statement", "y"),
                ("db.sql.parameters", "[1]"),
                ("db.sql.parameters", "[2]"),
            ]
        );
    }

    #[test]
    fn a_noop_span_records_nothing() {
        let mut span = SpanState::noop(Kind::Exit, "Redis/GET".into());
        record(&mut span, SpanLayer::Cache as i32, cache("Redis".into(), Some("k".into()), "GET".into(), None));
        assert!(span.data.tags.is_empty());
        assert_eq!(span.data.span_layer, 0);
    }

    #[test]
    fn statements_are_cut_by_characters() {
        let tags = database("MongoDB".into(), None, Some("abcdef".into()), None, 3);
        assert_eq!(tags[2].1.as_deref(), Some("abc..."));
        assert_eq!(truncate("ééé".into(), 2), "éé...");
        assert_eq!(truncate("ééé".into(), 3), "ééé");
        assert_eq!(truncate("abc".into(), 3), "abc");
        assert_eq!(truncate("abcdef".into(), 0), "abcdef");
    }
}
