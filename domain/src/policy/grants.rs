//! The permission table: which role may do what, how far, and to which kinds of resource.
//!
//! `Org` = anywhere in the principal's organization; `Own` = only the principal's own teams'
//! resources (team, project, scan, report), their own user, their own API keys; `-` = never.
//!
//! | Action            | ADMIN | ANALYST | USER | READ_ONLY | Resources                     |
//! |-------------------|-------|---------|------|-----------|-------------------------------|
//! | ReadSelf          | Own   | Own     | Own  | Own       | User                          |
//! | UpdateSelf        | Own   | Own     | Own  | Own       | User                          |
//! | EnrollMfa         | Own   | Own     | Own  | Own       | User                          |
//! | ManageApiKeys     | Org   | Own     | Own  | Own       | ApiKey                        |
//! | ReadModules       | Org   | Org     | Org  | Org       | Organization                  |
//! | ManageUsers       | Org   | -       | -    | -         | Organization, User            |
//! | ReadUsers         | Org   | Org     | -    | -         | Organization, User            |
//! | ManageTeams       | Org   | -       | -    | -         | Organization, Team            |
//! | ReadTeams         | Org   | Org     | Own  | Own       | Organization, Team            |
//! | CreateProject     | Org   | Own     | -    | -         | Team                          |
//! | ReadProject       | Org   | Org     | Own  | Own       | Organization, Project         |
//! | UpdateProject     | Org   | Own     | -    | -         | Project                       |
//! | CreateScan        | Org   | Own     | Own  | -         | Project                       |
//! | ReadScan          | Org   | Org     | Own  | Own       | Organization, Project, Scan   |
//! | UpdateScan        | Org   | Own     | Own  | -         | Scan                          |
//! | MarkFalsePositive | Org   | Own     | -    | -         | Scan                          |
//! | ReadFindings      | Org   | Org     | Own  | Own       | Organization, Project, Scan   |
//! | ReadGraph         | Org   | Org     | Own  | Own       | Organization, Project, Scan   |
//! | Search            | Org   | Org     | Own  | Own       | Organization, Project, Scan   |
//! | CreateReport      | Org   | Own     | Own  | -         | Scan                          |
//! | ReadReport        | Org   | Org     | Own  | Own       | Organization, Report          |
//! | ManageWebhooks    | Org   | Own     | -    | -         | Organization, Project         |
//! | ReadAudit         | Org   | -       | -    | -         | Organization                  |
//! | VerifyAudit       | Org   | -       | -    | -         | Organization                  |
//! | EraseSubject      | Org   | -       | -    | -         | Organization                  |
//!
//! The organization as a whole is nobody's "own": an `Own` grant on `Organization(..)` is denied,
//! so lists for `Own` roles are filtered row by row through the policy. The self actions are
//! `Own` for admins too: an admin acts on other users through `ManageUsers` / `ReadUsers`.
//! Principals authenticated by an API key may not `ManageApiKeys` or `EnrollMfa` (a leaked key
//! must not mint keys or take over the second factor).

use crate::identity::Role;

use super::action::Action;
use super::resource::ResourceKind;

/// How far a role's permission for an action reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    Never,
    /// The principal's own teams, own user, own keys.
    Own,
    /// Anywhere in the principal's organization.
    Organization,
}

/// The table above, as data. Every cell is spelled out: adding an action or a role fails to
/// compile until its row or column is written.
pub fn grant(role: Role, action: Action) -> Grant {
    use Grant::{Never as No, Organization as Org, Own};
    use Role::{Admin, Analyst, ReadOnly, User};
    let [admin, analyst, user, read_only] = match action {
        Action::ReadSelf => [Own, Own, Own, Own],
        Action::UpdateSelf => [Own, Own, Own, Own],
        Action::EnrollMfa => [Own, Own, Own, Own],
        Action::ManageApiKeys => [Org, Own, Own, Own],
        Action::ReadModules => [Org, Org, Org, Org],
        Action::ManageUsers => [Org, No, No, No],
        Action::ReadUsers => [Org, Org, No, No],
        Action::ManageTeams => [Org, No, No, No],
        Action::ReadTeams => [Org, Org, Own, Own],
        Action::CreateProject => [Org, Own, No, No],
        Action::ReadProject => [Org, Org, Own, Own],
        Action::UpdateProject => [Org, Own, No, No],
        Action::CreateScan => [Org, Own, Own, No],
        Action::ReadScan => [Org, Org, Own, Own],
        Action::UpdateScan => [Org, Own, Own, No],
        Action::MarkFalsePositive => [Org, Own, No, No],
        Action::ReadFindings => [Org, Org, Own, Own],
        Action::ReadGraph => [Org, Org, Own, Own],
        Action::Search => [Org, Org, Own, Own],
        Action::CreateReport => [Org, Own, Own, No],
        Action::ReadReport => [Org, Org, Own, Own],
        Action::ManageWebhooks => [Org, Own, No, No],
        Action::ReadAudit => [Org, No, No, No],
        Action::VerifyAudit => [Org, No, No, No],
        Action::EraseSubject => [Org, No, No, No],
    };
    match role {
        Admin => admin,
        Analyst => analyst,
        User => user,
        ReadOnly => read_only,
    }
}

/// The kinds of resource an action can be asked about; anything else is denied.
pub fn accepts(action: Action, kind: ResourceKind) -> bool {
    use ResourceKind as K;
    let kinds: &[ResourceKind] = match action {
        Action::ReadSelf | Action::UpdateSelf | Action::EnrollMfa => &[K::User],
        Action::ManageApiKeys => &[K::ApiKey],
        Action::ReadModules | Action::ReadAudit | Action::VerifyAudit | Action::EraseSubject => {
            &[K::Organization]
        }
        Action::ManageUsers | Action::ReadUsers => &[K::Organization, K::User],
        Action::ManageTeams | Action::ReadTeams => &[K::Organization, K::Team],
        Action::CreateProject => &[K::Team],
        Action::ReadProject | Action::ManageWebhooks => &[K::Organization, K::Project],
        Action::UpdateProject | Action::CreateScan => &[K::Project],
        Action::ReadScan | Action::ReadFindings | Action::ReadGraph | Action::Search => {
            &[K::Organization, K::Project, K::Scan]
        }
        Action::UpdateScan | Action::MarkFalsePositive | Action::CreateReport => &[K::Scan],
        Action::ReadReport => &[K::Organization, K::Report],
    };
    kinds.contains(&kind)
}

/// Actions a principal authenticated by an API key may never take.
pub fn denied_to_api_keys(action: Action) -> bool {
    matches!(action, Action::ManageApiKeys | Action::EnrollMfa)
}
