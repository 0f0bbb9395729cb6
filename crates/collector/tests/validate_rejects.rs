//! Expected data that must be rejected whatever was recorded.
//!
//! Every file in `data/validate/reject/` starts with `# rejects: <text>`; the
//! error must be a document error (not a data mismatch) whose message
//! contains that text, both against realistic data and against nothing.

mod validate_common;

use std::fs;
use std::path::Path;

use sw_collector::validate::{validate, ActualData, Semantics, ValidationError};
use validate_common::*;

fn reject_cases() -> Vec<(String, String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/validate/reject");
    let mut cases = Vec::new();
    for entry in fs::read_dir(&dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display())) {
        let path = entry.expect("directory entry").path();
        let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let fragment = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# rejects: "))
            .unwrap_or_else(|| panic!("{} lacks a '# rejects: ' first line", path.display()))
            .to_owned();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        cases.push((name, fragment, text));
    }
    cases.sort();
    cases
}

#[test]
fn every_reject_fixture_is_rejected_as_a_document_error() {
    let cases = reject_cases();
    assert!(cases.len() >= 25, "only {} reject fixtures found", cases.len());
    let realistic = ActualData::build(
        &[consumer_segment(), provider_segment()],
        &[single("svc", "python_gauge", &[], 1.0)],
        &[text_log("provider", "/users", "user created")],
    );
    for (name, fragment, text) in &cases {
        for actual in [&realistic, &ActualData::default()] {
            for semantics in [Semantics::Legacy, Semantics::Head] {
                match validate(text, actual, semantics) {
                    Ok(()) => panic!("{name} was accepted"),
                    Err(err @ (ValidationError::Yaml(_) | ValidationError::InvalidExpected { .. })) => {
                        let message = err.to_string();
                        assert!(
                            message.contains(fragment.as_str()),
                            "{name}: message does not mention {fragment:?}:\n{message}"
                        );
                    }
                    Err(other) => panic!("{name}: rejected for the wrong reason: {other}"),
                }
            }
        }
    }
}

#[test]
fn an_empty_body_is_rejected() {
    for body in ["", "   \n", "\n\n"] {
        let err = validate(body, &scenario(), Semantics::Legacy).unwrap_err();
        assert_eq!(err.to_string(), "invalid expected data at document: the expected data is empty");
    }
}

#[test]
fn empty_sections_are_valid_and_check_nothing() {
    // Explicit empty lists are a deliberate "nothing expected", unlike a typo.
    assert_eq!(check("segmentItems: []\n", &ActualData::default()), Ok(()));
    assert_eq!(check("segmentItems: []\nmeterItems: []\nlogItems: []\n", &scenario()), Ok(()));
}

#[test]
fn unknown_keys_are_ignored() {
    let expected = r"
registryItems:
  applications:
    - {provider: 2}
segmentItems:
  - serviceName: provider
    segmentSize: 1
    extra: [1, 2, 3]
    segments:
      - segmentId: not null
        spans:
          - operationName: /users
            operationId: 0
            componentName: Flask
            peerId: 0
            tags:
              - {key: http.method, value: POST, note: ignored}
              - {key: http.url, value: not null}
              - {key: http.status_code, value: '200'}
";
    assert_eq!(check(expected, &scenario()), Ok(()));
}
