//! The policy against an expectation table written apart from the implementation: every action x
//! every role x own/other organization x own/other scope x with/without an API key.

use std::collections::BTreeSet;

use uuid::Uuid;

use super::*;
use crate::identity::Role;

const ORGANIZATION: Uuid = Uuid::from_u128(0xA);
const OTHER_ORGANIZATION: Uuid = Uuid::from_u128(0xB);
const ME: Uuid = Uuid::from_u128(1);
const SOMEONE_ELSE: Uuid = Uuid::from_u128(2);
const MY_TEAM: Uuid = Uuid::from_u128(10);
const OTHER_TEAM: Uuid = Uuid::from_u128(11);

/// The kind of resource each row is checked against.
#[derive(Debug, Clone, Copy)]
enum Target {
    Organization,
    User,
    ApiKey,
    Team,
    Project,
    Scan,
    Report,
}

use Action as A;
use Target as T;

/// What each role may do. Columns are ADMIN, ANALYST, USER, READ_ONLY; `y` allowed, `-` denied.
/// "mine" is the principal's own user / own key / a resource of one of their teams, "theirs" is
/// another user's, another user's key, another team's. (For organization-wide targets both are
/// the organization.)
#[rustfmt::skip]
const EXPECTED: &[(Action, Target, &str, &str)] = &[
    //  action                target            mine     theirs
    (A::ReadSelf,          T::User,          "yyyy", "----"),
    (A::UpdateSelf,        T::User,          "yyyy", "----"),
    (A::EnrollMfa,         T::User,          "yyyy", "----"),
    (A::ManageApiKeys,     T::ApiKey,        "yyyy", "y---"),
    (A::ReadModules,       T::Organization,  "yyyy", "yyyy"),
    (A::ManageUsers,       T::User,          "y---", "y---"),
    (A::ReadUsers,         T::User,          "yy--", "yy--"),
    (A::ManageTeams,       T::Team,          "y---", "y---"),
    (A::ReadTeams,         T::Team,          "yyyy", "yy--"),
    (A::CreateProject,     T::Team,          "yy--", "y---"),
    (A::ReadProject,       T::Project,       "yyyy", "yy--"),
    (A::UpdateProject,     T::Project,       "yy--", "y---"),
    (A::CreateScan,        T::Project,       "yyy-", "y---"),
    (A::ReadScan,          T::Scan,          "yyyy", "yy--"),
    (A::UpdateScan,        T::Scan,          "yyy-", "y---"),
    (A::MarkFalsePositive, T::Scan,          "yy--", "y---"),
    (A::ReadFindings,      T::Scan,          "yyyy", "yy--"),
    (A::ReadGraph,         T::Project,       "yyyy", "yy--"),
    (A::Search,            T::Project,       "yyyy", "yy--"),
    (A::CreateReport,      T::Scan,          "yyy-", "y---"),
    (A::ReadReport,        T::Report,        "yyyy", "yy--"),
    (A::ManageWebhooks,    T::Project,       "yy--", "y---"),
    (A::ReadAudit,         T::Organization,  "y---", "y---"),
    (A::VerifyAudit,       T::Organization,  "y---", "y---"),
    (A::EraseSubject,      T::Organization,  "y---", "y---"),
];

/// Organization-wide requests (lists, organization settings): only roles with an
/// organization-wide grant pass; nobody "owns" the organization.
#[rustfmt::skip]
const ORGANIZATION_WIDE: &[(Action, &str)] = &[
    (A::ReadModules,    "yyyy"),
    (A::ManageUsers,    "y---"),
    (A::ReadUsers,      "yy--"),
    (A::ManageTeams,    "y---"),
    (A::ReadTeams,      "yy--"),
    (A::ReadProject,    "yy--"),
    (A::ReadScan,       "yy--"),
    (A::ReadFindings,   "yy--"),
    (A::ReadGraph,      "yy--"),
    (A::Search,         "yy--"),
    (A::ReadReport,     "yy--"),
    (A::ManageWebhooks, "y---"),
    (A::ReadAudit,      "y---"),
    (A::VerifyAudit,    "y---"),
    (A::EraseSubject,   "y---"),
];

/// Which kinds of resource each action can be asked about (`o`rganization, `u`ser, api `k`ey,
/// `t`eam, `p`roject, `s`can, `r`eport).
#[rustfmt::skip]
const KINDS: &[(Action, &str)] = &[
    (A::ReadSelf, "u"), (A::UpdateSelf, "u"), (A::EnrollMfa, "u"), (A::ManageApiKeys, "k"),
    (A::ReadModules, "o"), (A::ManageUsers, "ou"), (A::ReadUsers, "ou"), (A::ManageTeams, "ot"),
    (A::ReadTeams, "ot"), (A::CreateProject, "t"), (A::ReadProject, "op"),
    (A::UpdateProject, "p"), (A::CreateScan, "p"), (A::ReadScan, "ops"), (A::UpdateScan, "s"),
    (A::MarkFalsePositive, "s"), (A::ReadFindings, "ops"), (A::ReadGraph, "ops"),
    (A::Search, "ops"), (A::CreateReport, "s"), (A::ReadReport, "or"),
    (A::ManageWebhooks, "op"), (A::ReadAudit, "o"), (A::VerifyAudit, "o"),
    (A::EraseSubject, "o"),
];

/// Needs an interactive login: refused to API-key principals whatever the role.
const NOT_WITH_API_KEY: &[Action] = &[A::ManageApiKeys, A::EnrollMfa];

fn principal(role: Role, via_api_key: bool) -> Principal {
    Principal {
        user_id: ME,
        organization_id: ORGANIZATION,
        role,
        teams: BTreeSet::from([MY_TEAM, Uuid::from_u128(12)]),
        via_api_key,
    }
}

fn resource(target: Target, organization_id: Uuid, mine: bool) -> Resource {
    let user_id = if mine { ME } else { SOMEONE_ELSE };
    let team_id = if mine { MY_TEAM } else { OTHER_TEAM };
    match target {
        T::Organization => Resource::Organization(organization_id),
        T::User => Resource::User {
            organization_id,
            user_id,
        },
        T::ApiKey => Resource::ApiKey {
            organization_id,
            owner_user_id: user_id,
        },
        T::Team => Resource::Team {
            organization_id,
            team_id,
        },
        T::Project => Resource::Project {
            organization_id,
            team_id,
        },
        T::Scan => Resource::Scan {
            organization_id,
            team_id,
        },
        T::Report => Resource::Report {
            organization_id,
            team_id,
        },
    }
}

fn allowed(cells: &str, role: Role) -> bool {
    let column = match role {
        Role::Admin => 0,
        Role::Analyst => 1,
        Role::User => 2,
        Role::ReadOnly => 3,
    };
    cells.as_bytes()[column] == b'y'
}

fn all_resources(organization_id: Uuid, id: Uuid) -> [Resource; 7] {
    [
        Resource::Organization(organization_id),
        Resource::User {
            organization_id,
            user_id: id,
        },
        Resource::ApiKey {
            organization_id,
            owner_user_id: id,
        },
        Resource::Team {
            organization_id,
            team_id: id,
        },
        Resource::Project {
            organization_id,
            team_id: id,
        },
        Resource::Scan {
            organization_id,
            team_id: id,
        },
        Resource::Report {
            organization_id,
            team_id: id,
        },
    ]
}

#[test]
fn the_tables_cover_every_action_exactly_once() {
    for table in [
        EXPECTED.iter().map(|row| row.0).collect::<Vec<_>>(),
        KINDS.iter().map(|row| row.0).collect::<Vec<_>>(),
    ] {
        let unique: BTreeSet<Action> = table.iter().copied().collect();
        assert_eq!(unique.len(), table.len(), "an action is listed twice");
        assert_eq!(
            unique,
            Action::ALL.iter().copied().collect::<BTreeSet<_>>(),
            "an action is missing"
        );
    }
    assert_eq!(Action::ALL.len(), 25);
}

#[test]
fn every_action_role_organization_scope_and_credential_matches_the_table() {
    let mut checked = 0;
    for &(action, target, mine_cells, theirs_cells) in EXPECTED {
        for role in Role::ALL {
            for via_api_key in [false, true] {
                for organization_id in [ORGANIZATION, OTHER_ORGANIZATION] {
                    for mine in [true, false] {
                        let cells = if mine { mine_cells } else { theirs_cells };
                        let expected = organization_id == ORGANIZATION
                            && allowed(cells, role)
                            && !(via_api_key && NOT_WITH_API_KEY.contains(&action));
                        let asked = resource(target, organization_id, mine);
                        let decision = authorize(&principal(role, via_api_key), action, &asked);
                        assert_eq!(
                            decision.is_ok(),
                            expected,
                            "{role:?} {action:?} on {asked:?} (api key: {via_api_key}): {decision:?}"
                        );
                        if organization_id == OTHER_ORGANIZATION {
                            assert_eq!(
                                decision.map_err(|denied| denied.reason),
                                Err(DenyReason::OtherOrganization)
                            );
                        }
                        checked += 1;
                    }
                }
            }
        }
    }
    assert_eq!(checked, 25 * 4 * 2 * 2 * 2);
}

#[test]
fn organization_wide_requests_pass_only_organization_wide_grants() {
    for &(action, cells) in ORGANIZATION_WIDE {
        for role in Role::ALL {
            let decision = authorize(
                &principal(role, false),
                action,
                &Resource::Organization(ORGANIZATION),
            );
            assert_eq!(
                decision.is_ok(),
                allowed(cells, role),
                "{role:?} {action:?}"
            );
        }
    }
}

#[test]
fn an_action_asked_about_the_wrong_kind_of_resource_is_denied() {
    for &(action, kinds) in KINDS {
        for asked in all_resources(ORGANIZATION, MY_TEAM) {
            let letter = match asked.kind() {
                ResourceKind::Organization => 'o',
                ResourceKind::User => 'u',
                ResourceKind::ApiKey => 'k',
                ResourceKind::Team => 't',
                ResourceKind::Project => 'p',
                ResourceKind::Scan => 's',
                ResourceKind::Report => 'r',
            };
            let decision = authorize(&principal(Role::Admin, false), action, &asked);
            if kinds.contains(letter) {
                assert_ne!(
                    decision.map_err(|d| d.reason),
                    Err(DenyReason::WrongResource),
                    "{action:?} on {asked:?}"
                );
            } else {
                assert_eq!(
                    decision.map_err(|d| d.reason),
                    Err(DenyReason::WrongResource),
                    "{action:?} on {asked:?}"
                );
            }
        }
    }
}

#[test]
fn another_organization_is_always_denied() {
    // Even when every id in the resource is the principal's own and the role is admin.
    for action in Action::ALL {
        for role in Role::ALL {
            for via_api_key in [false, true] {
                let mut asking = principal(role, via_api_key);
                for id in [ME, MY_TEAM, SOMEONE_ELSE, OTHER_TEAM] {
                    asking.teams.insert(id);
                    for organization_id in [OTHER_ORGANIZATION, Uuid::nil(), Uuid::max()] {
                        for asked in all_resources(organization_id, id) {
                            assert_eq!(
                                authorize(&asking, *action, &asked).map_err(|d| d.reason),
                                Err(DenyReason::OtherOrganization),
                                "{role:?} {action:?} on {asked:?}"
                            );
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn denials_say_why() {
    let user = principal(Role::User, false);
    let reason = |principal: &Principal, action, resource| {
        authorize(principal, action, &resource).map_err(|denied| denied.reason)
    };
    assert_eq!(
        reason(&user, A::ReadAudit, Resource::Organization(ORGANIZATION)),
        Err(DenyReason::RoleNotPermitted)
    );
    assert_eq!(
        reason(&user, A::ReadScan, resource(T::Scan, ORGANIZATION, false)),
        Err(DenyReason::OutsideOwnScope)
    );
    assert_eq!(
        reason(
            &principal(Role::Admin, true),
            A::ManageApiKeys,
            resource(T::ApiKey, ORGANIZATION, true)
        ),
        Err(DenyReason::NotWithApiKey)
    );
    assert_eq!(
        reason(
            &user,
            A::ReadScan,
            Resource::Organization(OTHER_ORGANIZATION)
        ),
        Err(DenyReason::OtherOrganization)
    );
    let denied = authorize(&user, A::ReadAudit, &Resource::Organization(ORGANIZATION)).unwrap_err();
    assert_eq!(denied.to_string(), "read_audit denied: role_not_permitted");
    assert_eq!(
        crate::DomainError::from(denied),
        crate::DomainError::Forbidden("read_audit denied: role_not_permitted".into())
    );
}

#[test]
fn a_passed_check_is_the_only_way_to_a_proof() {
    let analyst = principal(Role::Analyst, false);
    let scan_project = resource(T::Project, ORGANIZATION, true);
    let proof: Authorized<permission::CreateScan> =
        check::<permission::CreateScan>(&analyst, &scan_project).unwrap();
    assert_eq!(proof.action(), A::CreateScan);
    assert_eq!(proof.resource(), &scan_project);
    assert_eq!(proof.user_id(), ME);
    assert_eq!(proof.organization_id(), ORGANIZATION);
    assert!(!proof.via_api_key());

    let elsewhere = resource(T::Project, ORGANIZATION, false);
    let refused = check::<permission::CreateScan>(&analyst, &elsewhere).unwrap_err();
    assert_eq!(refused.action, A::CreateScan);
    assert_eq!(refused.resource, elsewhere);
    assert_eq!(refused.reason, DenyReason::OutsideOwnScope);
}

#[test]
fn the_permission_markers_name_their_actions() {
    use permission::Permission;
    assert_eq!(permission::ReadSelf::ACTION, A::ReadSelf);
    assert_eq!(permission::UpdateScan::ACTION, A::UpdateScan);
    assert_eq!(permission::EraseSubject::ACTION, A::EraseSubject);
}

#[test]
fn text_forms_round_trip() {
    let texts: BTreeSet<&str> = Action::ALL.iter().map(|action| action.as_str()).collect();
    assert_eq!(texts.len(), Action::ALL.len());
    for action in Action::ALL {
        assert_eq!(Action::parse(action.as_str()), Some(*action));
    }
    assert_eq!(Action::parse("launch_missiles"), None);
    for kind in ResourceKind::ALL {
        assert_eq!(ResourceKind::parse(kind.as_str()), Some(kind));
    }
    for asked in all_resources(ORGANIZATION, MY_TEAM) {
        assert_eq!(
            Resource::from_parts(asked.kind(), asked.organization_id(), asked.owner_id()),
            Some(asked)
        );
    }
    assert_eq!(
        Resource::from_parts(ResourceKind::Organization, ORGANIZATION, Some(ME)),
        None
    );
    assert_eq!(
        Resource::from_parts(ResourceKind::Scan, ORGANIZATION, None),
        None
    );
}
