//! What an action is done to, reduced to what the policy needs: its organization and the team,
//! user or key owner that decides whether it is the principal's own.

use uuid::Uuid;

/// The target of an action. Team-owned resources carry their team; for a scan, report or
/// finding that is the team of its project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resource {
    /// The organization as a whole (listing, organization-wide settings, audit).
    Organization(Uuid),
    User {
        organization_id: Uuid,
        user_id: Uuid,
    },
    ApiKey {
        organization_id: Uuid,
        owner_user_id: Uuid,
    },
    Team {
        organization_id: Uuid,
        team_id: Uuid,
    },
    Project {
        organization_id: Uuid,
        team_id: Uuid,
    },
    /// A scan, or something inside it (findings, false-positive marks).
    Scan {
        organization_id: Uuid,
        team_id: Uuid,
    },
    Report {
        organization_id: Uuid,
        team_id: Uuid,
    },
}

/// The variant of a [`Resource`], without its ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceKind {
    Organization,
    User,
    ApiKey,
    Team,
    Project,
    Scan,
    Report,
}

impl ResourceKind {
    pub const ALL: [ResourceKind; 7] = [
        ResourceKind::Organization,
        ResourceKind::User,
        ResourceKind::ApiKey,
        ResourceKind::Team,
        ResourceKind::Project,
        ResourceKind::Scan,
        ResourceKind::Report,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Organization => "organization",
            ResourceKind::User => "user",
            ResourceKind::ApiKey => "api_key",
            ResourceKind::Team => "team",
            ResourceKind::Project => "project",
            ResourceKind::Scan => "scan",
            ResourceKind::Report => "report",
        }
    }

    pub fn parse(text: &str) -> Option<ResourceKind> {
        ResourceKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }
}

impl Resource {
    pub fn organization_id(&self) -> Uuid {
        match *self {
            Resource::Organization(organization_id)
            | Resource::User {
                organization_id, ..
            }
            | Resource::ApiKey {
                organization_id, ..
            }
            | Resource::Team {
                organization_id, ..
            }
            | Resource::Project {
                organization_id, ..
            }
            | Resource::Scan {
                organization_id, ..
            }
            | Resource::Report {
                organization_id, ..
            } => organization_id,
        }
    }

    pub fn kind(&self) -> ResourceKind {
        match self {
            Resource::Organization(_) => ResourceKind::Organization,
            Resource::User { .. } => ResourceKind::User,
            Resource::ApiKey { .. } => ResourceKind::ApiKey,
            Resource::Team { .. } => ResourceKind::Team,
            Resource::Project { .. } => ResourceKind::Project,
            Resource::Scan { .. } => ResourceKind::Scan,
            Resource::Report { .. } => ResourceKind::Report,
        }
    }

    /// Whether ownership is decided by a team (so the policy needs the principal's teams).
    pub fn is_team_owned(&self) -> bool {
        matches!(
            self,
            Resource::Team { .. }
                | Resource::Project { .. }
                | Resource::Scan { .. }
                | Resource::Report { .. }
        )
    }

    /// The id that decides ownership: the user, the key's owner or the team; `None` for the
    /// organization as a whole.
    pub fn owner_id(&self) -> Option<Uuid> {
        match *self {
            Resource::Organization(_) => None,
            Resource::User { user_id, .. } => Some(user_id),
            Resource::ApiKey { owner_user_id, .. } => Some(owner_user_id),
            Resource::Team { team_id, .. }
            | Resource::Project { team_id, .. }
            | Resource::Scan { team_id, .. }
            | Resource::Report { team_id, .. } => Some(team_id),
        }
    }

    /// Rebuilds a resource from [`Resource::kind`], [`Resource::organization_id`] and
    /// [`Resource::owner_id`]; `None` if the parts do not fit together.
    pub fn from_parts(
        kind: ResourceKind,
        organization_id: Uuid,
        owner_id: Option<Uuid>,
    ) -> Option<Resource> {
        Some(match (kind, owner_id) {
            (ResourceKind::Organization, None) => Resource::Organization(organization_id),
            (ResourceKind::Organization, Some(_)) | (_, None) => return None,
            (ResourceKind::User, Some(user_id)) => Resource::User {
                organization_id,
                user_id,
            },
            (ResourceKind::ApiKey, Some(owner_user_id)) => Resource::ApiKey {
                organization_id,
                owner_user_id,
            },
            (ResourceKind::Team, Some(team_id)) => Resource::Team {
                organization_id,
                team_id,
            },
            (ResourceKind::Project, Some(team_id)) => Resource::Project {
                organization_id,
                team_id,
            },
            (ResourceKind::Scan, Some(team_id)) => Resource::Scan {
                organization_id,
                team_id,
            },
            (ResourceKind::Report, Some(team_id)) => Resource::Report {
                organization_id,
                team_id,
            },
        })
    }
}
