//! Handing out a role (to a new user, to an existing user, to an API key): the role ceiling as a
//! proof. Nobody grants a role above their own, and a service that gives a role out takes a
//! [`RoleGrant`], which only [`super::check_grant`] makes, so it cannot be called without the
//! ceiling having been checked.

use crate::identity::Role;

use super::Authorized;
use super::action::permission::{ManageApiKeys, ManageUsers, Permission};

/// The permissions whose proofs can carry a granted role: creating users and changing their
/// roles (`ManageUsers`), and creating API keys (`ManageApiKeys`).
pub trait GrantsRoles: Permission {}

impl GrantsRoles for ManageUsers {}
impl GrantsRoles for ManageApiKeys {}

/// Proof that the policy allowed `P::ACTION` on [`RoleGrant::authorized`]'s resource and that
/// [`RoleGrant::role`] is no higher than the role of the principal it was allowed to.
///
/// The private fields mean only [`super::check_grant`] can make one.
#[derive(Debug)]
pub struct RoleGrant<P: GrantsRoles> {
    authorized: Authorized<P>,
    role: Role,
}

impl<P: GrantsRoles> RoleGrant<P> {
    pub(super) fn granted(authorized: Authorized<P>, role: Role) -> Self {
        Self { authorized, role }
    }

    /// The role that may be handed out.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The policy's proof for the action itself (who, which organization, which resource).
    pub fn authorized(&self) -> &Authorized<P> {
        &self.authorized
    }
}
