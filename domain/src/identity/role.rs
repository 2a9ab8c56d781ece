//! Roles, their ranking, and how they are written as text.

use crate::error::DomainError;

/// What a user or API key may do inside its organization; the policy gives each its rights.
///
/// The default is the least privileged role, so a state that was never registered grants nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Role {
    Admin,
    Analyst,
    User,
    #[default]
    ReadOnly,
}

impl Role {
    /// Every role, most privileged first.
    pub const ALL: [Role; 4] = [Role::Admin, Role::Analyst, Role::User, Role::ReadOnly];

    /// The stable text form, as the API and stored events write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "ADMIN",
            Role::Analyst => "ANALYST",
            Role::User => "USER",
            Role::ReadOnly => "READ_ONLY",
        }
    }

    /// Parses the text form written by [`Role::as_str`]; anything else names the `role` field.
    pub fn parse(text: &str) -> Result<Role, DomainError> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == text)
            .ok_or_else(|| DomainError::invalid("role", format!("unknown role {text:?}")))
    }

    /// `ReadOnly < User < Analyst < Admin`.
    pub fn rank(self) -> u8 {
        match self {
            Role::ReadOnly => 0,
            Role::User => 1,
            Role::Analyst => 2,
            Role::Admin => 3,
        }
    }

    /// The lower of the two: what an API key may do is capped by its owner's role *now* (the
    /// owner may have been demoted since the key was made).
    pub fn capped_at(self, ceiling: Role) -> Role {
        if self.rank() <= ceiling.rank() {
            self
        } else {
            ceiling
        }
    }

    /// Whether a holder of `self` may hand out `granted` (to an API key or a new user): never a
    /// role above its own.
    pub fn may_grant(self, granted: Role) -> bool {
        granted.rank() <= self.rank()
    }
}

/// Writes a role as its text form inside a snapshotted state (`#[serde(with = ...)]`), so the
/// domain enum itself stays free of serde.
pub(crate) mod as_text {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::Role;

    pub fn serialize<S: Serializer>(role: &Role, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(role.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Role, D::Error> {
        let text = String::deserialize(deserializer)?;
        Role::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_forms_round_trip() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Ok(role));
        }
        assert_eq!(Role::Admin.as_str(), "ADMIN");
        assert_eq!(Role::ReadOnly.as_str(), "READ_ONLY");
        for bad in ["", "admin", "ROOT", " ADMIN"] {
            assert!(matches!(
                Role::parse(bad),
                Err(DomainError::InvalidInput { field: "role", .. })
            ));
        }
    }

    #[test]
    fn ranks_order_read_only_below_user_below_analyst_below_admin() {
        assert!(Role::ReadOnly.rank() < Role::User.rank());
        assert!(Role::User.rank() < Role::Analyst.rank());
        assert!(Role::Analyst.rank() < Role::Admin.rank());
    }

    #[test]
    fn nobody_grants_a_role_above_their_own() {
        for holder in Role::ALL {
            for granted in Role::ALL {
                assert_eq!(
                    holder.may_grant(granted),
                    granted.rank() <= holder.rank(),
                    "{holder:?} granting {granted:?}"
                );
            }
        }
        assert!(Role::Admin.may_grant(Role::Admin));
        assert!(!Role::Analyst.may_grant(Role::Admin));
        assert!(!Role::ReadOnly.may_grant(Role::User));
    }

    #[test]
    fn capping_takes_the_lower_role() {
        for role in Role::ALL {
            for ceiling in Role::ALL {
                let capped = role.capped_at(ceiling);
                assert_eq!(capped.rank(), role.rank().min(ceiling.rank()));
            }
        }
        assert_eq!(Role::Admin.capped_at(Role::User), Role::User);
        assert_eq!(Role::ReadOnly.capped_at(Role::Admin), Role::ReadOnly);
    }
}
