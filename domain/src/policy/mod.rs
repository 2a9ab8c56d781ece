//! The one authorization policy: every command and query asks [`authorize`] (or [`check`] for a
//! proof) before it runs. Deny by default: another organization, a resource the action does not
//! apply to, a role without the permission, or a resource outside the principal's own scope all
//! answer [`Denied`] with the reason, for the audit log.
//!
//! The table of grants is in [`grants`].

mod action;
mod authorized;
pub mod grants;
mod resource;
mod role_grant;
#[cfg(test)]
mod role_grant_tests;
#[cfg(test)]
mod tests;

pub use action::{Action, permission};
pub use authorized::Authorized;
pub use grants::Grant;
pub use resource::{Resource, ResourceKind};
pub use role_grant::{GrantsRoles, RoleGrant};

use std::collections::BTreeSet;

use uuid::Uuid;

use crate::error::DomainError;
use crate::identity::Role;

use permission::Permission;

/// Who is asking: an authenticated user, directly or through one of their API keys. With a key,
/// `role` is `key.role.capped_at(owner's current role)` and `teams` the owner's current teams;
/// a key of a disabled owner authenticates nobody.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: Uuid,
    pub organization_id: Uuid,
    pub role: Role,
    /// The teams the user is a member of.
    pub teams: BTreeSet<Uuid>,
    pub via_api_key: bool,
}

impl Principal {
    /// Whether `resource` is the principal's own: their user, their key, one of their teams'.
    pub fn owns(&self, resource: &Resource) -> bool {
        match *resource {
            Resource::Organization(_) => false,
            Resource::User { user_id, .. } => user_id == self.user_id,
            Resource::ApiKey { owner_user_id, .. } => owner_user_id == self.user_id,
            Resource::Team { team_id, .. }
            | Resource::Project { team_id, .. }
            | Resource::Scan { team_id, .. }
            | Resource::Report { team_id, .. } => self.teams.contains(&team_id),
        }
    }
}

/// Why the policy said no.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DenyReason {
    /// The resource belongs to another organization.
    OtherOrganization,
    /// The action does not apply to this kind of resource.
    WrongResource,
    /// The principal came with an API key and the action needs an interactive login.
    NotWithApiKey,
    /// The role has no permission for the action.
    RoleNotPermitted,
    /// The role may do this only to its own teams, user or keys, and this is not one of them.
    OutsideOwnScope,
    /// The action would hand out a role above the principal's own.
    RoleAboveOwn,
}

impl DenyReason {
    pub const ALL: [DenyReason; 6] = [
        DenyReason::OtherOrganization,
        DenyReason::WrongResource,
        DenyReason::NotWithApiKey,
        DenyReason::RoleNotPermitted,
        DenyReason::OutsideOwnScope,
        DenyReason::RoleAboveOwn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DenyReason::OtherOrganization => "other_organization",
            DenyReason::WrongResource => "wrong_resource",
            DenyReason::NotWithApiKey => "not_with_api_key",
            DenyReason::RoleNotPermitted => "role_not_permitted",
            DenyReason::OutsideOwnScope => "outside_own_scope",
            DenyReason::RoleAboveOwn => "role_above_own",
        }
    }

    pub fn parse(text: &str) -> Option<DenyReason> {
        DenyReason::ALL
            .into_iter()
            .find(|reason| reason.as_str() == text)
    }
}

/// A refusal, with what was asked and why it was refused (for the audit log; clients are told
/// only "not allowed", and another organization's resource answers like a missing one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{} denied: {}", action.as_str(), reason.as_str())]
pub struct Denied {
    pub action: Action,
    pub resource: Resource,
    pub reason: DenyReason,
}

impl From<Denied> for DomainError {
    fn from(denied: Denied) -> Self {
        DomainError::Forbidden(denied.to_string())
    }
}

/// Decides whether `principal` may do `action` to `resource`.
pub fn authorize(principal: &Principal, action: Action, resource: &Resource) -> Result<(), Denied> {
    let deny = |reason| {
        Err(Denied {
            action,
            resource: *resource,
            reason,
        })
    };
    if resource.organization_id() != principal.organization_id {
        return deny(DenyReason::OtherOrganization);
    }
    if !grants::accepts(action, resource.kind()) {
        return deny(DenyReason::WrongResource);
    }
    if principal.via_api_key && grants::denied_to_api_keys(action) {
        return deny(DenyReason::NotWithApiKey);
    }
    match grants::grant(principal.role, action) {
        Grant::Organization => Ok(()),
        Grant::Own if principal.owns(resource) => Ok(()),
        Grant::Own => deny(DenyReason::OutsideOwnScope),
        Grant::Never => deny(DenyReason::RoleNotPermitted),
    }
}

/// [`authorize`], returning the proof a command handler requires: `Authorized<P>` can only be
/// made here, and only when the policy allowed `P::ACTION` on `resource`.
pub fn check<P: Permission>(
    principal: &Principal,
    resource: &Resource,
) -> Result<Authorized<P>, Denied> {
    authorize(principal, P::ACTION, resource)?;
    Ok(Authorized::granted(principal, *resource))
}

/// [`check`], and then the role ceiling: the proof a service needs to hand out `role` (to a new
/// user, an existing user or an API key). A role above the principal's own is denied with
/// [`DenyReason::RoleAboveOwn`].
pub fn check_grant<P: GrantsRoles>(
    principal: &Principal,
    resource: &Resource,
    role: Role,
) -> Result<RoleGrant<P>, Denied> {
    let authorized = check::<P>(principal, resource)?;
    if !principal.role.may_grant(role) {
        return Err(Denied {
            action: P::ACTION,
            resource: *resource,
            reason: DenyReason::RoleAboveOwn,
        });
    }
    Ok(RoleGrant::granted(authorized, role))
}
