//! What documents cost against the real server's limits (security.md item 16): lists cost by
//! their `first` times what each row selects, a scan read `asOf` an earlier moment costs more
//! than a current one, and every document of the client contract still fits, with every
//! variable given and with only the required ones.
//!
//! The documents go without a credential, so a document within the limits answers
//! UNAUTHENTICATED (or another resolver's error, which always has a `path`), and one over them
//! answers "Query is too complex." (a validation error, which has none).

use apollo_compiler::ast::{Definition, Document, OperationType, Type};
use apollo_compiler::{ExecutableDocument, Schema};
use serde_json::{Map, Value, json};
use tests::app::TestApp;

use api::graphql::MAX_COMPLEXITY;
use api::graphql::cost::{LOOKUP, TIME_TRAVEL};

const TOO_COMPLEX: &str = "Query is too complex.";

/// Every value of a page of findings.
const EVERY_VALUE: &str = "nodes { id type value confidence module parentId firstSeenAt \
     falsePositive scopeDistance evidenceHash run scanId }";

/// The errors of an answer that no resolver made: the document itself was refused (parse and
/// validation errors, the depth, complexity and directive limits, the document guard).
fn document_errors(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|error| error.get("path").is_none())
        .map(|error| {
            error["message"]
                .as_str()
                .unwrap_or("(no message)")
                .to_owned()
        })
        .collect()
}

async fn refused_as_too_complex(app: &TestApp, document: &str, variables: Value) -> bool {
    let (status, body) = app.graphql(document, variables).await;
    assert_eq!(status, 200, "{body}");
    let errors = document_errors(&body);
    assert!(
        errors.is_empty() || errors == [TOO_COMPLEX],
        "refused for another reason: {body}"
    );
    if errors.is_empty() {
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
            "{body}"
        );
    } else {
        assert!(body["data"].is_null(), "{body}");
    }
    !errors.is_empty()
}

/// A value of the type a variable is declared with.
fn value_of(ty: &Type) -> Value {
    match ty {
        Type::List(inner) | Type::NonNullList(inner) => json!([value_of(inner)]),
        Type::Named(name) | Type::NonNullNamed(name) => match name.as_str() {
            "ID" => json!(uuid::Uuid::now_v7().to_string()),
            "Int" => json!(1),
            "Float" => json!(1.5),
            "Boolean" => json!(true),
            "DateTime" => json!("2024-01-01T00:00:00Z"),
            "JSON" => json!({}),
            "Role" => json!("USER"),
            _ => json!("x"),
        },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_contract_document_fits_under_the_limits() {
    let app = TestApp::spawn(&[]).await;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../schemas/contract/operations.graphql");
    let contract = std::fs::read_to_string(&path).expect("contract copy");
    let schema =
        Schema::parse_and_validate(api::graphql::sdl(), "mirage.graphql").expect("a valid schema");
    let document = Document::parse(&contract, "operations.graphql").expect("the contract parses");
    let mut checked = 0;
    let mut over = Vec::new();
    for definition in &document.definitions {
        let Definition::OperationDefinition(operation) = definition else {
            continue;
        };
        let source = operation.to_string();
        // Operations of later issues do not validate yet (the contract test lists them).
        if ExecutableDocument::parse_and_validate(&schema, source.as_str(), "op.graphql").is_err() {
            continue;
        }
        let name = operation
            .name
            .as_ref()
            .map(|n| n.to_string())
            .unwrap_or_default();
        for every_variable in [true, false] {
            let mut variables = Map::new();
            for variable in &operation.variables {
                if every_variable || variable.ty.is_non_null() {
                    variables.insert(variable.name.to_string(), value_of(&variable.ty));
                }
            }
            let (status, body) = app.graphql(&source, Value::Object(variables)).await;
            assert_eq!(status, 200, "{name}: {body}");
            let mut errors = document_errors(&body);
            if operation.operation_type == OperationType::Subscription {
                errors.retain(|e| e != "Subscriptions are not supported on this transport.");
            }
            if !errors.is_empty() {
                over.push(format!(
                    "{name} (every variable: {every_variable}): {errors:?}"
                ));
            }
        }
        checked += 1;
    }
    assert!(
        checked >= 25,
        "only {checked} contract documents were checked"
    );
    assert!(
        over.is_empty(),
        "refused contract documents:\n{}",
        over.join("\n")
    );

    // The same check catches a document over the limits.
    let over_the_limit = format!(
        "query($id: ID!) {{ a: scan(id: $id, asOf: \"2024-01-01T00:00:00Z\") {{ findings(first: 500) {{ {EVERY_VALUE} }} }} b: findings(scanId: $id, first: 500) {{ {EVERY_VALUE} }} }}"
    );
    let (_, body) = app
        .graphql(
            &over_the_limit,
            json!({ "id": uuid::Uuid::now_v7().to_string() }),
        )
        .await;
    assert_eq!(document_errors(&body), [TOO_COMPLEX], "{body}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_fields_cost_their_first_times_their_rows() {
    let app = TestApp::spawn(&[]).await;
    let scan = json!({ "id": uuid::Uuid::now_v7().to_string() });
    let page = |first: usize| format!("findings(scanId: $id, first: {first}) {{ {EVERY_VALUE} }}");
    // Two pages of 500 findings of twelve values: 2 x (20 + 500 x 13), over the limit; two
    // pages of 100 are well within it.
    let two_pages = |first| {
        format!(
            "query($id: ID!) {{ a: {} b: {} }}",
            page(first),
            page(first)
        )
    };
    assert!(refused_as_too_complex(&app, &two_pages(500), scan.clone()).await);
    assert!(!refused_as_too_complex(&app, &two_pages(100), scan.clone()).await);

    // `first` from a variable costs the same as written in the document.
    let projects = "query($n: Int!) { projects(first: $n) { id name team { id name } } }";
    assert!(refused_as_too_complex(&app, projects, json!({ "n": 500 })).await);
    assert!(!refused_as_too_complex(&app, projects, json!({ "n": 5 })).await);

    // Nested lists multiply: every scan's default page of findings (M5), and the walk from the
    // caller through teams and members to everyone's teams (M1).
    for document in [
        "{ scans { id findings { nodes { id } } } }",
        "{ me { teams { members { teams { members { id } } } } } }",
    ] {
        assert!(
            refused_as_too_complex(&app, document, json!({})).await,
            "{document}"
        );
    }
    assert!(
        !refused_as_too_complex(
            &app,
            "{ scans(first: 5) { id findings(first: 5) { nodes { id } } } }",
            json!({})
        )
        .await
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_as_it_was_costs_more_than_as_it_is() {
    let app = TestApp::spawn(&[]).await;
    let per_read = LOOKUP + 1 + TIME_TRAVEL;
    let fitting = MAX_COMPLEXITY / per_read;
    let reads = |count: usize, as_of: &str| {
        let fields: String = (0..count)
            .map(|i| format!(" a{i}: scan(id: $id{as_of}) {{ id }}"))
            .collect();
        let at = if as_of.contains("$at") {
            ", $at: DateTime"
        } else {
            ""
        };
        format!("query($id: ID!{at}) {{{fields} }}")
    };
    let scan = json!({ "id": uuid::Uuid::now_v7().to_string() });
    let at = json!({ "id": scan["id"], "at": "2024-01-01T00:00:00Z" });
    let literal = ", asOf: \"2024-01-01T00:00:00Z\"";
    assert!(!refused_as_too_complex(&app, &reads(fitting, literal), scan.clone()).await);
    assert!(refused_as_too_complex(&app, &reads(fitting + 1, literal), scan.clone()).await);
    // From a variable: counted when it has a value; a variable left out is null, a current read.
    assert!(refused_as_too_complex(&app, &reads(fitting + 1, ", asOf: $at"), at).await);
    assert!(!refused_as_too_complex(&app, &reads(fitting + 1, ", asOf: $at"), scan.clone()).await);
    // As many current reads cost a lookup each.
    assert!(!refused_as_too_complex(&app, &reads(fitting + 1, ""), scan).await);
    app.stop().await;
}
