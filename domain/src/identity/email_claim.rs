//! E-mail claims: the stream `emailclaim-<sha256 of the normalised address>` holds which user
//! owns an address. Claiming appends with "no stream expected", so two registrations of one
//! address cannot both succeed; logins find the user through it without a read model.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::codec::{DecodeError, EventCodec, StoredPayload, decode_schema, encode_schema, unknown};
use crate::ids::{StreamId, StreamIdError};

use super::Email;

pub const CLAIMED: &str = "EmailClaimed";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailClaimEvent {
    Claimed { user_id: Uuid },
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClaimedV1 {
    user_id: Uuid,
}

impl EmailClaimEvent {
    /// The claim stream of an address; the address itself never appears in the stream name.
    pub fn stream_for(email: &Email) -> Result<StreamId, StreamIdError> {
        let digest = Sha256::digest(email.as_str().as_bytes());
        StreamId::new(format!("emailclaim-{}", hex::encode(digest)))
    }
}

impl EventCodec for EmailClaimEvent {
    fn encode(&self) -> StoredPayload {
        match self {
            EmailClaimEvent::Claimed { user_id } => {
                encode_schema(CLAIMED, 1, &ClaimedV1 { user_id: *user_id })
            }
        }
    }

    fn decode_current(
        event_type: &str,
        event_version: u32,
        data: serde_json::Value,
    ) -> Result<Self, DecodeError> {
        match (event_type, event_version) {
            (CLAIMED, 1) => {
                let body: ClaimedV1 = decode_schema(event_type, event_version, data)?;
                Ok(EmailClaimEvent::Claimed {
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
    fn claims_round_trip_and_hide_the_address() {
        let event = EmailClaimEvent::Claimed {
            user_id: Uuid::from_u128(1),
        };
        assert_eq!(EmailClaimEvent::decode(&event.encode()), Ok(event));
        let email = Email::parse("Alice@Example.com").unwrap();
        let stream = EmailClaimEvent::stream_for(&email).unwrap();
        assert!(!stream.as_str().contains("alice"));
        assert_eq!(
            stream,
            EmailClaimEvent::stream_for(&Email::parse("alice@example.com").unwrap()).unwrap()
        );
    }
}
