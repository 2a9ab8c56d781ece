//! The proof that the policy allowed one action on one resource.

use std::marker::PhantomData;

use uuid::Uuid;

use crate::identity::Role;

use super::action::Action;
use super::action::permission::Permission;
use super::{Principal, Resource};

/// Proof that `P::ACTION` was allowed on [`Authorized::resource`] for the principal it names.
///
/// The private fields mean only [`super::check`] can make one, so a command handler that takes
/// `Authorized<permission::CreateScan>` cannot be called without the check having passed. The
/// handler should act on `resource()` (or verify that its target matches it).
#[derive(Debug)]
pub struct Authorized<P: Permission> {
    user_id: Uuid,
    organization_id: Uuid,
    /// The principal's role when the check passed (capped at the owner's for an API key).
    role: Role,
    via_api_key: bool,
    resource: Resource,
    permission: PhantomData<P>,
}

impl<P: Permission> Authorized<P> {
    pub(super) fn granted(principal: &Principal, resource: Resource) -> Self {
        Self {
            user_id: principal.user_id,
            organization_id: principal.organization_id,
            role: principal.role,
            via_api_key: principal.via_api_key,
            resource,
            permission: PhantomData,
        }
    }

    pub fn action(&self) -> Action {
        P::ACTION
    }

    /// The user who was allowed (the key's owner when `via_api_key`).
    pub fn user_id(&self) -> Uuid {
        self.user_id
    }

    pub fn organization_id(&self) -> Uuid {
        self.organization_id
    }

    /// The role the principal had when the check passed.
    pub fn role(&self) -> Role {
        self.role
    }

    pub fn via_api_key(&self) -> bool {
        self.via_api_key
    }

    pub fn resource(&self) -> &Resource {
        &self.resource
    }
}
