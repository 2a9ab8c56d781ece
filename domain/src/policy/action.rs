//! Everything a principal can ask to do, as a value ([`Action`]) and as a type (one marker per
//! action in [`permission`], used by [`super::Authorized`]).

/// Declares the [`Action`] enum, its list, its text form and one marker type per action, from
/// one list, so the four can never disagree.
macro_rules! actions {
    ($($(#[doc = $doc:literal])* $name:ident => $text:literal,)*) => {
        /// What a principal wants to do. The policy decides each one against a [`super::Resource`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Action {
            $($(#[doc = $doc])* $name,)*
        }

        impl Action {
            /// Every action, in declaration order.
            pub const ALL: &'static [Action] = &[$(Action::$name,)*];

            /// The stable text form written into security events.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Action::$name => $text,)*
                }
            }

            pub fn parse(text: &str) -> Option<Action> {
                match text {
                    $($text => Some(Action::$name),)*
                    _ => None,
                }
            }
        }

        /// Type-level twins of the actions: `Authorized<permission::CreateScan>` is a proof that
        /// the policy allowed [`Action::CreateScan`].
        pub mod permission {
            use super::Action;

            /// Implemented by the marker types below; names the action a proof is for.
            pub trait Permission {
                const ACTION: Action;
            }

            $(
                #[derive(Debug, Clone, Copy, PartialEq, Eq)]
                pub struct $name;

                impl Permission for $name {
                    const ACTION: Action = Action::$name;
                }
            )*
        }
    };
}

actions! {
    /// See one's own account.
    ReadSelf => "read_self",
    /// Change one's own profile (display name, preferences); a password change also re-checks
    /// the current password.
    UpdateSelf => "update_self",
    /// Enroll or confirm one's own second factor.
    EnrollMfa => "enroll_mfa",
    /// Create and revoke API keys (one's own; admins: anyone's in the organization).
    ManageApiKeys => "manage_api_keys",
    ReadModules => "read_modules",
    /// Create users, change their roles, disable and enable them.
    ManageUsers => "manage_users",
    ReadUsers => "read_users",
    /// Create and rename teams, add and remove members.
    ManageTeams => "manage_teams",
    ReadTeams => "read_teams",
    CreateProject => "create_project",
    ReadProject => "read_project",
    UpdateProject => "update_project",
    CreateScan => "create_scan",
    ReadScan => "read_scan",
    /// Start, pause, resume and stop a scan.
    UpdateScan => "update_scan",
    MarkFalsePositive => "mark_false_positive",
    ReadFindings => "read_findings",
    ReadGraph => "read_graph",
    Search => "search",
    CreateReport => "create_report",
    ReadReport => "read_report",
    ManageWebhooks => "manage_webhooks",
    ReadAudit => "read_audit",
    VerifyAudit => "verify_audit",
    /// Crypto-shred a data subject.
    EraseSubject => "erase_subject",
}
