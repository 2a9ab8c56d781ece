//! The GraphQL contract: `schemas/mirage.graphql` is the schema the code serves, and every
//! document the reference web client sends (`shared/contract/operations.graphql`) validates
//! against it. Operations that later issues implement are listed in `PENDING`; the test fails
//! when a listed one starts validating, so the list only shrinks.

use std::path::PathBuf;

use apollo_compiler::{ExecutableDocument, Schema};

/// Contract operations whose schema fields arrive with later issues.
const PENDING: &[&str] = &[
    "Graph",
    "Correlations",
    "ExportGraph",
    "Search",
    "History",
    "CreateReport",
    "Report",
    "CreateWebhook",
    "Audit",
    "VerifyAudit",
    "EraseSubject",
];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn committed_sdl_matches_the_code() {
    let path = repo().join("schemas/mirage.graphql");
    let generated = api::graphql::sdl();
    if std::env::var("MIRAGE_UPDATE_SDL").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "schemas/mirage.graphql is stale; regenerate it with \
         MIRAGE_UPDATE_SDL=1 cargo test -p tests --test integration contract"
    );
}

/// Splits the contract into its operations, each as its own document.
fn operations(text: &str) -> Vec<(String, String)> {
    let document = apollo_compiler::ast::Document::parse(text, "operations.graphql")
        .expect("the contract parses");
    document
        .definitions
        .iter()
        .filter_map(|definition| match definition {
            apollo_compiler::ast::Definition::OperationDefinition(operation) => Some((
                operation
                    .name
                    .as_ref()
                    .map(|name| name.to_string())
                    .expect("every contract operation is named"),
                operation.to_string(),
            )),
            _ => None,
        })
        .collect()
}

/// The repository's copy of the client contract (`../shared/contract/operations.graphql`).
const CONTRACT_COPY: &str = "schemas/contract/operations.graphql";

#[test]
fn the_contract_copy_is_identical_to_the_shared_contract_when_it_exists() {
    let shared = repo().join("../shared/contract/operations.graphql");
    let Ok(upstream) = std::fs::read_to_string(&shared) else {
        println!(
            "{} is not here; the repository's copy {CONTRACT_COPY} is used as is",
            shared.display()
        );
        return;
    };
    let copy = std::fs::read_to_string(repo().join(CONTRACT_COPY)).expect("contract copy");
    assert!(
        copy == upstream,
        "{CONTRACT_COPY} differs from {}: copy it again",
        shared.display()
    );
}

#[test]
fn every_contract_document_validates_against_the_schema() {
    let contract_path = repo().join(CONTRACT_COPY);
    let contract = std::fs::read_to_string(&contract_path)
        .unwrap_or_else(|e| panic!("{}: {e}", contract_path.display()));
    let schema = Schema::parse_and_validate(api::graphql::sdl(), "mirage.graphql")
        .expect("the generated SDL is a valid schema");
    let operations = operations(&contract);
    assert!(
        operations.len() >= 30,
        "found {} operations",
        operations.len()
    );

    let mut broken = Vec::new();
    let mut newly_valid = Vec::new();
    for (name, source) in &operations {
        let valid = ExecutableDocument::parse_and_validate(&schema, source.as_str(), "op.graphql");
        match (valid, PENDING.contains(&name.as_str())) {
            (Ok(_), true) => newly_valid.push(name.clone()),
            (Err(errors), false) => broken.push(format!("{name}: {errors}")),
            _ => {}
        }
    }
    assert!(
        broken.is_empty(),
        "contract operations the schema rejects:\n{}",
        broken.join("\n")
    );
    assert!(
        newly_valid.is_empty(),
        "now valid, remove from PENDING: {newly_valid:?}"
    );
    for pending in PENDING {
        assert!(
            operations.iter().any(|(name, _)| name == pending),
            "{pending} is not a contract operation"
        );
    }
}
