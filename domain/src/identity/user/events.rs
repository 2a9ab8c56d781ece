//! User events, as the domain sees them.

use serde_json::{Map, Value};
use uuid::Uuid;

use crate::codec::{DecodeError, EventCodec, StoredPayload, decode_schema, encode_schema, unknown};
use crate::identity::{Email, Role};

use super::schema;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserEvent {
    Registered {
        id: Uuid,
        organization_id: Uuid,
        email: Email,
        display_name: String,
        password_hash: Option<String>,
        role: Role,
    },
    RoleChanged {
        role: Role,
    },
    Disabled,
    Enabled,
    PasswordSet {
        password_hash: String,
    },
    /// `None` fields did not change.
    ProfileUpdated {
        display_name: Option<String>,
        preferences: Option<Map<String, Value>>,
    },
    TotpEnrollmentStarted {
        secret_ciphertext: Vec<u8>,
    },
    TotpConfirmed {
        step: u64,
    },
    TotpStepAccepted {
        step: u64,
    },
    OidcLinked {
        issuer: String,
        subject: String,
    },
}

impl UserEvent {
    /// Whether this event ends every session and access token issued before it (it raises the
    /// user's `security_version`).
    pub fn invalidates_sessions(&self) -> bool {
        matches!(
            self,
            UserEvent::RoleChanged { .. }
                | UserEvent::Disabled
                | UserEvent::PasswordSet { .. }
                | UserEvent::TotpConfirmed { .. }
        )
    }

    /// One event of every kind, for codec and fixture tests.
    #[cfg(test)]
    pub(crate) fn examples() -> Vec<UserEvent> {
        let mut preferences = Map::new();
        preferences.insert("theme".into(), Value::String("dark".into()));
        vec![
            UserEvent::Registered {
                id: Uuid::from_u128(1),
                organization_id: Uuid::from_u128(2),
                email: Email::parse("ada@example.com").unwrap_or_else(|e| panic!("{e}")),
                display_name: "Ada Lovelace".into(),
                password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
                role: Role::Analyst,
            },
            UserEvent::Registered {
                id: Uuid::from_u128(1),
                organization_id: Uuid::from_u128(2),
                email: Email::parse("sso@example.com").unwrap_or_else(|e| panic!("{e}")),
                display_name: "Single Sign-On".into(),
                password_hash: None,
                role: Role::ReadOnly,
            },
            UserEvent::RoleChanged { role: Role::Admin },
            UserEvent::Disabled,
            UserEvent::Enabled,
            UserEvent::PasswordSet {
                password_hash: "$argon2id$v=19$m=19456,t=2,p=1$bmV3$bmV3aGFzaA".into(),
            },
            UserEvent::ProfileUpdated {
                display_name: Some("Ada K.".into()),
                preferences: Some(preferences),
            },
            UserEvent::ProfileUpdated {
                display_name: None,
                preferences: None,
            },
            UserEvent::TotpEnrollmentStarted {
                secret_ciphertext: (0u8..48).collect(),
            },
            UserEvent::TotpConfirmed { step: 58_000_000 },
            UserEvent::TotpStepAccepted { step: 58_000_001 },
            UserEvent::OidcLinked {
                issuer: "https://id.example.com".into(),
                subject: "248289761001".into(),
            },
        ]
    }
}

impl EventCodec for UserEvent {
    fn encode(&self) -> StoredPayload {
        match self {
            UserEvent::Registered {
                id,
                organization_id,
                email,
                display_name,
                password_hash,
                role,
            } => encode_schema(
                schema::REGISTERED,
                1,
                &schema::RegisteredV1 {
                    user_id: *id,
                    organization_id: *organization_id,
                    email: email.as_str().to_owned(),
                    display_name: display_name.clone(),
                    password_hash: password_hash.clone(),
                    role: role.as_str().to_owned(),
                },
            ),
            UserEvent::RoleChanged { role } => encode_schema(
                schema::ROLE_CHANGED,
                1,
                &schema::RoleChangedV1 {
                    role: role.as_str().to_owned(),
                },
            ),
            UserEvent::Disabled => encode_schema(schema::DISABLED, 1, &schema::DisabledV1 {}),
            UserEvent::Enabled => encode_schema(schema::ENABLED, 1, &schema::EnabledV1 {}),
            UserEvent::PasswordSet { password_hash } => encode_schema(
                schema::PASSWORD_SET,
                1,
                &schema::PasswordSetV1 {
                    password_hash: password_hash.clone(),
                },
            ),
            UserEvent::ProfileUpdated {
                display_name,
                preferences,
            } => encode_schema(
                schema::PROFILE_UPDATED,
                1,
                &schema::ProfileUpdatedV1 {
                    display_name: display_name.clone(),
                    preferences: preferences.clone(),
                },
            ),
            UserEvent::TotpEnrollmentStarted { secret_ciphertext } => encode_schema(
                schema::TOTP_ENROLLMENT_STARTED,
                1,
                &schema::TotpEnrollmentStartedV1 {
                    secret_ciphertext: secret_ciphertext.clone(),
                },
            ),
            UserEvent::TotpConfirmed { step } => encode_schema(
                schema::TOTP_CONFIRMED,
                1,
                &schema::TotpConfirmedV1 { step: *step },
            ),
            UserEvent::TotpStepAccepted { step } => encode_schema(
                schema::TOTP_STEP_ACCEPTED,
                1,
                &schema::TotpStepAcceptedV1 { step: *step },
            ),
            UserEvent::OidcLinked { issuer, subject } => encode_schema(
                schema::OIDC_LINKED,
                1,
                &schema::OidcLinkedV1 {
                    issuer: issuer.clone(),
                    subject: subject.clone(),
                },
            ),
        }
    }

    fn decode_current(
        event_type: &str,
        event_version: u32,
        data: Value,
    ) -> Result<Self, DecodeError> {
        let malformed =
            |reason: crate::DomainError| DecodeError::malformed(event_type, event_version, reason);
        match (event_type, event_version) {
            (schema::REGISTERED, 1) => {
                let body: schema::RegisteredV1 = decode_schema(event_type, event_version, data)?;
                Ok(UserEvent::Registered {
                    id: body.user_id,
                    organization_id: body.organization_id,
                    email: Email::parse(&body.email).map_err(malformed)?,
                    display_name: body.display_name,
                    password_hash: body.password_hash,
                    role: Role::parse(&body.role).map_err(malformed)?,
                })
            }
            (schema::ROLE_CHANGED, 1) => {
                let body: schema::RoleChangedV1 = decode_schema(event_type, event_version, data)?;
                Ok(UserEvent::RoleChanged {
                    role: Role::parse(&body.role).map_err(malformed)?,
                })
            }
            (schema::DISABLED, 1) => {
                let schema::DisabledV1 {} = decode_schema(event_type, event_version, data)?;
                Ok(UserEvent::Disabled)
            }
            (schema::ENABLED, 1) => {
                let schema::EnabledV1 {} = decode_schema(event_type, event_version, data)?;
                Ok(UserEvent::Enabled)
            }
            (schema::PASSWORD_SET, 1) => {
                let body: schema::PasswordSetV1 = decode_schema(event_type, event_version, data)?;
                Ok(UserEvent::PasswordSet {
                    password_hash: body.password_hash,
                })
            }
            (schema::PROFILE_UPDATED, 1) => {
                let body: schema::ProfileUpdatedV1 =
                    decode_schema(event_type, event_version, data)?;
                Ok(UserEvent::ProfileUpdated {
                    display_name: body.display_name,
                    preferences: body.preferences,
                })
            }
            (schema::TOTP_ENROLLMENT_STARTED, 1) => {
                let body: schema::TotpEnrollmentStartedV1 =
                    decode_schema(event_type, event_version, data)?;
                Ok(UserEvent::TotpEnrollmentStarted {
                    secret_ciphertext: body.secret_ciphertext,
                })
            }
            (schema::TOTP_CONFIRMED, 1) => {
                let body: schema::TotpConfirmedV1 = decode_schema(event_type, event_version, data)?;
                Ok(UserEvent::TotpConfirmed { step: body.step })
            }
            (schema::TOTP_STEP_ACCEPTED, 1) => {
                let body: schema::TotpStepAcceptedV1 =
                    decode_schema(event_type, event_version, data)?;
                Ok(UserEvent::TotpStepAccepted { step: body.step })
            }
            (schema::OIDC_LINKED, 1) => {
                let body: schema::OidcLinkedV1 = decode_schema(event_type, event_version, data)?;
                Ok(UserEvent::OidcLinked {
                    issuer: body.issuer,
                    subject: body.subject,
                })
            }
            _ => Err(unknown(event_type, event_version)),
        }
    }
}
