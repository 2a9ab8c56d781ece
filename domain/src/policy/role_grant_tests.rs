//! Given/when/then for the role ceiling: who may hand out which role, through which permission.

use std::collections::BTreeSet;

use uuid::Uuid;

use super::*;
use crate::identity::Role;

const ORGANIZATION: Uuid = Uuid::from_u128(0xA);
const ME: Uuid = Uuid::from_u128(1);
const SOMEONE_ELSE: Uuid = Uuid::from_u128(2);

/// A principal about to hand out a role.
struct Given {
    principal: Principal,
}

fn given(role: Role) -> Given {
    Given {
        principal: Principal {
            user_id: ME,
            organization_id: ORGANIZATION,
            role,
            teams: BTreeSet::new(),
            via_api_key: false,
        },
    }
}

impl Given {
    fn with_an_api_key(mut self) -> Self {
        self.principal.via_api_key = true;
        self
    }

    fn when_granting<P: GrantsRoles>(&self, resource: Resource, role: Role) -> Then<P> {
        Then(check_grant::<P>(&self.principal, &resource, role))
    }
}

struct Then<P: GrantsRoles>(Result<RoleGrant<P>, Denied>);

impl<P: GrantsRoles> Then<P> {
    fn then_granted(self, role: Role) -> RoleGrant<P> {
        let grant = self
            .0
            .unwrap_or_else(|denied| panic!("expected a grant of {role:?}, got {denied}"));
        assert_eq!(grant.role(), role);
        grant
    }

    fn then_denied(self, reason: DenyReason) {
        match self.0 {
            Ok(grant) => panic!("expected {reason:?}, got a grant of {:?}", grant.role()),
            Err(denied) => {
                assert_eq!(denied.reason, reason);
                assert_eq!(denied.action, P::ACTION);
            }
        }
    }
}

fn organization() -> Resource {
    Resource::Organization(ORGANIZATION)
}

fn user(user_id: Uuid) -> Resource {
    Resource::User {
        organization_id: ORGANIZATION,
        user_id,
    }
}

fn own_key() -> Resource {
    Resource::ApiKey {
        organization_id: ORGANIZATION,
        owner_user_id: ME,
    }
}

#[test]
fn an_admin_creates_users_and_changes_roles_up_to_admin() {
    for role in Role::ALL {
        let grant = given(Role::Admin)
            .when_granting::<permission::ManageUsers>(organization(), role)
            .then_granted(role);
        assert_eq!(grant.authorized().user_id(), ME);
        assert_eq!(grant.authorized().organization_id(), ORGANIZATION);
        assert_eq!(grant.authorized().role(), Role::Admin);
        assert_eq!(grant.authorized().resource(), &organization());
        given(Role::Admin)
            .when_granting::<permission::ManageUsers>(user(SOMEONE_ELSE), role)
            .then_granted(role);
    }
}

#[test]
fn nobody_else_manages_users_whatever_the_role_asked() {
    for granter in [Role::Analyst, Role::User, Role::ReadOnly] {
        for role in Role::ALL {
            given(granter)
                .when_granting::<permission::ManageUsers>(user(SOMEONE_ELSE), role)
                .then_denied(DenyReason::RoleNotPermitted);
        }
    }
}

#[test]
fn a_key_gets_at_most_its_creators_role() {
    for granter in Role::ALL {
        for role in Role::ALL {
            let then = given(granter).when_granting::<permission::ManageApiKeys>(own_key(), role);
            if role.rank() <= granter.rank() {
                let grant = then.then_granted(role);
                assert_eq!(grant.authorized().role(), granter);
            } else {
                then.then_denied(DenyReason::RoleAboveOwn);
            }
        }
    }
}

#[test]
fn the_permission_is_checked_before_the_ceiling() {
    // An API key may not mint keys at all, even of the lowest role.
    given(Role::Admin)
        .with_an_api_key()
        .when_granting::<permission::ManageApiKeys>(own_key(), Role::ReadOnly)
        .then_denied(DenyReason::NotWithApiKey);
    // Another organization answers like any other policy refusal, before the ceiling.
    given(Role::ReadOnly)
        .when_granting::<permission::ManageApiKeys>(
            Resource::ApiKey {
                organization_id: Uuid::from_u128(0xB),
                owner_user_id: ME,
            },
            Role::Admin,
        )
        .then_denied(DenyReason::OtherOrganization);
    // Someone else's key is outside an analyst's own scope.
    given(Role::Analyst)
        .when_granting::<permission::ManageApiKeys>(
            Resource::ApiKey {
                organization_id: ORGANIZATION,
                owner_user_id: SOMEONE_ELSE,
            },
            Role::User,
        )
        .then_denied(DenyReason::OutsideOwnScope);
}

#[test]
fn a_refused_grant_says_why_for_the_audit_log() {
    let denied = check_grant::<permission::ManageApiKeys>(
        &given(Role::User).principal,
        &own_key(),
        Role::Analyst,
    )
    .unwrap_err();
    assert_eq!(denied.to_string(), "manage_api_keys denied: role_above_own");
    assert_eq!(
        DenyReason::parse("role_above_own"),
        Some(DenyReason::RoleAboveOwn)
    );
}
