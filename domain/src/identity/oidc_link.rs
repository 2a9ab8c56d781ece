//! OIDC links: the stream `oidclink-<sha256 of issuer "\n" subject>` holds which user an
//! OpenID Connect identity `(iss, sub)` belongs to. Linking appends with "no stream expected", so
//! one identity can never be linked to two users; OIDC logins find the user through it without a
//! read model. Neither the issuer nor the subject appears in the stream name. Identities are
//! keyed by `(iss, sub)` only, never by e-mail address.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::codec::{DecodeError, EventCodec, StoredPayload, decode_schema, encode_schema, unknown};
use crate::ids::{StreamId, StreamIdError};

pub const CREATED: &str = "OidcLinkCreated";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OidcLinkEvent {
    Linked { user_id: Uuid },
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreatedV1 {
    user_id: Uuid,
}

impl OidcLinkEvent {
    /// The link stream of the identity `(issuer, subject)`.
    pub fn stream_for(issuer: &str, subject: &str) -> Result<StreamId, StreamIdError> {
        let mut hasher = Sha256::new();
        hasher.update(issuer.as_bytes());
        hasher.update(b"\n");
        hasher.update(subject.as_bytes());
        StreamId::new(format!("oidclink-{}", hex::encode(hasher.finalize())))
    }
}

impl EventCodec for OidcLinkEvent {
    fn encode(&self) -> StoredPayload {
        match self {
            OidcLinkEvent::Linked { user_id } => {
                encode_schema(CREATED, 1, &CreatedV1 { user_id: *user_id })
            }
        }
    }

    fn decode_current(
        event_type: &str,
        event_version: u32,
        data: serde_json::Value,
    ) -> Result<Self, DecodeError> {
        match (event_type, event_version) {
            (CREATED, 1) => {
                let body: CreatedV1 = decode_schema(event_type, event_version, data)?;
                Ok(OidcLinkEvent::Linked {
                    user_id: body.user_id,
                })
            }
            _ => Err(unknown(event_type, event_version)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_round_trip() {
        let event = OidcLinkEvent::Linked {
            user_id: Uuid::from_u128(7),
        };
        let payload = event.encode();
        assert_eq!(payload.event_type, "OidcLinkCreated");
        assert_eq!(payload.event_version, 1);
        assert_eq!(OidcLinkEvent::decode(&payload), Ok(event));
        let future = StoredPayload {
            event_version: 2,
            ..payload
        };
        assert!(OidcLinkEvent::decode(&future).is_err());
    }

    #[test]
    fn the_stream_hides_the_identity_and_separates_issuer_from_subject() {
        let stream = OidcLinkEvent::stream_for("https://idp.example", "user-1").unwrap();
        let name = stream.as_str();
        assert!(name.starts_with("oidclink-"));
        assert_eq!(name.len(), "oidclink-".len() + 64);
        assert!(!name.contains("idp") && !name.contains("user"));
        assert_eq!(stream.category(), "oidclink");
        let expected = hex::encode(Sha256::digest(b"https://idp.example\nuser-1"));
        assert_eq!(name, format!("oidclink-{expected}"));
        // Same concatenation, other split: another identity, another stream.
        assert_ne!(
            stream,
            OidcLinkEvent::stream_for("https://idp.exampleu", "ser-1").unwrap()
        );
        assert_ne!(
            stream,
            OidcLinkEvent::stream_for("https://other.example", "user-1").unwrap()
        );
        assert_ne!(
            stream,
            OidcLinkEvent::stream_for("https://idp.example", "user-2").unwrap()
        );
    }
}
