//! The authorization matrix (security.md items 14 and 15), generated from the schema: every
//! field of every object type reachable from the query, mutation and subscription roots of
//! `schemas/mirage.graphql`, nested ones included, and every argument of those fields, for
//! every role (ADMIN, ANALYST, USER, READ_ONLY), an API key and no credential, against a
//! resource of the caller's own organization (their own one and someone else's, where ownership
//! matters) and one of another organization. A field or an argument without a rule here fails
//! the test, naming it.
//!
//! Fields come in two kinds. A field that reads more (a root field, a user's teams, a team's
//! members, a project's team, a scan's findings) or takes arguments has rules of its own: one
//! per argument it takes and per way in that matters. A plain field (a value of an object the
//! server already holds) is listed in [`PLAIN`] and is as visible as its object: the test
//! selects it wherever its object is answered, since each rule's `%` stands for every plain
//! field of the rule's type, generated from the schema.
//!
//! The expectations are written from the policy table (`domain/src/policy/grants.rs`), not
//! from the resolvers: allowed means no error (for queries), or a domain error that is not
//! FORBIDDEN, UNAUTHENTICATED or NOT_FOUND (for mutations); denied means FORBIDDEN; another
//! organization's id means NOT_FOUND with exactly the error object of a random missing id; a
//! cursor the caller may not see answers exactly like a missing one; no credential means
//! UNAUTHENTICATED except for the public fields. Lists are checked row by row against what the
//! policy lets each caller see.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use apollo_compiler::ast::OperationType;
use apollo_compiler::executable::{Selection, SelectionSet};
use apollo_compiler::schema::ExtendedType;
use apollo_compiler::validation::Valid;
use apollo_compiler::{ExecutableDocument, Schema};
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

const READ_TEAMS_OWN: [Grant; 4] = [Own, Own, Own, Own];
const READ_TEAMS: [Grant; 4] = [Org, Org, Own, Own];
const READ_USERS: [Grant; 4] = [Org, Org, No, No];

#[derive(Debug, Clone, Copy)]
enum Access {
    /// Anyone, with or without a credential.
    Public,
    /// Anyone, and with the case's (bogus) input every caller gets exactly the answer an
    /// anonymous caller gets: the credential makes no difference.
    AsAnonymous,
    /// Any signed-in caller; what they see is filtered by the policy row by row.
    SignedIn,
    /// Any signed-in caller; an id argument filters a list, and an id the caller may not see
    /// (another organization's, another team's, nobody's) shows nothing, like a missing one.
    Filtered,
    /// Any signed-in caller; `after` names the last row of the previous page. A row the list
    /// shows the caller (their own team's; in their organization where the grant reaches)
    /// gives the rows after it; any other id answers exactly like a missing one.
    Cursor([Grant; 4]),
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

    /// Whether the caller's role reaches `grants`' whole organization.
    fn organization_wide(self, grants: [Grant; 4]) -> bool {
        grants[self.column()] == Org
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
    /// BAD_USER_INPUT naming `after`, exactly as for a missing id.
    UnknownCursor,
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
    let permission = match access {
        Access::Public | Access::AsAnonymous | Access::SignedIn | Access::Filtered => {
            return Outcome::Allowed;
        }
        Access::Cursor(grants) => {
            return match target {
                Target::None | Target::Own => Outcome::Allowed,
                Target::Org if who.organization_wide(grants) => Outcome::Allowed,
                Target::Org | Target::OtherOrg | Target::Missing => Outcome::UnknownCursor,
            };
        }
        _ if matches!(target, Target::OtherOrg | Target::Missing) => return Outcome::NotFound,
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
// The rules: one per field that reads more, per argument and per way in that matters

struct Rule {
    /// The schema coordinate the rule is about: `Type.field`.
    field: &'static str,
    /// Tells apart several rules of one field (an argument, another way in).
    note: &'static str,
    /// The document. `%` stands for the selection the test generates from the schema: every
    /// plain field of the rule's field's type, recursively.
    document: &'static str,
    access: Access,
    targets: &'static [Target],
}

const fn rule(
    field: &'static str,
    note: &'static str,
    document: &'static str,
    access: Access,
    targets: &'static [Target],
) -> Rule {
    Rule {
        field,
        note,
        document,
        access,
        targets,
    }
}

const RULES: &[Rule] = &[
    // Queries (they run first, while the fixtures are as built).
    rule("QueryRoot.serverInfo", "", "query { serverInfo % }", Access::SignedIn, NO_ID),
    rule("QueryRoot.me", "", "query { me % }", Access::Policy(READ_SELF), NO_ID),
    rule("QueryRoot.projects", "", "query { projects % }", Access::SignedIn, NO_ID),
    rule("QueryRoot.projects", "first", "query { projects(first: 1) % }", Access::SignedIn, NO_ID),
    rule(
        "QueryRoot.projects",
        "after",
        "query($id: ID!) { projects(after: $id) % }",
        Access::Cursor(READ_PROJECT),
        OWNED,
    ),
    rule("QueryRoot.modules", "", "query { modules % }", Access::Policy(READ_MODULES), NO_ID),
    rule("QueryRoot.scans", "", "query { scans % }", Access::SignedIn, NO_ID),
    rule(
        "QueryRoot.scans",
        "projectId",
        "query($id: ID!) { scans(projectId: $id) % }",
        Access::Filtered,
        OWNED,
    ),
    rule("QueryRoot.scans", "first", "query { scans(first: 1) % }", Access::SignedIn, NO_ID),
    rule(
        "QueryRoot.scans",
        "after",
        "query($id: ID!) { scans(after: $id) % }",
        Access::Cursor(READ_SCAN),
        OWNED,
    ),
    rule(
        "QueryRoot.scan",
        "",
        "query($id: ID!) { scan(id: $id) % }",
        Access::Policy(READ_SCAN_OWNED),
        OWNED,
    ),
    rule(
        "QueryRoot.scan",
        "asOf",
        "query($id: ID!, $at: DateTime) { scan(id: $id, asOf: $at) % }",
        Access::Policy(READ_SCAN_OWNED),
        OWNED,
    ),
    rule(
        "QueryRoot.findings",
        "",
        "query($id: ID!) { findings(scanId: $id) % }",
        Access::Policy(READ_FINDINGS),
        OWNED,
    ),
    rule(
        "QueryRoot.findings",
        "first",
        "query($id: ID!) { findings(scanId: $id, first: 1) % }",
        Access::Policy(READ_FINDINGS),
        OWNED,
    ),
    rule(
        "QueryRoot.findings",
        "after",
        "query($id: ID!, $after: String) { findings(scanId: $id, after: $after) % }",
        Access::Policy(READ_FINDINGS),
        OWNED,
    ),
    rule(
        "QueryRoot.findings",
        "type",
        "query($id: ID!) { findings(scanId: $id, type: \"IP_ADDRESS\") % }",
        Access::Policy(READ_FINDINGS),
        OWNED,
    ),
    // Nested fields.
    rule(
        "User.organization",
        "",
        "query { me { organization % } }",
        Access::Policy(READ_SELF),
        NO_ID,
    ),
    rule(
        "User.organization",
        "member",
        "query { me { teams(first: 5) { members(first: 10) { id organization % } } } }",
        Access::SignedIn,
        NO_ID,
    ),
    rule("User.teams", "", "query { me { teams % } }", Access::SignedIn, NO_ID),
    rule("User.teams", "first", "query { me { teams(first: 1) % } }", Access::SignedIn, NO_ID),
    rule(
        "User.teams",
        "after",
        "query($id: ID!) { me { teams(after: $id) % } }",
        Access::Cursor(READ_TEAMS_OWN),
        OWNED,
    ),
    rule(
        "User.teams",
        "of members",
        "query { me { teams(first: 5) { members(first: 10) { id teams(first: 5) % } } } }",
        Access::SignedIn,
        NO_ID,
    ),
    rule(
        "Team.members",
        "",
        "query { me { teams(first: 10) { id members % } } }",
        Access::SignedIn,
        NO_ID,
    ),
    rule(
        "Team.members",
        "first",
        "query { me { teams(first: 10) { id members(first: 2) % } } }",
        Access::SignedIn,
        NO_ID,
    ),
    rule(
        "Team.members",
        "after",
        "query($id: ID!) { me { teams(first: 10) { id members(after: $id) % } } }",
        Access::SignedIn,
        NO_ID,
    ),
    rule(
        "Team.members",
        "another team",
        "query { projects(first: 10) { id team { id members % } } }",
        Access::SignedIn,
        NO_ID,
    ),
    rule("Project.team", "", "query { projects { id team % } }", Access::SignedIn, NO_ID),
    rule(
        "Scan.findings",
        "",
        "query($id: ID!) { scan(id: $id) { id findings % } }",
        Access::Policy(READ_FINDINGS),
        OWNED,
    ),
    rule(
        "Scan.findings",
        "first",
        "query($id: ID!) { scan(id: $id) { id findings(first: 1) % } }",
        Access::Policy(READ_FINDINGS),
        OWNED,
    ),
    rule(
        "Scan.findings",
        "after",
        "query($id: ID!, $after: String) { scan(id: $id) { id findings(after: $after) % } }",
        Access::Policy(READ_FINDINGS),
        OWNED,
    ),
    rule(
        "Scan.findings",
        "type",
        "query($id: ID!) { scan(id: $id) { id findings(type: \"IP_ADDRESS\") % } }",
        Access::Policy(READ_FINDINGS),
        OWNED,
    ),
    rule(
        "Scan.findings",
        "asOf",
        "query($id: ID!, $at: DateTime) { scan(id: $id, asOf: $at) { id findings % } }",
        Access::Policy(READ_FINDINGS),
        OWNED,
    ),
    rule(
        "Scan.findings",
        "scans list",
        "query { scans(first: 5) { id findings(first: 5) % } }",
        Access::SignedIn,
        NO_ID,
    ),
    // Mutations.
    rule(
        "MutationRoot.registerOrganization",
        "",
        "mutation($org: String!, $email: String!, $password: String!) {
          registerOrganization(input: { organizationName: $org, email: $email, password: $password, displayName: \"R\" }) %
        }",
        Access::Public,
        NO_ID,
    ),
    rule(
        "User.organization",
        "registration",
        "mutation($org: String!, $email: String!, $password: String!) {
          registerOrganization(input: { organizationName: $org, email: $email, password: $password, displayName: \"R\" }) {
            user { organization % }
          }
        }",
        Access::Public,
        NO_ID,
    ),
    rule(
        "MutationRoot.login",
        "",
        "mutation($email: String!, $password: String!) { login(input: { email: $email, password: $password }) % }",
        Access::Public,
        NO_ID,
    ),
    rule(
        "User.teams",
        "login",
        "mutation($email: String!, $password: String!) {
          login(input: { email: $email, password: $password }) { user { teams % } }
        }",
        Access::Public,
        NO_ID,
    ),
    rule(
        "MutationRoot.refreshToken",
        "",
        "mutation($token: String!) { refreshToken(refreshToken: $token) % }",
        Access::Public,
        NO_ID,
    ),
    rule("MutationRoot.logout", "", "mutation { logout }", Access::Session, NO_ID),
    rule(
        "MutationRoot.createUser",
        "",
        "mutation($email: String!) {
          createUser(input: { email: $email, password: \"correct horse battery staple\", displayName: \"New\", role: USER }) %
        }",
        Access::Policy(MANAGE_USERS_ORG),
        NO_ID,
    ),
    rule(
        "MutationRoot.changeUserRole",
        "",
        "mutation($id: ID!) { changeUserRole(userId: $id, role: READ_ONLY) % }",
        Access::Policy(MANAGE_USERS),
        IN_ORG,
    ),
    rule(
        "MutationRoot.disableUser",
        "",
        "mutation($id: ID!) { disableUser(userId: $id) % }",
        Access::Policy(MANAGE_USERS),
        IN_ORG,
    ),
    rule(
        "MutationRoot.createTeam",
        "",
        "mutation($name: String!) { createTeam(input: { name: $name }) % }",
        Access::Policy(MANAGE_TEAMS_ORG),
        NO_ID,
    ),
    rule(
        "MutationRoot.addTeamMember",
        "",
        "mutation($id: ID!, $user: ID!) { addTeamMember(teamId: $id, userId: $user) % }",
        Access::Policy(MANAGE_TEAMS),
        OWNED,
    ),
    rule(
        "MutationRoot.createProject",
        "",
        "mutation($id: ID!, $name: String!) { createProject(input: { name: $name, teamId: $id }) % }",
        Access::Policy(CREATE_PROJECT),
        OWNED,
    ),
    rule(
        "MutationRoot.createApiKey",
        "",
        "mutation($name: String!) { createApiKey(input: { name: $name, role: READ_ONLY }) % }",
        Access::Policy(MANAGE_API_KEYS_OWN),
        NO_ID,
    ),
    rule(
        "MutationRoot.revokeApiKey",
        "",
        "mutation($id: ID!) { revokeApiKey(id: $id) }",
        Access::Policy(MANAGE_API_KEYS),
        OWNED,
    ),
    rule(
        "MutationRoot.enrollTotp",
        "",
        "mutation { enrollTotp % }",
        Access::Policy(ENROLL_MFA),
        NO_ID,
    ),
    rule(
        "MutationRoot.confirmTotp",
        "",
        "mutation { confirmTotp(code: \"000000\") }",
        Access::Policy(ENROLL_MFA),
        NO_ID,
    ),
    rule(
        "MutationRoot.oidcBegin",
        "login",
        "mutation { oidcBegin(provider: \"nowhere\") % }",
        Access::Public,
        NO_ID,
    ),
    rule(
        "MutationRoot.oidcBegin",
        "link",
        "mutation { oidcBegin(provider: \"nowhere\", link: true) % }",
        Access::Session,
        NO_ID,
    ),
    rule(
        "MutationRoot.oidcComplete",
        "",
        "mutation { oidcComplete(state: \"bogus\", code: \"bogus\") % }",
        Access::AsAnonymous,
        NO_ID,
    ),
    rule(
        "MutationRoot.oidcComplete",
        "iss",
        "mutation { oidcComplete(state: \"bogus\", code: \"bogus\", iss: \"https://idp.invalid\") % }",
        Access::AsAnonymous,
        NO_ID,
    ),
    rule(
        "MutationRoot.oidcVerifyTotp",
        "",
        "mutation { oidcVerifyTotp(mfaToken: \"bogus\", totp: \"000000\") % }",
        Access::AsAnonymous,
        NO_ID,
    ),
    rule(
        "MutationRoot.createScan",
        "",
        "mutation($id: ID!) { createScan(input: { projectId: $id, name: \"m\", targets: [\"http://192.0.2.10/\"], modules: [\"interesting_files\"] }) % }",
        Access::Policy(CREATE_SCAN),
        OWNED,
    ),
    rule(
        "MutationRoot.startScan",
        "",
        "mutation($id: ID!) { startScan(id: $id) % }",
        Access::Policy(UPDATE_SCAN),
        OWNED,
    ),
    rule(
        "MutationRoot.pauseScan",
        "",
        "mutation($id: ID!) { pauseScan(id: $id) % }",
        Access::Policy(UPDATE_SCAN),
        OWNED,
    ),
    rule(
        "MutationRoot.resumeScan",
        "",
        "mutation($id: ID!) { resumeScan(id: $id) % }",
        Access::Policy(UPDATE_SCAN),
        OWNED,
    ),
    rule(
        "MutationRoot.stopScan",
        "",
        "mutation($id: ID!) { stopScan(id: $id) % }",
        Access::Policy(UPDATE_SCAN),
        OWNED,
    ),
    rule(
        "MutationRoot.markFalsePositive",
        "",
        "mutation($id: ID!) { markFalsePositive(findingId: $id, value: true) % }",
        Access::Policy(MARK_FALSE_POSITIVE),
        OWNED,
    ),
    // Subscriptions.
    rule(
        "SubscriptionRoot.securityEvents",
        "",
        "subscription { securityEvents % }",
        Access::Policy(READ_AUDIT),
        NO_ID,
    ),
    rule(
        "SubscriptionRoot.scanEvents",
        "",
        "subscription($id: ID!) { scanEvents(scanId: $id) % }",
        Access::Policy(READ_FINDINGS),
        OWNED,
    ),
];

/// The plain fields of each object type: values of an object the server already holds, as
/// visible as the object itself. Every other field of a reachable type needs rules.
const PLAIN: &[(&str, &[&str])] = &[
    (
        "ServerInfo",
        &["version", "profile", "storeBackend", "headPosition"],
    ),
    ("User", &["id", "email", "displayName", "role", "disabled"]),
    ("Organization", &["id", "name"]),
    ("Team", &["id", "name"]),
    ("Project", &["id", "name"]),
    (
        "Module",
        &[
            "id",
            "name",
            "description",
            "version",
            "consumes",
            "produces",
            "passive",
            "options",
            "ratePerSecond",
            "perHostPerSecond",
            "requiredKeys",
        ],
    ),
    ("ModuleOption", &["name", "kind", "default", "description"]),
    (
        "Scan",
        &[
            "id",
            "name",
            "status",
            "targets",
            "modules",
            "schedule",
            "projectId",
            "run",
            "createdAt",
            "startedAt",
            "finishedAt",
            "progress",
            "findingCount",
            "changes",
        ],
    ),
    ("ScanProgress", &["completed", "total"]),
    ("RunChanges", &["newCount", "goneCount", "new", "gone"]),
    ("TypedValue", &["type", "value"]),
    ("FindingConnection", &["totalCount", "pageInfo", "nodes"]),
    ("PageInfo", &["hasNextPage", "endCursor"]),
    (
        "Finding",
        &[
            "id",
            "type",
            "value",
            "confidence",
            "module",
            "parentId",
            "firstSeenAt",
            "falsePositive",
            "scopeDistance",
            "evidenceHash",
            "run",
            "scanId",
        ],
    ),
    (
        "AuthPayload",
        &["accessToken", "refreshToken", "expiresIn", "user"],
    ),
    (
        "LoginPayload",
        &[
            "accessToken",
            "refreshToken",
            "expiresIn",
            "mfaRequired",
            "user",
        ],
    ),
    ("TokenPair", &["accessToken", "refreshToken", "expiresIn"]),
    ("CreatedApiKey", &["id", "key", "prefix"]),
    ("TotpEnrollment", &["secret", "otpauthUrl"]),
    ("OidcBeginPayload", &["authorizationUrl"]),
    (
        "OidcCompletePayload",
        &[
            "accessToken",
            "refreshToken",
            "expiresIn",
            "linked",
            "mfaRequired",
            "mfaToken",
        ],
    ),
    (
        "AuditEntry",
        &["position", "occurredAt", "actor", "eventType", "streamId"],
    ),
    ("FindingAdded", &["finding"]),
    ("ScanStatusChanged", &["status"]),
];

// ---------------------------------------------------------------------------------------------
// The schema: what is reachable, what the rules select, the generated selections

fn schema_text() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas/mirage.graphql");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

static SCHEMA: LazyLock<Valid<Schema>> = LazyLock::new(|| {
    Schema::parse_and_validate(schema_text(), "mirage.graphql")
        .expect("the committed schema is valid")
});

fn is_plain(type_name: &str, field: &str) -> bool {
    PLAIN
        .iter()
        .any(|(plain_type, fields)| *plain_type == type_name && fields.contains(&field))
}

/// The selection of every plain field of `type_name`, recursively (`__typename` for a type
/// without any).
fn selection(schema: &Schema, type_name: &str, depth: usize) -> String {
    assert!(depth < 8, "plain fields nest too deeply at {type_name}");
    match schema.types.get(type_name) {
        Some(ExtendedType::Object(object)) => {
            let mut fields = Vec::new();
            for (name, field) in &object.fields {
                if !is_plain(type_name, name.as_str()) {
                    continue;
                }
                let inner = field.ty.inner_named_type().as_str();
                match schema.types.get(inner) {
                    Some(ExtendedType::Object(_) | ExtendedType::Union(_)) => {
                        fields.push(format!("{name} {}", selection(schema, inner, depth + 1)));
                    }
                    _ => fields.push(name.to_string()),
                }
            }
            if fields.is_empty() {
                fields.push("__typename".to_owned());
            }
            format!("{{ {} }}", fields.join(" "))
        }
        Some(ExtendedType::Union(union)) => {
            let members: Vec<String> = union
                .members
                .iter()
                .map(|member| {
                    format!(
                        "... on {member} {}",
                        selection(schema, member.as_str(), depth + 1)
                    )
                })
                .collect();
            format!("{{ __typename {} }}", members.join(" "))
        }
        _ => String::new(),
    }
}

/// The output type of a coordinate `Type.field`.
fn field_type(schema: &Schema, coordinate: &str) -> Option<String> {
    let (type_name, field) = coordinate.split_once('.')?;
    let object = schema.get_object(type_name)?;
    let definition = object.fields.get(field)?;
    Some(definition.ty.inner_named_type().to_string())
}

/// A rule's document with its `%` replaced by the generated selection.
fn expand(schema: &Schema, rule: &Rule) -> String {
    if !rule.document.contains('%') {
        return rule.document.to_owned();
    }
    let output = field_type(schema, rule.field)
        .unwrap_or_else(|| panic!("rule {} names no field of the schema", rule.field));
    rule.document.replace('%', &selection(schema, &output, 0))
}

/// Every rule's document, expanded, in the order of [`RULES`].
static DOCUMENTS: LazyLock<Vec<String>> =
    LazyLock::new(|| RULES.iter().map(|rule| expand(&SCHEMA, rule)).collect());

/// The document of a field's first rule.
fn document(field: &str) -> &'static str {
    RULES
        .iter()
        .position(|rule| rule.field == field)
        .map(|index| DOCUMENTS[index].as_str())
        .unwrap_or_else(|| panic!("no rule for {field}"))
}

/// Every object type reachable from the roots, with its fields: (type, field, arguments).
fn reachable_fields(schema: &Schema) -> Vec<(String, String, Vec<String>)> {
    let mut pending: Vec<String> = [
        OperationType::Query,
        OperationType::Mutation,
        OperationType::Subscription,
    ]
    .into_iter()
    .filter_map(|operation| {
        schema
            .root_operation(operation)
            .map(|name| name.to_string())
    })
    .collect();
    let mut seen = BTreeSet::new();
    let mut fields = Vec::new();
    while let Some(type_name) = pending.pop() {
        if !seen.insert(type_name.clone()) {
            continue;
        }
        match schema.types.get(type_name.as_str()) {
            Some(ExtendedType::Object(object)) => {
                for (name, field) in &object.fields {
                    if name.as_str().starts_with("__") {
                        continue;
                    }
                    let arguments = field
                        .arguments
                        .iter()
                        .map(|argument| argument.name.to_string())
                        .collect();
                    fields.push((type_name.clone(), name.to_string(), arguments));
                    pending.push(field.ty.inner_named_type().to_string());
                }
            }
            Some(ExtendedType::Union(union)) => {
                pending.extend(union.members.iter().map(|member| member.to_string()));
            }
            _ => {}
        }
    }
    fields
}

/// What a document selects: each coordinate `Type.field` with the arguments passed to it.
fn selected(
    document: &ExecutableDocument,
    set: &SelectionSet,
    into: &mut BTreeMap<String, BTreeSet<String>>,
) {
    for selection in &set.selections {
        match selection {
            Selection::Field(field) => {
                let arguments = into
                    .entry(format!("{}.{}", set.ty, field.name))
                    .or_default();
                arguments.extend(field.arguments.iter().map(|a| a.name.to_string()));
                selected(document, &field.selection_set, into);
            }
            Selection::InlineFragment(fragment) => {
                selected(document, &fragment.selection_set, into);
            }
            Selection::FragmentSpread(spread) => {
                if let Some(fragment) = document.fragments.get(&spread.fragment_name) {
                    selected(document, &fragment.selection_set, into);
                }
            }
        }
    }
}

/// Runs before anything else: every reachable field is plain or has rules, every argument of
/// a field with rules is passed by one of them, every field is selected by some rule's
/// document, and every rule's document is valid and selects its field.
#[test]
fn every_schema_field_and_argument_has_a_rule_in_the_matrix() {
    let schema = &*SCHEMA;
    let fields = reachable_fields(schema);
    assert!(fields.len() >= 100, "{} fields", fields.len());
    let mut problems = Vec::new();
    let mut everything_selected: BTreeSet<String> = BTreeSet::new();
    let mut arguments_by_rule: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for (rule, document) in RULES.iter().zip(DOCUMENTS.iter()) {
        match ExecutableDocument::parse_and_validate(schema, document.as_str(), "case.graphql") {
            Err(errors) => problems.push(format!(
                "document of {} ({}): {errors}",
                rule.field, rule.note
            )),
            Ok(parsed) => {
                let mut selections = BTreeMap::new();
                let operation = parsed.operations.get(None).expect("one operation");
                selected(&parsed, &operation.selection_set, &mut selections);
                match selections.get(rule.field) {
                    None => problems.push(format!(
                        "the document of {} ({}) does not select it",
                        rule.field, rule.note
                    )),
                    Some(arguments) => arguments_by_rule
                        .entry(rule.field)
                        .or_default()
                        .extend(arguments.iter().cloned()),
                }
                everything_selected.extend(selections.into_keys());
            }
        }
    }
    for (type_name, field, arguments) in &fields {
        let coordinate = format!("{type_name}.{field}");
        let rules: Vec<&Rule> = RULES.iter().filter(|r| r.field == coordinate).collect();
        let plain = is_plain(type_name, field);
        match (rules.is_empty(), plain) {
            (true, false) => problems.push(format!("field {coordinate} has no rule in the matrix")),
            (false, true) => problems.push(format!(
                "field {coordinate} has rules and is listed as plain: pick one"
            )),
            _ => {}
        }
        if plain && !arguments.is_empty() {
            problems.push(format!(
                "field {coordinate} takes arguments ({arguments:?}): it needs rules, not PLAIN"
            ));
        }
        let notes: BTreeSet<&str> = rules.iter().map(|rule| rule.note).collect();
        if notes.len() != rules.len() {
            problems.push(format!("the rules of {coordinate} need distinct notes"));
        }
        for argument in arguments {
            let passed = arguments_by_rule
                .get(coordinate.as_str())
                .is_some_and(|passed| passed.contains(argument));
            if !plain && !passed {
                problems.push(format!(
                    "argument {coordinate}({argument}) has no rule in the matrix"
                ));
            }
        }
        if !everything_selected.contains(&coordinate) {
            problems.push(format!(
                "field {coordinate} is selected by no rule's document"
            ));
        }
    }
    let known: BTreeSet<String> = fields.iter().map(|(t, f, _)| format!("{t}.{f}")).collect();
    for rule in RULES {
        if !known.contains(rule.field) {
            problems.push(format!(
                "rule {} names no reachable field (remove it)",
                rule.field
            ));
        }
    }
    for (type_name, plain_fields) in PLAIN {
        for field in *plain_fields {
            if !known.contains(&format!("{type_name}.{field}")) {
                problems.push(format!(
                    "PLAIN lists {type_name}.{field}, which is no reachable field (remove it)"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// Fixtures: organization A with a caller of each kind, teams Red (every caller's, and the
// victim's) and Blue (only the victim's), and organization B with its own team, project, user
// and key.

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
    /// A USER in Red and Blue whom refused cases target.
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
    /// A findings cursor the API issued (the end of a page of one).
    findings_cursor: String,
    /// A moment after every fixture scan finished.
    as_of: String,
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
        document("MutationRoot.login"),
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
    let body = call(
        app,
        admin,
        document("MutationRoot.createTeam"),
        json!({ "name": name }),
    )
    .await;
    let team = text(&body, "/data/createTeam/id");
    for member in members {
        let added = call(
            app,
            admin,
            document("MutationRoot.addTeamMember"),
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
    let body = call(
        app,
        admin,
        document("MutationRoot.createScan"),
        json!({ "id": project }),
    )
    .await;
    let scan = text(&body, "/data/createScan/id");
    call(
        app,
        admin,
        document("MutationRoot.startScan"),
        json!({ "id": scan }),
    )
    .await;
    tests::scan_client::wait_for(app, admin, &scan, "FINISHED").await;
    let findings = call(
        app,
        admin,
        "query($id: ID!) { findings(scanId: $id, first: 1) { nodes { id } } }",
        json!({ "id": scan }),
    )
    .await;
    let finding = text(&findings, "/data/findings/nodes/0/id");
    (scan, finding)
}

async fn new_project(app: &TestApp, admin: &str, team: &str, name: &str) -> String {
    let body = call(
        app,
        admin,
        document("MutationRoot.createProject"),
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
            &[&admin_id, &analyst_id, &user_id, &read_only_id, &victim],
        )
        .await;
        let blue = new_team(app, &admin, "Blue", &[&victim]).await;
        let team_b = new_team(app, &admin_b, "Beta team", &[&user_b]).await;
        let project_red = new_project(app, &admin, &red, "Red project").await;
        let project_blue = new_project(app, &admin, &blue, "Blue project").await;
        let project_b = new_project(app, &admin_b, &team_b, "Beta project").await;
        let (scan_red, finding_red) = finished_scan(app, &admin, &project_red).await;
        let (scan_blue, finding_blue) = finished_scan(app, &admin, &project_blue).await;
        let (scan_b, finding_b) = finished_scan(app, &admin_b, &project_b).await;
        let page = call(
            app,
            &admin,
            "query($id: ID!) { findings(scanId: $id, first: 1) { pageInfo { endCursor } } }",
            json!({ "id": scan_red }),
        )
        .await;
        let findings_cursor = text(&page, "/data/findings/pageInfo/endCursor");
        let as_of = chrono::Utc::now().to_rfc3339();
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
            findings_cursor,
            as_of,
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

    /// The members of Red a caller may see: everyone with `ReadUsers`, else themselves.
    fn red_members(&self, who: Who) -> BTreeSet<String> {
        if who.organization_wide(READ_USERS) {
            [Who::Admin, Who::Analyst, Who::User, Who::ReadOnly]
                .iter()
                .map(|who| self.caller(*who).user_id.clone())
                .chain([self.victim.clone()])
                .collect()
        } else {
            BTreeSet::from([self.caller(who).user_id.clone()])
        }
    }

    /// The variables of one case. Where the case is expected to change something, it gets
    /// fresh fixtures so that later cases find the world as it was.
    async fn variables(&self, rule: &Rule, who: Who, target: Target, allowed: bool) -> Value {
        let app = self.app;
        let missing = uuid::Uuid::now_v7().to_string();
        let field = rule.field.split_once('.').map_or(rule.field, |(_, f)| f);
        match (rule.field, rule.note) {
            ("QueryRoot.projects", "after") | ("QueryRoot.scans", "projectId") => {
                return json!({ "id": self.project(target) });
            }
            ("QueryRoot.scans", "after") => return json!({ "id": self.scan(target) }),
            ("User.teams", "after") => return json!({ "id": self.team(target) }),
            ("Team.members", "after") => {
                let id = match who {
                    Who::Anonymous => missing,
                    other => self.caller(other).user_id.clone(),
                };
                return json!({ "id": id });
            }
            ("QueryRoot.scan" | "Scan.findings", "asOf") => {
                return json!({ "id": self.scan(target), "at": self.as_of });
            }
            ("QueryRoot.findings" | "Scan.findings", "after") => {
                return json!({ "id": self.scan(target), "after": self.findings_cursor });
            }
            ("Scan.findings", "scans list") => return json!({}),
            ("QueryRoot.findings" | "QueryRoot.scan" | "Scan.findings", _)
            | ("SubscriptionRoot.scanEvents", _) => return json!({ "id": self.scan(target) }),
            ("MutationRoot.registerOrganization", _) | ("User.organization", "registration") => {
                let name = self.unique("org");
                return json!({ "org": name, "email": format!("{name}@new.test"), "password": PASSWORD });
            }
            ("MutationRoot.login", _) | ("User.teams", "login") => {
                return json!({ "email": "victim@acme.test", "password": PASSWORD });
            }
            (coordinate, _) if !coordinate.starts_with("MutationRoot.") => return json!({}),
            _ => {}
        }
        match field {
            "logout" | "enrollTotp" | "confirmTotp" | "oidcBegin" | "oidcComplete"
            | "oidcVerifyTotp" => json!({}),
            "createScan" => json!({ "id": self.project(target) }),
            // An allowed move gets a scan of its own, so shared fixtures stay as they are.
            "startScan" | "pauseScan" | "resumeScan" | "stopScan" => {
                let id = match target {
                    Target::Own | Target::Org if allowed => {
                        let body = call(
                            app,
                            &self.admin,
                            document("MutationRoot.createScan"),
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
        if field == "MutationRoot.logout" && !matches!(who, Who::ApiKey | Who::Anonymous) {
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

/// The name the answer's data holds the rule's root field under.
fn root_field(document: &str) -> String {
    let parsed = ExecutableDocument::parse_and_validate(&SCHEMA, document, "case.graphql")
        .expect("rule documents are valid");
    let operation = parsed.operations.get(None).expect("one operation");
    match operation.selection_set.selections.first() {
        Some(Selection::Field(field)) => field.name.to_string(),
        _ => panic!("a rule's document starts with a field"),
    }
}

/// What an answer says about authorization; `Err` for answers no case may get.
fn outcome(root: &str, body: &Value) -> Result<Outcome, String> {
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
    if codes == ["BAD_USER_INPUT"] && errors[0]["extensions"]["field"] == "after" {
        return Ok(Outcome::UnknownCursor);
    }
    if errors.is_empty() && body["data"][root].is_null() {
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
                document("MutationRoot.startScan"),
                json!({ "id": scan }),
            )
            .await;
        } else {
            let refused = call(
                fx.app,
                &fx.caller(Who::ReadOnly).credential,
                document("MutationRoot.createTeam"),
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
    who: Who,
    target: Target,
    expected: Outcome,
    variables: Value,
    body: Value,
}

impl Case {
    fn rule(&self) -> &'static Rule {
        &RULES[self.rule]
    }

    fn label(&self) -> String {
        let rule = self.rule();
        let note = if rule.note.is_empty() {
            String::new()
        } else {
            format!(" ({})", rule.note)
        };
        format!(
            "{}{note} as {:?} on {:?}",
            rule.field, self.who, self.target
        )
    }
}

async fn run_case(fx: &Fixtures<'_>, index: usize, who: Who, target: Target) -> Case {
    let rule = &RULES[index];
    let document = DOCUMENTS[index].as_str();
    let expected = expected(rule.access, who, target);
    let allowed = expected == Outcome::Allowed;
    let variables = fx.variables(rule, who, target, allowed).await;
    let body = if document.trim_start().starts_with("subscription") {
        subscribe(fx, who, document, &variables).await
    } else {
        let credential = fx.credential(rule.field, who).await;
        call(fx.app, &credential, document, variables.clone()).await
    };
    if rule.field == "MutationRoot.refreshToken"
        && let Some(next) = body["data"]["refreshToken"]["refreshToken"].as_str()
    {
        *fx.refresh.lock().unwrap() = next.to_owned();
    }
    Case {
        rule: index,
        who,
        target,
        expected,
        variables,
        body,
    }
}

/// The `id`s found by following `path` through objects and lists.
fn ids(value: &Value, path: &[&str]) -> Vec<String> {
    match path.split_first() {
        None => match value {
            Value::Array(items) => items.iter().flat_map(|item| ids(item, path)).collect(),
            other => other["id"]
                .as_str()
                .map(str::to_owned)
                .into_iter()
                .collect(),
        },
        Some((first, rest)) => match value {
            Value::Array(items) => items.iter().flat_map(|item| ids(item, path)).collect(),
            other => ids(&other[*first], rest),
        },
    }
}

fn set(ids: Vec<String>) -> BTreeSet<String> {
    ids.into_iter().collect()
}

/// Checks what an allowed answer contains, where the policy says what it must be.
fn check_allowed_data(fx: &Fixtures<'_>, case: &Case) -> Result<(), String> {
    let rule = case.rule();
    let data = &case.body["data"];
    let who = case.who;
    if DOCUMENTS[case.rule].trim_start().starts_with("query") && !errors(&case.body).is_empty() {
        return Err(format!("an allowed query answered an error: {}", case.body));
    }
    let expect = |seen: BTreeSet<String>, wanted: BTreeSet<String>, what: &str| {
        if seen == wanted {
            Ok(())
        } else {
            Err(format!("{what}: saw {seen:?}, expected {wanted:?}"))
        }
    };
    let of =
        |items: &[&String]| -> BTreeSet<String> { items.iter().map(|s| (*s).clone()).collect() };
    let visible_projects = || {
        let mut visible = of(&[&fx.project_red]);
        if who.organization_wide(READ_PROJECT) {
            visible.insert(fx.project_blue.clone());
        }
        visible
    };
    let visible_scans = || {
        let mut visible = of(&[&fx.scan_red]);
        if who.organization_wide(READ_SCAN) {
            visible.insert(fx.scan_blue.clone());
        }
        visible
    };
    match (rule.field, rule.note) {
        ("QueryRoot.me", _) => {
            let caller = fx.caller(who);
            if data["me"]["id"] != caller.user_id.as_str() {
                return Err(format!("me is not the caller: {data}"));
            }
        }
        ("QueryRoot.projects", "") => {
            expect(
                set(ids(data, &["projects"])),
                visible_projects(),
                "projects",
            )?;
        }
        ("QueryRoot.projects", "first") => {
            let seen = set(ids(data, &["projects"]));
            if seen.len() != 1 || !seen.is_subset(&visible_projects()) {
                return Err(format!("projects(first: 1): {seen:?}"));
            }
        }
        ("QueryRoot.projects", "after") => {
            // "Blue project" sorts before "Red project": after Red nothing, after Blue Red.
            let wanted = match case.target {
                Target::Org => of(&[&fx.project_red]),
                _ => BTreeSet::new(),
            };
            expect(set(ids(data, &["projects"])), wanted, "projects after")?;
        }
        ("QueryRoot.scans", "") => {
            expect(set(ids(data, &["scans"])), visible_scans(), "scans")?;
        }
        ("QueryRoot.scans", "first") => {
            let seen = set(ids(data, &["scans"]));
            if seen.len() != 1 || !seen.is_subset(&visible_scans()) {
                return Err(format!("scans(first: 1): {seen:?}"));
            }
        }
        ("QueryRoot.scans", "projectId") => {
            let wanted = match case.target {
                Target::Own => of(&[&fx.scan_red]),
                Target::Org if who.organization_wide(READ_SCAN) => of(&[&fx.scan_blue]),
                _ => BTreeSet::new(),
            };
            expect(set(ids(data, &["scans"])), wanted, "scans of the project")?;
        }
        ("QueryRoot.scans", "after") => {
            // Newest first: Blue's scan is newer than Red's.
            let wanted = match case.target {
                Target::Org => of(&[&fx.scan_red]),
                _ => BTreeSet::new(),
            };
            expect(set(ids(data, &["scans"])), wanted, "scans after")?;
        }
        ("QueryRoot.scan", _) if data["scan"]["id"] != fx.scan(case.target).as_str() => {
            return Err(format!("another scan: {data}"));
        }
        ("QueryRoot.findings", "first") | ("Scan.findings", "first") => {
            let nodes = data
                .pointer("/findings/nodes")
                .or(data.pointer("/scan/findings/nodes"));
            if nodes.and_then(Value::as_array).map(Vec::len) != Some(1) {
                return Err(format!("not one finding: {data}"));
            }
        }
        ("QueryRoot.findings", "type") | ("Scan.findings", "type") => {
            let nodes = data
                .pointer("/findings/nodes")
                .or(data.pointer("/scan/findings/nodes"));
            let all_ip = nodes
                .and_then(Value::as_array)
                .is_some_and(|nodes| nodes.iter().all(|node| node["type"] == "IP_ADDRESS"));
            if !all_ip {
                return Err(format!("findings of another type: {data}"));
            }
        }
        ("Scan.findings", "scans list") => {
            let scans = data["scans"].as_array().cloned().unwrap_or_default();
            if scans.is_empty()
                || scans
                    .iter()
                    .any(|scan| !scan["findings"]["nodes"].is_array())
            {
                return Err(format!("scans without their findings: {data}"));
            }
        }
        ("User.organization", "") if data["me"]["organization"]["id"] != fx.org_a.as_str() => {
            return Err(format!("another organization: {data}"));
        }
        ("User.organization", "member") => {
            let organizations = set(ids(data, &["me", "teams", "members", "organization"]));
            expect(organizations, of(&[&fx.org_a]), "members' organizations")?;
        }
        ("User.organization", "registration") => {
            let organization = &data["registerOrganization"]["user"]["organization"];
            if organization["name"] != case.variables["org"] {
                return Err(format!("not the new organization: {data}"));
            }
        }
        ("User.teams", "") => expect(set(ids(data, &["me", "teams"])), of(&[&fx.red]), "teams")?,
        ("User.teams", "first") => {
            expect(
                set(ids(data, &["me", "teams"])),
                of(&[&fx.red]),
                "teams(first: 1)",
            )?;
        }
        ("User.teams", "after") => {
            expect(
                set(ids(data, &["me", "teams"])),
                BTreeSet::new(),
                "teams after Red",
            )?;
        }
        ("User.teams", "login") => {
            let teams = set(ids(data, &["login", "user", "teams"]));
            expect(teams, of(&[&fx.red, &fx.blue]), "the victim's teams")?;
        }
        ("User.teams", "of members") => {
            // The victim is in Blue as well: only a caller who may read every team sees it.
            let teams = set(ids(data, &["me", "teams", "members", "teams"]));
            let wanted = if who.organization_wide(READ_TEAMS) {
                of(&[&fx.red, &fx.blue])
            } else {
                of(&[&fx.red])
            };
            expect(teams, wanted, "members' teams")?;
        }
        ("Team.members", "") => {
            let members = set(ids(data, &["me", "teams", "members"]));
            expect(members, fx.red_members(who), "Red's members")?;
        }
        ("Team.members", "first") => {
            let members = ids(data, &["me", "teams", "members"]);
            let wanted = fx.red_members(who).len().min(2);
            if members.len() != wanted || !set(members.clone()).is_subset(&fx.red_members(who)) {
                return Err(format!("members(first: 2): {members:?}"));
            }
        }
        ("Team.members", "after") => {
            let after = fx.caller(who).user_id.clone();
            let wanted: BTreeSet<String> = fx
                .red_members(who)
                .into_iter()
                .filter(|id| *id > after)
                .collect();
            expect(
                set(ids(data, &["me", "teams", "members"])),
                wanted,
                "members after",
            )?;
        }
        ("Team.members", "another team") => {
            for project in data["projects"].as_array().cloned().unwrap_or_default() {
                let members = set(ids(&project, &["team", "members"]));
                let wanted = if project["team"]["id"] == fx.blue.as_str() {
                    of(&[&fx.victim])
                } else {
                    fx.red_members(who)
                };
                expect(members, wanted, "a project team's members")?;
            }
        }
        ("Project.team", "") => {
            for project in data["projects"].as_array().cloned().unwrap_or_default() {
                let team = if project["id"] == fx.project_blue.as_str() {
                    &fx.blue
                } else {
                    &fx.red
                };
                if project["team"]["id"] != team.as_str() {
                    return Err(format!("a project with another team: {project}"));
                }
            }
        }
        ("SubscriptionRoot.securityEvents", _) => {
            let stream = data["securityEvents"]["streamId"].as_str().unwrap_or("");
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
    let same_rule = |case: &Case, who: Who, target: Target| {
        cases
            .iter()
            .find(|other| other.rule == case.rule && other.who == who && other.target == target)
    };
    for case in &cases {
        let label = case.label();
        *by_outcome
            .entry(format!("{:?}", case.expected))
            .or_default() += 1;
        let root = root_field(&DOCUMENTS[case.rule]);
        match outcome(&root, &case.body) {
            Err(error) => failures.push(format!("{label}: {error}")),
            Ok(actual) if case.expected == Outcome::AsAnonymous => {
                let anonymous = same_rule(case, Who::Anonymous, case.target)
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
        // Another organization's id, and a cursor the caller may not see, answer exactly like
        // an id nothing has.
        if case.target == Target::OtherOrg || case.expected == Outcome::UnknownCursor {
            let missing = same_rule(case, case.who, Target::Missing)
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
            document("MutationRoot.addTeamMember"),
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

/// The documents of issue 8 and of the security review (M1): through a team, a READ_ONLY or
/// USER caller reached every co-member's e-mail address and role. Each caller now sees only
/// the members the policy lets them read: administrators and analysts everyone, the others
/// only themselves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nested_fields_list_only_what_the_policy_lets_the_caller_see() {
    let app = TestApp::spawn(&[("MIRAGE_SIGNUP", "open")]).await;
    let (admin, admin_id, _, _) = register(&app, "Acme", "admin@acme.test").await;
    let mut members = vec![admin_id];
    for (email, role) in [
        ("analyst@acme.test", "ANALYST"),
        ("user@acme.test", "USER"),
        ("readonly@acme.test", "READ_ONLY"),
    ] {
        members.push(new_user(&app, &admin, email, role).await);
    }
    let members: Vec<&str> = members.iter().map(String::as_str).collect();
    new_team(&app, &admin, "Red", &members).await;
    let everyone = BTreeSet::from([
        "admin@acme.test",
        "analyst@acme.test",
        "user@acme.test",
        "readonly@acme.test",
    ]);
    let emails = |body: &Value| -> BTreeSet<String> {
        let mut found = BTreeSet::new();
        for team in body["data"]["me"]["teams"].as_array().into_iter().flatten() {
            for member in team["members"].as_array().into_iter().flatten() {
                found.insert(member["email"].as_str().unwrap_or("").to_owned());
            }
        }
        found
    };
    for (email, document) in [
        (
            "readonly@acme.test",
            "{ me { teams { members { email role } } } }",
        ),
        (
            "user@acme.test",
            "{ me { teams { id name members { email } } } }",
        ),
        (
            "user@acme.test",
            "{ me { teams(first: 5) { members(first: 10) { email role disabled teams(first: 5) { id name members(first: 10) { email } } } } } }",
        ),
        (
            "analyst@acme.test",
            "{ me { teams { members { email role } } } }",
        ),
        (
            "admin@acme.test",
            "{ me { teams { id name members { email } } } }",
        ),
    ] {
        let token = sign_in(&app, email).await;
        let body = call(&app, &token, document, json!({})).await;
        assert!(body["errors"].is_null(), "{email}: {body}");
        let mut seen = emails(&body);
        // The nested walk: the members of the members' teams.
        for team in body["data"]["me"]["teams"].as_array().into_iter().flatten() {
            for member in team["members"].as_array().into_iter().flatten() {
                seen.extend(emails(&json!({ "data": { "me": member } })));
            }
        }
        let wanted: BTreeSet<String> = if email.starts_with("user") || email.starts_with("readonly")
        {
            BTreeSet::from([email.to_owned()])
        } else {
            everyone.iter().map(|e| (*e).to_owned()).collect()
        };
        assert_eq!(seen, wanted, "{email}: {document}: {body}");
    }
    app.stop().await;
}

/// The role ceiling lives in the policy: a role above the caller's own is refused like any
/// other denial (FORBIDDEN, and a security event naming why), for keys and for users.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_above_the_callers_own_is_refused_and_recorded() {
    let app = TestApp::spawn(&[("MIRAGE_SIGNUP", "open")]).await;
    let (admin, _, org, _) = register(&app, "Acme", "admin@acme.test").await;
    let user_id = new_user(&app, &admin, "ana@acme.test", "ANALYST").await;
    let analyst = sign_in(&app, "ana@acme.test").await;
    let create_key =
        "mutation($role: Role!) { createApiKey(input: { name: \"k\", role: $role }) { id } }";
    let refused = call(&app, &analyst, create_key, json!({ "role": "ADMIN" })).await;
    assert_eq!(refused["data"], Value::Null, "{refused}");
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{refused}"
    );
    for role in ["ANALYST", "USER", "READ_ONLY"] {
        let created = call(&app, &analyst, create_key, json!({ "role": role })).await;
        assert!(
            created["data"]["createApiKey"]["id"].is_string(),
            "{role}: {created}"
        );
    }
    // An administrator may hand out every role, their own included.
    for role in ["ADMIN", "READ_ONLY"] {
        let changed = call(
            &app,
            &admin,
            "mutation($id: ID!, $role: Role!) { changeUserRole(userId: $id, role: $role) { role } }",
            json!({ "id": user_id, "role": role }),
        )
        .await;
        assert_eq!(changed["data"]["changeUserRole"]["role"], role, "{changed}");
    }

    let stream = format!("audit-{org}");
    let mut recorded = Vec::new();
    let mut after = None;
    loop {
        let page = app.state.log.read_all(after, 1000).await.unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.position);
        recorded.extend(
            page.into_iter()
                .filter(|e| {
                    e.stream_id.as_str() == stream
                        && e.event_type() == "SecurityAuthorizationDenied"
                })
                .map(|e| String::from_utf8_lossy(&e.payload.data).into_owned()),
        );
    }
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert!(
        recorded[0].contains("\"action\":\"manage_api_keys\"")
            && recorded[0].contains("\"reason\":\"role_above_own\""),
        "{recorded:?}"
    );
    app.stop().await;
}
