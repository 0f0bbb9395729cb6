//! Value expressions (§2.5): parsing under both semantics and evaluation.

mod validate_common;

use sw_collector::validate::{validate, ActualData, EvalError, Expr, Semantics, ValidationError};
use sw_proto::v3::{SpanLayer, SpanType};
use validate_common::*;

use Semantics::{Head, Legacy};

fn parse(text: &str, semantics: Semantics) -> Expr {
    Expr::parse(Some(text), semantics)
}

fn eq(text: &str) -> Expr {
    Expr::Equals(text.to_owned())
}

#[test]
fn keyword_operators_parse_the_same_when_written_exactly() {
    for semantics in [Legacy, Head] {
        assert_eq!(parse("not null", semantics), Expr::NotNull);
        assert_eq!(parse("  not null \t", semantics), Expr::NotNull);
        assert_eq!(parse("null", semantics), Expr::Null);
        assert_eq!(parse("not blank", semantics), Expr::NotBlank);
        assert_eq!(parse("eq /users", semantics), eq("/users"));
        assert_eq!(parse("nq 500", semantics), Expr::NotEquals("500".to_owned()));
        assert_eq!(parse("gt 0", semantics), Expr::GreaterThan("0".to_owned()));
        assert_eq!(parse("ge 1", semantics), Expr::GreaterEqual("1".to_owned()));
        assert_eq!(parse("/users", semantics), eq("/users"));
        assert_eq!(parse("  padded  ", semantics), eq("padded"));
        assert_eq!(parse("eq", semantics), eq("eq"));
        assert_eq!(Expr::parse(None, semantics), Expr::Noop);
    }
}

#[test]
fn legacy_splits_on_single_spaces() {
    // 3+ tokens or an unknown first word: the whole text is a literal.
    assert_eq!(parse("eq a b", Legacy), eq("eq a b"));
    assert_eq!(parse("hello world", Legacy), eq("hello world"));
    assert_eq!(parse("GET /users", Legacy), eq("GET /users"));
    // A double space makes an empty token, so this is a literal too.
    assert_eq!(parse("eq  a", Legacy), eq("eq  a"));
    assert_eq!(parse("not  null", Legacy), eq("not  null"));
    // Keywords must be the whole expression.
    assert_eq!(parse("nullable", Legacy), eq("nullable"));
    assert_eq!(parse("not nullX", Legacy), eq("not nullX"));
    // HEAD-only operators are literals here.
    assert_eq!(parse("start with /us", Legacy), eq("start with /us"));
    assert_eq!(parse("end with rs", Legacy), eq("end with rs"));
}

#[test]
fn head_matches_operator_prefixes() {
    assert_eq!(parse("eq a b", Head), eq("a b"));
    assert_eq!(parse("eq  a ", Head), eq("a"));
    assert_eq!(parse("nullable", Head), Expr::Null);
    assert_eq!(parse("not nullX", Head), Expr::NotNull);
    assert_eq!(parse("not blank at all", Head), Expr::NotBlank);
    assert_eq!(parse("start with /us", Head), Expr::StartWith("/us".to_owned()));
    assert_eq!(parse("end with rs", Head), Expr::EndWith("rs".to_owned()));
    assert_eq!(parse("hello world", Head), eq("hello world"));
    assert_eq!(parse("gt abc", Head), Expr::GreaterThan("abc".to_owned()));
}

#[test]
fn presence_operators() {
    assert_eq!(Expr::NotNull.matches(Some("")), Ok(true));
    assert_eq!(Expr::NotNull.matches(None), Ok(false));
    assert_eq!(Expr::Null.matches(None), Ok(true));
    assert_eq!(Expr::Null.matches(Some("")), Ok(true));
    assert_eq!(Expr::Null.matches(Some("x")), Ok(false));
    assert_eq!(Expr::NotBlank.matches(Some(" \t")), Ok(false));
    assert_eq!(Expr::NotBlank.matches(Some(" x ")), Ok(true));
    assert_eq!(Expr::NotBlank.matches(None), Ok(false));
    assert_eq!(Expr::Noop.matches(None), Ok(true));
}

#[test]
fn equality_trims_the_expected_side_only() {
    let literal = parse("  /users ", Legacy);
    assert_eq!(literal.matches(Some("/users")), Ok(true));
    assert_eq!(literal.matches(Some("/users ")), Ok(false));
    assert_eq!(literal.matches(None), Ok(false));
    // nq compares with the trimmed actual value.
    let nq = parse("nq 500", Legacy);
    assert_eq!(nq.matches(Some(" 500 ")), Ok(false));
    assert_eq!(nq.matches(Some("200")), Ok(true));
    assert_eq!(nq.matches(None), Err(EvalError::NullActual));
}

#[test]
fn numeric_operators_parse_both_sides_as_doubles() {
    assert_eq!(parse("gt 0", Legacy).matches(Some("1700000000000")), Ok(true));
    assert_eq!(parse("gt 1", Legacy).matches(Some("1")), Ok(false));
    assert_eq!(parse("ge 1", Legacy).matches(Some("1")), Ok(true));
    assert_eq!(parse("ge 1", Legacy).matches(Some("1.0")), Ok(true));
    assert_eq!(parse("gt 0.5", Legacy).matches(Some("0.75")), Ok(true));
    assert_eq!(parse("ge 2", Legacy).matches(Some("1.999")), Ok(false));
    assert_eq!(parse("gt 0", Legacy).matches(Some("abc")), Err(EvalError::NotANumber("abc".to_owned())));
    assert_eq!(parse("gt abc", Head).matches(Some("1")), Err(EvalError::NotANumber("abc".to_owned())));
    assert_eq!(parse("ge 0", Legacy).matches(None), Err(EvalError::NullActual));
}

#[test]
fn prefix_and_suffix_operators() {
    let starts = parse("start with /us", Head);
    assert_eq!(starts.matches(Some("/users")), Ok(true));
    assert_eq!(starts.matches(Some("/admin/users")), Ok(false));
    assert_eq!(starts.matches(None), Ok(false));
    let ends = parse("end with ers", Head);
    assert_eq!(ends.matches(Some("/users")), Ok(true));
    assert_eq!(ends.matches(Some("/user")), Ok(false));
    assert_eq!(ends.matches(None), Ok(false));
}

fn provider_peer(expression: &str) -> String {
    format!(
        "segmentItems:\n- serviceName: provider\n  segments:\n  - spans:\n    - peer: {expression}\n      tags: [{{key: http.method, value: POST}}, {{key: http.url, value: not null}}, {{key: http.status_code, value: '200'}}]\n"
    )
}

#[test]
fn start_with_only_works_under_head() {
    let expected = provider_peer("start with consumer");
    assert_eq!(validate(&expected, &scenario(), Head), Ok(()));
    assert_mentions(
        &fails(&expected, &scenario(), Legacy),
        &["span[0].peer: expected 'start with consumer' but was 'consumer:50001'"],
    );
    let expected = provider_peer("'end with :50001'");
    assert_eq!(validate(&expected, &scenario(), Head), Ok(()));
    assert!(validate(&expected, &scenario(), Legacy).is_err());
}

#[test]
fn multi_word_operands_depend_on_semantics() {
    let op = span(0, -1, "GET /users", SpanType::Entry, SpanLayer::Http, 7001);
    let actual = ActualData::build(&[segment("svc", "seg", vec![op])], &[], &[]);
    let expected = "segmentItems:\n- serviceName: svc\n  segments:\n  - spans:\n    - operationName: eq GET /users\n";
    // 7f20775: three tokens, so the whole text is a literal.
    assert_mentions(&fails(expected, &actual, Legacy), &["expected 'eq GET /users' but was 'GET /users'"]);
    assert_eq!(validate(expected, &actual, Head), Ok(()));
    // A plain multi-word literal works in both.
    let literal = expected.replace("eq GET /users", "GET /users");
    assert_eq!(validate(&literal, &actual, Legacy), Ok(()));
    assert_eq!(validate(&literal, &actual, Head), Ok(()));
    // A double space after the operator: literal in 7f20775, trimmed operand in HEAD.
    let double = provider_peer("'eq  consumer:50001'");
    assert!(validate(&double, &scenario(), Legacy).is_err());
    assert_eq!(validate(&double, &scenario(), Head), Ok(()));
    assert_eq!(validate(&provider_peer("nq consumer"), &scenario(), Legacy), Ok(()));
    assert_mentions(
        &fails(&provider_peer("nq consumer:50001"), &scenario(), Head),
        &["expected 'nq consumer:50001' but was 'consumer:50001'"],
    );
}

#[test]
fn nullable_is_a_literal_in_legacy_and_the_null_operator_in_head() {
    // A local span has an empty peer.
    let local = span(0, -1, "compute", SpanType::Local, SpanLayer::Unknown, 0);
    let actual = ActualData::build(&[segment("svc", "seg", vec![local])], &[], &[]);
    let expected = "segmentItems:\n- serviceName: svc\n  segments:\n  - spans:\n    - peer: nullable\n";
    assert_mentions(&fails(expected, &actual, Legacy), &["span[0].peer: expected 'nullable' but was ''"]);
    assert_eq!(validate(expected, &actual, Head), Ok(()));
    // `null` and `not null` both accept an empty string in both semantics.
    for semantics in [Legacy, Head] {
        assert_eq!(validate(&expected.replace("nullable", "'null'"), &actual, semantics), Ok(()));
        assert_eq!(validate(&expected.replace("nullable", "not null"), &actual, semantics), Ok(()));
        assert!(validate(&expected.replace("nullable", "not blank"), &actual, semantics).is_err());
    }
}

#[test]
fn yaml_null_means_not_checked_but_quoted_null_is_the_operator() {
    assert_eq!(check(&provider_peer("null"), &scenario()), Ok(()));
    assert_eq!(check(&provider_peer("~"), &scenario()), Ok(()));
    assert_eq!(check(&provider_peer(""), &scenario()), Ok(()));
    assert_mentions(
        &fails(&provider_peer("'null'"), &scenario(), Legacy),
        &["span[0].peer: expected 'null' but was 'consumer:50001'"],
    );
}

#[test]
fn scalars_compare_as_their_literal_text() {
    let field = |line: &str| {
        format!(
            "segmentItems:\n- serviceName: provider\n  segments:\n  - spans:\n    - {line}\n      tags: [{{key: http.method, value: POST}}, {{key: http.url, value: not null}}, {{key: http.status_code, value: '200'}}]\n"
        )
    };
    assert_eq!(check(&field("componentId: 7001"), &scenario()), Ok(()));
    assert_eq!(check(&field("componentId: '7001'"), &scenario()), Ok(()));
    assert_eq!(check(&field("isError: false"), &scenario()), Ok(()));
    // Same number or bool, different text: not equal.
    assert_mentions(&fails(&field("componentId: 07001"), &scenario(), Legacy), &["expected '07001' but was '7001'"]);
    assert_mentions(&fails(&field("componentId: 0x1B59"), &scenario(), Legacy), &["expected '0x1B59'"]);
    assert_mentions(&fails(&field("componentId: 7001.0"), &scenario(), Legacy), &["expected '7001.0'"]);
    assert_mentions(&fails(&field("isError: False"), &scenario(), Legacy), &["expected 'False' but was 'false'"]);
    // Numeric operators do parse numbers.
    assert_eq!(check(&field("componentId: ge 7001.0"), &scenario()), Ok(()));
}

#[test]
fn evaluation_errors_abort_with_a_clear_message() {
    let err = validate(&provider_peer("ge 1"), &scenario(), Legacy).unwrap_err();
    match &err {
        ValidationError::Expression { at, expression, actual, reason } => {
            assert!(at.ends_with("span[0].peer"), "{at}");
            assert_eq!(expression, "ge 1");
            assert_eq!(actual, "'consumer:50001'");
            assert_eq!(reason, "'consumer:50001' is not a number");
        }
        other => panic!("expected an expression error, got {other:?}"),
    }
}
