//! The authorization matrix (security.md items 14 and 15): every query, mutation and
//! subscription field of `schemas/mirage.graphql`, for every role (ADMIN, ANALYST, USER,
//! READ_ONLY), an API key and no credential, against a resource of the caller's own
//! organization (their own one and someone else's, where ownership matters) and one of another
//! organization. A field of the schema without a rule here fails the test.
//!
//! The expectations are written from the policy table (`domain/src/policy/grants.rs`), not
//! from the resolvers: allowed means no error, or a domain error that is not FORBIDDEN,
//! UNAUTHENTICATED or NOT_FOUND; denied means FORBIDDEN; another organization's id means
//! NOT_FOUND with exactly the error object of a random missing id; no credential means
//! UNAUTHENTICATED except for the public fields.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use apollo_compiler::{ExecutableDocument, Schema, ast::OperationType, executable::Selection};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tests::app::TestApp;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const PASSWORD: &str = "correct horse battery staple";

// ---------------------------------------------------------------------------------------------
// The policy, as this test reads it from the table in domain/src/policy/grants.rs

/// How far a role's permission reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Grant {
    No,
    Own,
    Org,
}
use Grant::{No, Org, Own};

/// What a policy action is decided against: the organization as a whole is nobody's own; the
/// caller's own user is always theirs; a team or an API key is theirs when the target is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resource {
    Organization,
    Caller,
    Owned,
}

#[derive(Debug, Clone, Copy)]
struct Permission {
    /// ADMIN, ANALYST, USER, READ_ONLY.
    grants: [Grant; 4],
    /// False for the actions an API key may never take.
    api_keys: bool,
    resource: Resource,
}

const READ_SELF: Permission = Permission {
    grants: [Own, Own, Own, Own],
    api_keys: true,
    resource: Resource::Caller,
};
const ENROLL_MFA: Permission = Permission {
    grants: [Own, Own, Own, Own],
    api_keys: false,
    resource: Resource::Caller,
};
const MANAGE_API_KEYS_OWN: Permission = Permission {
    grants: [Org, Own, Own, Own],
    api_keys: false,
    resource: Resource::Caller,
};
const MANAGE_API_KEYS: Permission = Permission {
    grants: [Org, Own, Own, Own],
    api_keys: false,
    resource: Resource::Owned,
};
const MANAGE_USERS_ORG: Permission = Permission {
    grants: [Org, No, No, No],
    api_keys: true,
    resource: Resource::Organization,
};
const MANAGE_USERS: Permission = Permission {
    grants: [Org, No, No, No],
    api_keys: true,
    resource: Resource::Owned,
};
const MANAGE_TEAMS_ORG: Permission = Permission {
    grants: [Org, No, No, No],
    api_keys: true,
    resource: Resource::Organization,
};
const MANAGE_TEAMS: Permission = Permission {
    grants: [Org, No, No, No],
    api_keys: true,
    resource: Resource::Owned,
};
const CREATE_PROJECT: Permission = Permission {
    grants: [Org, Own, No, No],
    api_keys: true,
    resource: Resource::Owned,
};
const READ_PROJECT: [Grant; 4] = [Org, Org, Own, Own];
const READ_MODULES: Permission = Permission {
    grants: [Org, Org, Org, Org],
    api_keys: true,
    resource: Resource::Organization,
};
const CREATE_SCAN: Permission = Permission {
    grants: [Org, Own, Own, No],
    api_keys: true,
    resource: Resource::Owned,
};
const READ_SCAN: [Grant; 4] = [Org, Org, Own, Own];
const READ_SCAN_OWNED: Permission = Permission {
    grants: READ_SCAN,
    api_keys: true,
    resource: Resource::Owned,
};
const UPDATE_SCAN: Permission = Permission {
    grants: [Org, Own, Own, No],
    api_keys: true,
    resource: Resource::Owned,
};
const MARK_FALSE_POSITIVE: Permission = Permission {
    grants: [Org, Own, No, No],
    api_keys: true,
    resource: Resource::Owned,
};
const READ_FINDINGS: Permission = Permission {
    grants: [Org, Org, Own, Own],
    api_keys: true,
    resource: Resource::Owned,
};
const READ_AUDIT: Permission = Permission {
    grants: [Org, No, No, No],
    api_keys: true,
    resource: Resource::Organization,
};

#[derive(Debug, Clone, Copy)]
enum Access {
    /// Anyone, with or without a credential.
    Public,
    /// Anyone, and with the case's (bogus) input every caller gets exactly the answer an
    /// anonymous caller gets: the credential makes no difference.
    AsAnonymous,
    /// Any signed-in caller; what they see is filtered by the policy row by row.
    SignedIn,
    /// Any caller with a session (an API key has none to end).
    Session,
    /// Decided by the policy.
    Policy(Permission),
}

/// The callers of the matrix, all in organization A except `Anonymous`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Who {
    Admin,
    Analyst,
    User,
    ReadOnly,
    /// An API key of the administrator, with role ADMIN.
    ApiKey,
    Anonymous,
}

const EVERYONE: [Who; 6] = [
    Who::Admin,
    Who::Analyst,
    Who::User,
    Who::ReadOnly,
    Who::ApiKey,
    Who::Anonymous,
];

impl Who {
    /// The column of the grant table (an API key acts with its role capped at its owner's).
    fn column(self) -> usize {
        match self {
            Who::Admin | Who::ApiKey => 0,
            Who::Analyst => 1,
            Who::User => 2,
            Who::ReadOnly => 3,
            Who::Anonymous => unreachable!("no role"),
        }
    }
}

/// What an id argument points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Target {
    /// The field takes no id.
    None,
    /// The caller's own: a team they belong to, a key they own.
    Own,
    /// In the caller's organization, not theirs.
    Org,
    /// In another organization.
    OtherOrg,
    /// An id nothing has.
    Missing,
}

const OWNED: &[Target] = &[Target::Own, Target::Org, Target::OtherOrg, Target::Missing];
const IN_ORG: &[Target] = &[Target::Org, Target::OtherOrg, Target::Missing];
const NO_ID: &[Target] = &[Target::None];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Allowed,
    /// The same answer as without a credential.
    AsAnonymous,
    Forbidden,
    Unauthenticated,
    NotFound,
}

fn expected(access: Access, who: Who, target: Target) -> Outcome {
    match access {
        Access::Public => return Outcome::Allowed,
        Access::AsAnonymous => return Outcome::AsAnonymous,
        _ => {}
    }
    if who == Who::Anonymous {
        return Outcome::Unauthenticated;
    }
    if matches!(target, Target::OtherOrg | Target::Missing) {
        return Outcome::NotFound;
    }
    let permission = match access {
        Access::Public | Access::AsAnonymous | Access::SignedIn => return Outcome::Allowed,
        Access::Session if who == Who::ApiKey => return Outcome::Forbidden,
        Access::Session => return Outcome::Allowed,
        Access::Policy(permission) => permission,
    };
    if who == Who::ApiKey && !permission.api_keys {
        return Outcome::Forbidden;
    }
    let owned = match permission.resource {
        Resource::Organization => false,
        Resource::Caller => true,
        Resource::Owned => target == Target::Own,
    };
    match permission.grants[who.column()] {
        Org => Outcome::Allowed,
        Own if owned => Outcome::Allowed,
        Own | No => Outcome::Forbidden,
    }
}

// ---------------------------------------------------------------------------------------------
// The rules: one per field of the schema

struct Rule {
    field: &'static str,
    /// Tells apart several rules of one field (different arguments, different access).
    note: &'static str,
    document: &'static str,
    access: Access,
    targets: &'static [Target],
}

const RULES: &[Rule] = &[
    // Queries
    Rule {
        field: "serverInfo",
        note: "",
        document: "query { serverInfo { version storeBackend } }",
        access: Access::Public,
        targets: NO_ID,
    },
    Rule {
        field: "me",
        note: "",
        document: "query { me { id role organization { id } } }",
        access: Access::Policy(READ_SELF),
        targets: NO_ID,
    },
    Rule {
        field: "projects",
        note: "",
        document: "query { projects { id team { id } } }",
        access: Access::SignedIn,
        targets: NO_ID,
    },
    Rule {
        field: "modules",
        note: "",
        document: "query { modules { id consumes produces } }",
        access: Access::Policy(READ_MODULES),
        targets: NO_ID,
    },
    Rule {
        field: "scans",
        note: "",
        document: "query { scans { id } }",
        access: Access::SignedIn,
        targets: NO_ID,
    },
    Rule {
        field: "scan",
        note: "",
        document: "query($id: ID!) { scan(id: $id) { id status findingCount } }",
        access: Access::Policy(READ_SCAN_OWNED),
        targets: OWNED,
    },
    Rule {
        field: "findings",
        note: "",
        document: "query($id: ID!) { findings(scanId: $id, first: 5) { totalCount nodes { id } } }",
        access: Access::Policy(READ_FINDINGS),
        targets: OWNED,
    },
    // Mutations
    Rule {
        field: "createScan",
        note: "",
        document: "mutation($id: ID!) { createScan(input: { projectId: $id, name: \"m\", targets: [\"http://192.0.2.10/\"], modules: [\"interesting_files\"] }) { id } }",
        access: Access::Policy(CREATE_SCAN),
        targets: OWNED,
    },
    Rule {
        field: "startScan",
        note: "",
        document: "mutation($id: ID!) { startScan(id: $id) { id status } }",
        access: Access::Policy(UPDATE_SCAN),
        targets: OWNED,
    },
    Rule {
        field: "pauseScan",
        note: "",
        document: "mutation($id: ID!) { pauseScan(id: $id) { id status } }",
        access: Access::Policy(UPDATE_SCAN),
        targets: OWNED,
    },
    Rule {
        field: "resumeScan",
        note: "",
        document: "mutation($id: ID!) { resumeScan(id: $id) { id status } }",
        access: Access::Policy(UPDATE_SCAN),
        targets: OWNED,
    },
    Rule {
        field: "stopScan",
        note: "",
        document: "mutation($id: ID!) { stopScan(id: $id) { id status } }",
        access: Access::Policy(UPDATE_SCAN),
        targets: OWNED,
    },
    Rule {
        field: "markFalsePositive",
        note: "",
        document: "mutation($id: ID!) { markFalsePositive(findingId: $id, value: true) { id falsePositive } }",
        access: Access::Policy(MARK_FALSE_POSITIVE),
        targets: OWNED,
    },
    Rule {
        field: "registerOrganization",
        note: "",
        document: "mutation($org: String!, $email: String!, $password: String!) {
          registerOrganization(input: { organizationName: $org, email: $email, password: $password, displayName: \"R\" }) { accessToken }
        }",
        access: Access::Public,
        targets: NO_ID,
    },
    Rule {
        field: "login",
        note: "",
        document: "mutation($email: String!, $password: String!) {
          login(input: { email: $email, password: $password }) { accessToken mfaRequired }
        }",
        access: Access::Public,
        targets: NO_ID,
    },
    Rule {
        field: "refreshToken",
        note: "",
        document: "mutation($token: String!) { refreshToken(refreshToken: $token) { accessToken refreshToken } }",
        access: Access::Public,
        targets: NO_ID,
    },
    Rule {
        field: "logout",
        note: "",
        document: "mutation { logout }",
        access: Access::Session,
        targets: NO_ID,
    },
    Rule {
        field: "createUser",
        note: "",
        document: "mutation($email: String!) {
          createUser(input: { email: $email, password: \"correct horse battery staple\", displayName: \"New\", role: USER }) { id }
        }",
        access: Access::Policy(MANAGE_USERS_ORG),
        targets: NO_ID,
    },
    Rule {
        field: "changeUserRole",
        note: "",
        document: "mutation($id: ID!) { changeUserRole(userId: $id, role: READ_ONLY) { id role } }",
        access: Access::Policy(MANAGE_USERS),
        targets: IN_ORG,
    },
    Rule {
        field: "disableUser",
        note: "",
        document: "mutation($id: ID!) { disableUser(userId: $id) { id disabled } }",
        access: Access::Policy(MANAGE_USERS),
        targets: IN_ORG,
    },
    Rule {
        field: "createTeam",
        note: "",
        document: "mutation($name: String!) { createTeam(input: { name: $name }) { id } }",
        access: Access::Policy(MANAGE_TEAMS_ORG),
        targets: NO_ID,
    },
    Rule {
        field: "addTeamMember",
        note: "",
        document: "mutation($id: ID!, $user: ID!) { addTeamMember(teamId: $id, userId: $user) { id members { id } } }",
        access: Access::Policy(MANAGE_TEAMS),
        targets: OWNED,
    },
    Rule {
        field: "createProject",
        note: "",
        document: "mutation($id: ID!, $name: String!) { createProject(input: { name: $name, teamId: $id }) { id team { id } } }",
        access: Access::Policy(CREATE_PROJECT),
        targets: OWNED,
    },
    Rule {
        field: "createApiKey",
        note: "",
        document: "mutation($name: String!) { createApiKey(input: { name: $name, role: READ_ONLY }) { id key } }",
        access: Access::Policy(MANAGE_API_KEYS_OWN),
        targets: NO_ID,
    },
    Rule {
        field: "revokeApiKey",
        note: "",
        document: "mutation($id: ID!) { revokeApiKey(id: $id) }",
        access: Access::Policy(MANAGE_API_KEYS),
        targets: OWNED,
    },
    Rule {
        field: "enrollTotp",
        note: "",
        document: "mutation { enrollTotp { secret } }",
        access: Access::Policy(ENROLL_MFA),
        targets: NO_ID,
    },
    Rule {
        field: "confirmTotp",
        note: "",
        document: "mutation { confirmTotp(code: \"000000\") }",
        access: Access::Policy(ENROLL_MFA),
        targets: NO_ID,
    },
    Rule {
        field: "oidcBegin",
        note: "login",
        document: "mutation { oidcBegin(provider: \"nowhere\") { authorizationUrl } }",
        access: Access::Public,
        targets: NO_ID,
    },
    Rule {
        field: "oidcBegin",
        note: "link",
        document: "mutation { oidcBegin(provider: \"nowhere\", link: true) { authorizationUrl } }",
        access: Access::Session,
        targets: NO_ID,
    },
    Rule {
        field: "oidcComplete",
        note: "",
        document: "mutation { oidcComplete(state: \"bogus\", code: \"bogus\") { accessToken linked } }",
        access: Access::AsAnonymous,
        targets: NO_ID,
    },
    Rule {
        field: "oidcVerifyTotp",
        note: "",
        document: "mutation { oidcVerifyTotp(mfaToken: \"bogus\", totp: \"000000\") { accessToken } }",
        access: Access::AsAnonymous,
        targets: NO_ID,
    },
    // Subscriptions
    Rule {
        field: "securityEvents",
        note: "",
        document: "subscription { securityEvents { eventType streamId } }",
        access: Access::Policy(READ_AUDIT),
        targets: NO_ID,
    },
    Rule {
        field: "scanEvents",
        note: "",
        document: "subscription($id: ID!) { scanEvents(scanId: $id) { __typename } }",
        access: Access::Policy(READ_FINDINGS),
        targets: OWNED,
    },
];

/// The document of a field's rule.
fn document(field: &str) -> &'static str {
    RULES
        .iter()
        .find(|rule| rule.field == field)
        .map(|rule| rule.document)
        .unwrap_or_else(|| panic!("no rule for {field}"))
}

fn schema_text() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas/mirage.graphql");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every root field of the committed schema, as (operation type, field).
fn schema_fields(schema: &Schema) -> Vec<(OperationType, String)> {
    let mut fields = Vec::new();
    for operation in [
        OperationType::Query,
        OperationType::Mutation,
        OperationType::Subscription,
    ] {
        let Some(root) = schema.root_operation(operation) else {
            continue;
        };
        let object = schema.get_object(root).expect("root type is an object");
        for name in object.fields.keys() {
            if !name.as_str().starts_with("__") {
                fields.push((operation, name.to_string()));
            }
        }
    }
    fields
}

/// Runs before anything else: each field has exactly one rule, each rule a field, and each
/// rule's document is valid against the schema and selects its field.
#[test]
fn every_schema_field_has_a_rule_in_the_matrix() {
    let schema = Schema::parse_and_validate(schema_text(), "mirage.graphql")
        .expect("the committed schema is valid");
    let fields = schema_fields(&schema);
    assert!(fields.len() >= 18, "{fields:?}");
    let mut problems = Vec::new();
    for (_, field) in &fields {
        let rules: Vec<&Rule> = RULES.iter().filter(|rule| rule.field == field).collect();
        if rules.is_empty() {
            problems.push(format!("field {field} has no rule in the matrix"));
        }
        let notes: BTreeSet<&str> = rules.iter().map(|rule| rule.note).collect();
        if notes.len() != rules.len() {
            problems.push(format!("the rules of {field} need distinct notes"));
        }
    }
    for rule in RULES {
        let Some((operation, _)) = fields.iter().find(|(_, field)| field == rule.field) else {
            problems.push(format!(
                "rule {} names no field of the schema (remove it)",
                rule.field
            ));
            continue;
        };
        match ExecutableDocument::parse_and_validate(&schema, rule.document, "case.graphql") {
            Err(errors) => problems.push(format!("document of {}: {errors}", rule.field)),
            Ok(document) => {
                let op = document.operations.get(None).expect("one operation");
                let first = op.selection_set.selections.first();
                let selects =
                    matches!(first, Some(Selection::Field(f)) if f.name.as_str() == rule.field);
                if op.operation_type != *operation || !selects {
                    problems.push(format!(
                        "document of {} does not select it at its root",
                        rule.field
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// Fixtures: organization A with a caller of each kind, teams Red (every caller's) and Blue
// (nobody's), and organization B with its own team, project, user and key.

struct Caller {
    credential: String,
    user_id: String,
    email: String,
}

struct Fixtures<'a> {
    app: &'a TestApp,
    org_a: String,
    admin: String,
    callers: BTreeMap<Who, Caller>,
    red: String,
    blue: String,
    project_red: String,
    project_blue: String,
    victim: String,
    bystander: String,
    analyst_key: String,
    user_key: String,
    admin_b: String,
    team_b: String,
    user_b: String,
    key_b: String,
    project_b: String,
    /// Finished scans with findings: in Red's project, Blue's and organization B's.
    scan_red: String,
    scan_blue: String,
    scan_b: String,
    finding_red: String,
    finding_blue: String,
    finding_b: String,
    refresh: std::sync::Mutex<String>,
    counter: AtomicUsize,
}

async fn call(app: &TestApp, credential: &str, query: &str, variables: Value) -> Value {
    app.graphql_as(credential, query, variables).await
}

fn text(body: &Value, pointer: &str) -> String {
    body.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no {pointer} in {body}"))
        .to_owned()
}

/// Registers an organization: (access token, user id, organization id, refresh token).
async fn register(app: &TestApp, org: &str, email: &str) -> (String, String, String, String) {
    let body = call(
        app,
        "",
        "mutation($org: String!, $email: String!, $password: String!) {
          registerOrganization(input: { organizationName: $org, email: $email, password: $password, displayName: \"R\" }) {
            accessToken refreshToken user { id organization { id } }
          }
        }",
        json!({ "org": org, "email": email, "password": PASSWORD }),
    )
    .await;
    (
        text(&body, "/data/registerOrganization/accessToken"),
        text(&body, "/data/registerOrganization/user/id"),
        text(&body, "/data/registerOrganization/user/organization/id"),
        text(&body, "/data/registerOrganization/refreshToken"),
    )
}

async fn sign_in(app: &TestApp, email: &str) -> String {
    let body = call(
        app,
        "",
        document("login"),
        json!({ "email": email, "password": PASSWORD }),
    )
    .await;
    text(&body, "/data/login/accessToken")
}

async fn new_user(app: &TestApp, admin: &str, email: &str, role: &str) -> String {
    let body = call(
        app,
        admin,
        "mutation($email: String!, $role: Role!) { createUser(input: { email: $email, password: \"correct horse battery staple\", displayName: \"F\", role: $role }) { id } }",
        json!({ "email": email, "role": role }),
    )
    .await;
    text(&body, "/data/createUser/id")
}

async fn new_key(app: &TestApp, owner: &str, role: &str) -> (String, String) {
    let body = call(
        app,
        owner,
        "mutation($role: Role!) { createApiKey(input: { name: \"fixture\", role: $role }) { id key } }",
        json!({ "role": role }),
    )
    .await;
    (
        text(&body, "/data/createApiKey/id"),
        text(&body, "/data/createApiKey/key"),
    )
}

async fn new_team(app: &TestApp, admin: &str, name: &str, members: &[&str]) -> String {
    let body = call(app, admin, document("createTeam"), json!({ "name": name })).await;
    let team = text(&body, "/data/createTeam/id");
    for member in members {
        let added = call(
            app,
            admin,
            document("addTeamMember"),
            json!({ "id": team, "user": member }),
        )
        .await;
        assert!(added["errors"].is_null(), "{added}");
    }
    team
}

/// A scan that ran to the end (its seeds only: nothing it does leaves the machine), and the id
/// of one of its findings.
async fn finished_scan(app: &TestApp, admin: &str, project: &str) -> (String, String) {
    let body = call(app, admin, document("createScan"), json!({ "id": project })).await;
    let scan = text(&body, "/data/createScan/id");
    call(app, admin, document("startScan"), json!({ "id": scan })).await;
    tests::scan_client::wait_for(app, admin, &scan, "FINISHED").await;
    let findings = call(app, admin, document("findings"), json!({ "id": scan })).await;
    let finding = text(&findings, "/data/findings/nodes/0/id");
    (scan, finding)
}

async fn new_project(app: &TestApp, admin: &str, team: &str, name: &str) -> String {
    let body = call(
        app,
        admin,
        document("createProject"),
        json!({ "id": team, "name": name }),
    )
    .await;
    text(&body, "/data/createProject/id")
}

impl<'a> Fixtures<'a> {
    async fn build(app: &'a TestApp) -> Fixtures<'a> {
        let (admin, admin_id, org_a, _) = register(app, "Acme", "admin@acme.test").await;
        let (admin_b, user_b, _, _) = register(app, "Beta", "admin@beta.test").await;
        let (analyst_id, user_id, read_only_id, victim, bystander) = tokio::join!(
            new_user(app, &admin, "analyst@acme.test", "ANALYST"),
            new_user(app, &admin, "user@acme.test", "USER"),
            new_user(app, &admin, "readonly@acme.test", "READ_ONLY"),
            new_user(app, &admin, "victim@acme.test", "USER"),
            new_user(app, &admin, "bystander@acme.test", "USER"),
        );
        let (analyst, user, read_only, refresh) = tokio::join!(
            sign_in(app, "analyst@acme.test"),
            sign_in(app, "user@acme.test"),
            sign_in(app, "readonly@acme.test"),
            // A session of its own for the refreshToken cases, which rotate it.
            async {
                let body = call(
                    app,
                    "",
                    "mutation { login(input: { email: \"bystander@acme.test\", password: \"correct horse battery staple\" }) { refreshToken } }",
                    json!({}),
                )
                .await;
                text(&body, "/data/login/refreshToken")
            },
        );
        let (_, key) = new_key(app, &admin, "ADMIN").await;
        let (analyst_key, _) = new_key(app, &analyst, "READ_ONLY").await;
        let (user_key, _) = new_key(app, &user, "READ_ONLY").await;
        let (key_b, _) = new_key(app, &admin_b, "READ_ONLY").await;
        let red = new_team(
            app,
            &admin,
            "Red",
            &[&admin_id, &analyst_id, &user_id, &read_only_id],
        )
        .await;
        let blue = new_team(app, &admin, "Blue", &[]).await;
        let team_b = new_team(app, &admin_b, "Beta team", &[&user_b]).await;
        let project_red = new_project(app, &admin, &red, "Red project").await;
        let project_blue = new_project(app, &admin, &blue, "Blue project").await;
        let project_b = new_project(app, &admin_b, &team_b, "Beta project").await;
        let (scan_red, finding_red) = finished_scan(app, &admin, &project_red).await;
        let (scan_blue, finding_blue) = finished_scan(app, &admin, &project_blue).await;
        let (scan_b, finding_b) = finished_scan(app, &admin_b, &project_b).await;
        let caller = |credential: &str, user_id: &str, email: &str| Caller {
            credential: credential.to_owned(),
            user_id: user_id.to_owned(),
            email: email.to_owned(),
        };
        let callers = BTreeMap::from([
            (Who::Admin, caller(&admin, &admin_id, "admin@acme.test")),
            (
                Who::Analyst,
                caller(&analyst, &analyst_id, "analyst@acme.test"),
            ),
            (Who::User, caller(&user, &user_id, "user@acme.test")),
            (
                Who::ReadOnly,
                caller(&read_only, &read_only_id, "readonly@acme.test"),
            ),
            (Who::ApiKey, caller(&key, &admin_id, "admin@acme.test")),
            (Who::Anonymous, caller("", "", "")),
        ]);
        Fixtures {
            app,
            org_a,
            admin,
            callers,
            red,
            blue,
            project_red,
            project_blue,
            victim,
            bystander,
            analyst_key,
            user_key,
            admin_b,
            team_b,
            user_b,
            key_b,
            project_b,
            scan_red,
            scan_blue,
            scan_b,
            finding_red,
            finding_blue,
            finding_b,
            refresh: std::sync::Mutex::new(refresh),
            counter: AtomicUsize::new(0),
        }
    }

    fn caller(&self, who: Who) -> &Caller {
        &self.callers[&who]
    }

    fn unique(&self, prefix: &str) -> String {
        format!("{prefix}{}", self.counter.fetch_add(1, Ordering::Relaxed))
    }

    /// The team a target names: Red is every caller's, Blue nobody's.
    fn team(&self, target: Target) -> String {
        match target {
            Target::Own => self.red.clone(),
            Target::Org => self.blue.clone(),
            Target::OtherOrg => self.team_b.clone(),
            Target::Missing | Target::None => uuid::Uuid::now_v7().to_string(),
        }
    }

    /// The project a target names.
    fn project(&self, target: Target) -> String {
        match target {
            Target::Own => self.project_red.clone(),
            Target::Org => self.project_blue.clone(),
            Target::OtherOrg => self.project_b.clone(),
            Target::Missing | Target::None => uuid::Uuid::now_v7().to_string(),
        }
    }

    /// The scan a target names.
    fn scan(&self, target: Target) -> String {
        match target {
            Target::Own => self.scan_red.clone(),
            Target::Org => self.scan_blue.clone(),
            Target::OtherOrg => self.scan_b.clone(),
            Target::Missing | Target::None => uuid::Uuid::now_v7().to_string(),
        }
    }

    /// The variables of one case. Where the case is expected to change something, it gets
    /// fresh fixtures so that later cases find the world as it was.
    async fn variables(&self, field: &str, who: Who, target: Target, allowed: bool) -> Value {
        let app = self.app;
        let missing = uuid::Uuid::now_v7().to_string();
        match field {
            "serverInfo" | "me" | "projects" | "logout" | "enrollTotp" | "confirmTotp"
            | "securityEvents" | "oidcBegin" | "oidcComplete" | "oidcVerifyTotp" | "modules"
            | "scans" => json!({}),
            "scan" | "findings" | "scanEvents" => json!({ "id": self.scan(target) }),
            "createScan" => json!({ "id": self.project(target) }),
            // An allowed move gets a scan of its own, so shared fixtures stay as they are.
            "startScan" | "pauseScan" | "resumeScan" | "stopScan" => {
                let id = match target {
                    Target::Own | Target::Org if allowed => {
                        let body = call(
                            app,
                            &self.admin,
                            document("createScan"),
                            json!({ "id": self.project(target) }),
                        )
                        .await;
                        text(&body, "/data/createScan/id")
                    }
                    other => self.scan(other),
                };
                json!({ "id": id })
            }
            "markFalsePositive" => {
                let id = match target {
                    Target::Own => self.finding_red.clone(),
                    Target::Org => self.finding_blue.clone(),
                    Target::OtherOrg => self.finding_b.clone(),
                    _ => missing,
                };
                json!({ "id": id })
            }
            "registerOrganization" => {
                let name = self.unique("org");
                json!({ "org": name, "email": format!("{name}@new.test"), "password": PASSWORD })
            }
            "login" => json!({ "email": "victim@acme.test", "password": PASSWORD }),
            "refreshToken" => json!({ "token": *self.refresh.lock().unwrap() }),
            "createUser" => json!({ "email": format!("{}@acme.test", self.unique("created")) }),
            "changeUserRole" | "disableUser" => {
                let id = match target {
                    Target::Org if allowed => {
                        let email = format!("{}@acme.test", self.unique("target"));
                        new_user(app, &self.admin, &email, "ANALYST").await
                    }
                    Target::Org => self.victim.clone(),
                    Target::OtherOrg => self.user_b.clone(),
                    _ => missing,
                };
                json!({ "id": id })
            }
            "createTeam" => json!({ "name": self.unique("team") }),
            "addTeamMember" => {
                let user = match target {
                    Target::OtherOrg => self.user_b.clone(),
                    // Each allowed case adds a different (user, team) pair.
                    _ if who == Who::ApiKey => self.bystander.clone(),
                    _ => self.victim.clone(),
                };
                json!({ "id": self.team(target), "user": user })
            }
            "createProject" => json!({ "id": self.team(target), "name": self.unique("project") }),
            "createApiKey" => json!({ "name": self.unique("key") }),
            "revokeApiKey" => {
                let id = match target {
                    Target::Own => {
                        let owner = match who {
                            Who::ApiKey | Who::Anonymous => self.admin.as_str(),
                            other => self.caller(other).credential.as_str(),
                        };
                        new_key(app, owner, "READ_ONLY").await.0
                    }
                    Target::Org if allowed => {
                        new_key(app, &self.caller(Who::Analyst).credential, "READ_ONLY")
                            .await
                            .0
                    }
                    Target::Org if who == Who::Analyst => self.user_key.clone(),
                    Target::Org => self.analyst_key.clone(),
                    Target::OtherOrg => self.key_b.clone(),
                    _ => missing,
                };
                json!({ "id": id })
            }
            other => panic!("field {other} has a rule but no variables builder"),
        }
    }

    /// A credential for the case: a fresh session where the case ends it.
    async fn credential(&self, field: &str, who: Who) -> String {
        if field == "logout" && !matches!(who, Who::ApiKey | Who::Anonymous) {
            return sign_in(self.app, &self.caller(who).email).await;
        }
        self.caller(who).credential.clone()
    }
}

// ---------------------------------------------------------------------------------------------
// Running and judging cases

fn errors(body: &Value) -> Vec<Value> {
    body["errors"].as_array().cloned().unwrap_or_default()
}

/// What an answer says about authorization; `Err` for answers no case may get.
fn outcome(field: &str, body: &Value) -> Result<Outcome, String> {
    let errors = errors(body);
    let codes: Vec<&str> = errors
        .iter()
        .map(|e| e["extensions"]["code"].as_str().unwrap_or("(none)"))
        .collect();
    if codes.contains(&"INTERNAL") || codes.contains(&"(none)") {
        return Err(format!("bad error: {body}"));
    }
    for (code, outcome) in [
        ("UNAUTHENTICATED", Outcome::Unauthenticated),
        ("FORBIDDEN", Outcome::Forbidden),
        ("NOT_FOUND", Outcome::NotFound),
    ] {
        if codes.contains(&code) {
            if errors.len() != 1 || !body["data"].is_null() {
                return Err(format!(
                    "a refusal with more than one error or data: {body}"
                ));
            }
            return Ok(outcome);
        }
    }
    if errors.is_empty() && body["data"][field].is_null() {
        return Err(format!("no error and no data: {body}"));
    }
    // No error, or a domain error (BAD_USER_INPUT, CONFLICT, RATE_LIMITED): the policy let it through.
    Ok(Outcome::Allowed)
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn ws_send(socket: &mut Socket, message: Value) {
    socket
        .send(Message::Text(message.to_string().into()))
        .await
        .expect("websocket send");
}

/// The next JSON message within `wait`, `Err(code)` when the server closes instead, and
/// `Ok(None)` when nothing came.
async fn ws_next(socket: &mut Socket, wait: Duration) -> Result<Option<Value>, Option<u16>> {
    loop {
        let Ok(message) = tokio::time::timeout(wait, socket.next()).await else {
            return Ok(None);
        };
        match message {
            Some(Ok(Message::Text(text))) => {
                return Ok(Some(serde_json::from_str(&text).expect("json message")));
            }
            Some(Ok(Message::Close(frame))) => return Err(frame.map(|f| u16::from(f.code))),
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => return Err(None),
        }
    }
}

/// Runs a subscription case over the WebSocket and answers as a POST would: the first
/// `next` payload (after making the organization record a security event), or
/// UNAUTHENTICATED when the connection is refused.
async fn subscribe(fx: &Fixtures<'_>, who: Who, query: &str, variables: &Value) -> Value {
    let unauthenticated = || json!({ "data": null, "errors": [{ "message": "connection refused", "extensions": { "code": "UNAUTHENTICATED" } }] });
    let mut request = format!("ws://{}/graphql/ws", fx.app.addr)
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("websocket");
    let credential = &fx.caller(who).credential;
    let payload = match who {
        Who::Anonymous => json!({}),
        Who::ApiKey => json!({ "apiKey": credential }),
        _ => json!({ "authorization": format!("Bearer {credential}") }),
    };
    ws_send(
        &mut socket,
        json!({ "type": "connection_init", "payload": payload }),
    )
    .await;
    match ws_next(&mut socket, Duration::from_secs(15)).await {
        Ok(Some(ack)) if ack["type"] == "connection_ack" => {}
        Err(Some(4401 | 4403)) => return unauthenticated(),
        other => panic!("{who:?}: connection_init answered {other:?}"),
    }
    ws_send(
        &mut socket,
        json!({ "id": "1", "type": "subscribe", "payload": { "query": query, "variables": variables } }),
    )
    .await;
    // A refusal comes at once; an allowed subscription waits for an event, so make some: a
    // refused request in organization A is a security event of A; a new run of a scan (by its
    // organization's administrator) is a scan event.
    for _ in 0..40 {
        if let Some(scan) = variables["id"].as_str() {
            call(
                fx.app,
                &fx.admin,
                document("startScan"),
                json!({ "id": scan }),
            )
            .await;
        } else {
            let refused = call(
                fx.app,
                &fx.caller(Who::ReadOnly).credential,
                document("createTeam"),
                json!({ "name": "never" }),
            )
            .await;
            assert_eq!(refused["errors"][0]["extensions"]["code"], "FORBIDDEN");
        }
        match ws_next(&mut socket, Duration::from_millis(250)).await {
            Ok(None) => continue,
            Ok(Some(message)) if message["type"] == "next" => return message["payload"].clone(),
            Ok(Some(message)) if message["type"] == "error" => {
                return json!({ "data": null, "errors": message["payload"] });
            }
            other => panic!("{who:?}: subscription answered {other:?}"),
        }
    }
    panic!("{who:?}: the subscription neither delivered nor refused anything");
}

struct Case {
    rule: usize,
    field: &'static str,
    note: &'static str,
    who: Who,
    target: Target,
    expected: Outcome,
    body: Value,
}

async fn run_case(fx: &Fixtures<'_>, index: usize, who: Who, target: Target) -> Case {
    let rule = &RULES[index];
    let expected = expected(rule.access, who, target);
    let allowed = expected == Outcome::Allowed;
    let variables = fx.variables(rule.field, who, target, allowed).await;
    let body = if rule.document.trim_start().starts_with("subscription") {
        subscribe(fx, who, rule.document, &variables).await
    } else {
        let credential = fx.credential(rule.field, who).await;
        call(fx.app, &credential, rule.document, variables).await
    };
    if rule.field == "refreshToken"
        && let Some(next) = body["data"]["refreshToken"]["refreshToken"].as_str()
    {
        *fx.refresh.lock().unwrap() = next.to_owned();
    }
    Case {
        rule: index,
        field: rule.field,
        note: rule.note,
        who,
        target,
        expected,
        body,
    }
}

/// Checks what an allowed answer contains, where the policy says what it must be.
fn check_allowed_data(fx: &Fixtures<'_>, case: &Case) -> Result<(), String> {
    let data = &case.body["data"][case.field];
    match case.field {
        "me" => {
            let caller = fx.caller(case.who);
            if data["id"] != caller.user_id.as_str() || data["organization"]["id"] != fx.org_a {
                return Err(format!("me is not the caller: {data}"));
            }
        }
        "projects" => {
            let seen: BTreeSet<&str> = data
                .as_array()
                .map(|rows| rows.iter().filter_map(|row| row["id"].as_str()).collect())
                .unwrap_or_default();
            let mut visible = BTreeSet::from([fx.project_red.as_str()]);
            if READ_PROJECT[case.who.column()] == Org {
                visible.insert(fx.project_blue.as_str());
            }
            if seen != visible || seen.contains(fx.project_b.as_str()) {
                return Err(format!("projects {seen:?}, expected {visible:?}"));
            }
        }
        "scans" => {
            let seen: BTreeSet<&str> = data
                .as_array()
                .map(|rows| rows.iter().filter_map(|row| row["id"].as_str()).collect())
                .unwrap_or_default();
            if !seen.contains(fx.scan_red.as_str()) || seen.contains(fx.scan_b.as_str()) {
                return Err(format!(
                    "scans {seen:?} miss Red's or show organization B's"
                ));
            }
            if seen.contains(fx.scan_blue.as_str()) != (READ_SCAN[case.who.column()] == Org) {
                return Err(format!("scans {seen:?}: Blue's scan visibility is wrong"));
            }
        }
        "securityEvents" => {
            let stream = data["streamId"].as_str().unwrap_or("");
            if !stream.contains(&fx.org_a) {
                return Err(format!("an event of another stream: {data}"));
            }
        }
        _ => {}
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_field_for_every_caller_in_both_organizations() {
    let app = TestApp::spawn(&[("MIRAGE_SIGNUP", "open")]).await;
    let fx = Fixtures::build(&app).await;

    let mut cases = Vec::new();
    for (index, rule) in RULES.iter().enumerate() {
        for who in EVERYONE {
            for &target in rule.targets {
                cases.push(run_case(&fx, index, who, target).await);
            }
        }
    }

    let mut failures = Vec::new();
    let mut by_outcome: BTreeMap<String, usize> = BTreeMap::new();
    for case in &cases {
        let label = format!(
            "{}{} as {:?} on {:?}",
            case.field,
            if case.note.is_empty() {
                String::new()
            } else {
                format!(" ({})", case.note)
            },
            case.who,
            case.target
        );
        *by_outcome
            .entry(format!("{:?}", case.expected))
            .or_default() += 1;
        match outcome(case.field, &case.body) {
            Err(error) => failures.push(format!("{label}: {error}")),
            Ok(actual) if case.expected == Outcome::AsAnonymous => {
                let anonymous = cases
                    .iter()
                    .find(|other| other.rule == case.rule && other.who == Who::Anonymous)
                    .expect("every rule runs anonymously");
                if actual == Outcome::Forbidden || case.body != anonymous.body {
                    failures.push(format!(
                        "{label}: answers {} but without a credential {}",
                        case.body, anonymous.body
                    ));
                }
            }
            Ok(actual) if actual != case.expected => failures.push(format!(
                "{label}: expected {:?}, got {actual:?}: {}",
                case.expected, case.body
            )),
            Ok(Outcome::Allowed) => {
                if let Some(error) = errors(&case.body).first() {
                    eprintln!("{label}: allowed, then {}", error["message"]);
                }
                if let Err(error) = check_allowed_data(&fx, case) {
                    failures.push(format!("{label}: {error}"));
                }
            }
            Ok(_) => {}
        }
        // Another organization's id answers exactly like an id nothing has.
        if case.target == Target::OtherOrg {
            let missing = cases
                .iter()
                .find(|other| {
                    other.rule == case.rule
                        && other.who == case.who
                        && other.target == Target::Missing
                })
                .expect("every rule with OtherOrg has Missing");
            if case.body != missing.body {
                failures.push(format!(
                    "{label}: answers {} but a missing id answers {}",
                    case.body, missing.body
                ));
            }
        }
    }
    // Nothing refused changed anything: the shared victim and organization B are as they were.
    let victim = sign_in(&app, "victim@acme.test").await;
    let me = call(&app, &victim, "{ me { role disabled } }", json!({})).await;
    if me["data"]["me"] != json!({ "role": "USER", "disabled": false }) {
        failures.push(format!("the victim of refused cases changed: {me}"));
    }
    let b = call(
        &app,
        &fx.admin_b,
        "{ me { role } projects { id } }",
        json!({}),
    )
    .await;
    if b["data"] != json!({ "me": { "role": "ADMIN" }, "projects": [{ "id": fx.project_b }] }) {
        failures.push(format!("organization B changed: {b}"));
    }
    eprintln!("{} cases: {by_outcome:?}", cases.len());
    assert!(
        failures.is_empty(),
        "{} of {} cases disagree with the policy:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    app.stop().await;
}

/// `addTeamMember` names a second id: a user of another organization must answer like a
/// missing user, even to an administrator of the team.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_from_another_organization_answers_like_a_missing_user() {
    let app = TestApp::spawn(&[("MIRAGE_SIGNUP", "open")]).await;
    let (admin, _, _, _) = register(&app, "Acme", "admin@acme.test").await;
    let (_, user_b, _, _) = register(&app, "Beta", "admin@beta.test").await;
    let team = new_team(&app, &admin, "Red", &[]).await;
    let add = |user: String| {
        call(
            &app,
            &admin,
            document("addTeamMember"),
            json!({ "id": team, "user": user }),
        )
    };
    let other = add(user_b).await;
    let missing = add(uuid::Uuid::now_v7().to_string()).await;
    assert_eq!(
        other["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{other}"
    );
    assert_eq!(other, missing);
    app.stop().await;
}
