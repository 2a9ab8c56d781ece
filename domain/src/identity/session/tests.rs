//! Given/when/then for every session decision, rotation outcomes, and the session codec.

use std::net::IpAddr;

use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use super::*;
use crate::aggregate::given::{given, when};
use crate::codec::{EventCodec, StoredPayload};
use crate::error::DomainError;

/// `given`/`when` decide at the Unix epoch.
const EPOCH: DateTime<Utc> = DateTime::<Utc>::UNIX_EPOCH;

fn at(seconds: i64) -> DateTime<Utc> {
    EPOCH + TimeDelta::seconds(seconds)
}

fn token(n: u8) -> Sha256Digest {
    [n; 32]
}

fn expiry() -> DateTime<Utc> {
    EPOCH + MAX_LIFETIME
}

fn started() -> SessionEvent {
    SessionEvent::Started {
        id: Uuid::from_u128(40),
        user_id: Uuid::from_u128(1),
        organization_id: Uuid::from_u128(2),
        refresh_hash: token(1),
        expires_at: expiry(),
        ip: Some(IpAddr::from([203, 0, 113, 7])),
        user_security_version: 4,
    }
}

fn start(expires_at: DateTime<Utc>) -> SessionCommand {
    SessionCommand::Start {
        id: Uuid::from_u128(40),
        user_id: Uuid::from_u128(1),
        organization_id: Uuid::from_u128(2),
        refresh_hash: token(1),
        expires_at,
        ip: Some(IpAddr::from([203, 0, 113, 7])),
        user_security_version: 4,
    }
}

fn rotate(presented: u8, new: u8, now: DateTime<Utc>) -> SessionCommand {
    SessionCommand::Rotate {
        presented_hash: token(presented),
        new_hash: token(new),
        now,
    }
}

/// A session whose tokens 1..=n were spent, in order; token n+1 is current.
fn rotated(n: u8) -> Vec<SessionEvent> {
    let mut history = vec![started()];
    history.extend((2..=n + 1).map(|next| SessionEvent::Rotated {
        refresh_hash: token(next),
    }));
    history
}

#[test]
fn starting_a_session_records_its_first_token() {
    let state = given::<Session>(vec![]);
    assert_eq!(
        when::<Session>(&state, start(expiry())),
        Ok(vec![started()])
    );
    let state = given::<Session>(vec![started()]);
    assert!(state.is_active(EPOCH));
    assert!(state.holds(&token(1)));
    assert_eq!(state.user_security_version, 4);
}

#[test]
fn starting_twice_is_refused() {
    let state = given::<Session>(vec![started()]);
    assert_eq!(
        when::<Session>(&state, start(expiry())),
        Err(DomainError::AlreadyExists("session"))
    );
}

#[test]
fn the_lifetime_is_in_the_future_and_at_most_seven_days() {
    let state = given::<Session>(vec![]);
    for bad in [EPOCH, at(-5), expiry() + TimeDelta::seconds(1)] {
        assert!(
            matches!(
                when::<Session>(&state, start(bad)),
                Err(DomainError::InvalidInput {
                    field: "expiresAt",
                    ..
                })
            ),
            "{bad}"
        );
    }
    assert!(when::<Session>(&state, start(at(1))).is_ok());
}

#[test]
fn commands_on_a_missing_session_are_not_found() {
    let state = given::<Session>(vec![]);
    for command in [
        rotate(1, 2, at(1)),
        SessionCommand::Revoke {
            reason: RevocationReason::Logout,
        },
    ] {
        assert_eq!(
            when::<Session>(&state, command),
            Err(DomainError::NotFound("session"))
        );
    }
    assert!(!state.is_active(EPOCH));
    assert!(!state.holds(&[0; 32]), "an absent session holds nothing");
}

#[test]
fn presenting_the_current_token_rotates_it() {
    let state = given::<Session>(vec![started()]);
    let events = when::<Session>(&state, rotate(1, 2, at(60))).unwrap();
    assert_eq!(
        events,
        vec![SessionEvent::Rotated {
            refresh_hash: token(2)
        }]
    );
    assert_eq!(RotationOutcome::of(&events), RotationOutcome::Rotated);
    let after = given::<Session>(rotated(1));
    assert!(after.holds(&token(2)));
    assert!(!after.holds(&token(1)));
    assert_eq!(
        after.spent_hashes.iter().copied().collect::<Vec<_>>(),
        vec![token(1)]
    );
    assert_eq!(after.rotations, 1);
    assert_eq!(
        after.expires_at,
        expiry(),
        "rotation never extends the family"
    );
}

#[test]
fn presenting_a_spent_token_revokes_the_family() {
    let state = given::<Session>(rotated(3));
    for spent in 1..=3 {
        let events = when::<Session>(&state, rotate(spent, 9, at(60))).unwrap();
        assert_eq!(
            events,
            vec![
                SessionEvent::ReuseDetected {
                    presented_hash: token(spent)
                },
                SessionEvent::Revoked {
                    reason: RevocationReason::Reuse
                },
            ]
        );
        assert_eq!(RotationOutcome::of(&events), RotationOutcome::Rejected);
    }
    let mut history = rotated(3);
    history.extend(when::<Session>(&state, rotate(2, 9, at(60))).unwrap());
    let revoked = given::<Session>(history);
    assert_eq!(revoked.revoked, Some(RevocationReason::Reuse));
    assert!(!revoked.is_active(at(60)));
    assert!(
        !revoked.holds(&token(4)),
        "the legitimate holder is cut off too"
    );
    assert!(!revoked.holds(&token(9)));
    assert_eq!(
        when::<Session>(&revoked, rotate(4, 10, at(61))),
        Err(DomainError::InvalidState("session revoked".into()))
    );
}

#[test]
fn two_refreshes_with_one_token_let_at_most_one_win() {
    let state = given::<Session>(vec![started()]);
    let first = when::<Session>(&state, rotate(1, 2, at(60))).unwrap();
    // The second request is re-decided on the state the first one produced.
    let mut history = vec![started()];
    history.extend(first.clone());
    let after_first = given::<Session>(history);
    let second = when::<Session>(&after_first, rotate(1, 3, at(60))).unwrap();
    assert_eq!(RotationOutcome::of(&first), RotationOutcome::Rotated);
    assert_eq!(RotationOutcome::of(&second), RotationOutcome::Rejected);
}

#[test]
fn an_unknown_token_is_forbidden_and_changes_nothing() {
    let state = given::<Session>(rotated(2));
    assert_eq!(
        when::<Session>(&state, rotate(77, 78, at(60))),
        Err(DomainError::Forbidden("invalid refresh token".into()))
    );
}

#[test]
fn an_expired_session_refuses_every_token() {
    let state = given::<Session>(rotated(2));
    for presented in [1, 3, 77] {
        assert_eq!(
            when::<Session>(&state, rotate(presented, 9, expiry())),
            Err(DomainError::InvalidState("session expired".into()))
        );
    }
    assert!(state.is_active(expiry() - TimeDelta::seconds(1)));
    assert!(!state.is_active(expiry()));
}

#[test]
fn the_new_token_must_be_fresh() {
    let state = given::<Session>(rotated(2));
    for stale in [1, 2, 3] {
        assert!(matches!(
            when::<Session>(&state, rotate(3, stale, at(60))),
            Err(DomainError::InvalidInput {
                field: "newHash",
                ..
            })
        ));
    }
}

#[test]
fn revoking_is_idempotent_and_stops_rotation() {
    let state = given::<Session>(vec![started()]);
    assert_eq!(
        when::<Session>(
            &state,
            SessionCommand::Revoke {
                reason: RevocationReason::Logout
            }
        ),
        Ok(vec![SessionEvent::Revoked {
            reason: RevocationReason::Logout
        }])
    );
    let revoked = given::<Session>(vec![
        started(),
        SessionEvent::Revoked {
            reason: RevocationReason::SecurityVersionChanged,
        },
    ]);
    assert!(revoked.is_revoked());
    assert_eq!(
        when::<Session>(
            &revoked,
            SessionCommand::Revoke {
                reason: RevocationReason::Logout
            }
        ),
        Ok(vec![])
    );
    assert_eq!(
        when::<Session>(&revoked, rotate(1, 2, at(1))),
        Err(DomainError::InvalidState("session revoked".into()))
    );
}

#[test]
fn only_the_last_thousand_spent_tokens_are_kept() {
    let mut state = given::<Session>(vec![started()]);
    for n in 0..(MAX_SPENT_HASHES as u32 + 5) {
        let mut next = [0u8; 32];
        next[..4].copy_from_slice(&(n + 2).to_be_bytes());
        next[31] = 0xff;
        state = Session::evolve(state, &SessionEvent::Rotated { refresh_hash: next });
    }
    assert_eq!(state.spent_hashes.len(), MAX_SPENT_HASHES);
    assert_eq!(state.rotations, MAX_SPENT_HASHES as u64 + 5);
    assert!(!state.has_spent(&token(1)), "the oldest fell out");
    let newest_spent = *state.spent_hashes.back().unwrap();
    assert!(state.has_spent(&newest_spent));
}

#[test]
fn outcomes_are_rejections_unless_a_clean_rotation() {
    assert_eq!(RotationOutcome::of(&[]), RotationOutcome::Rejected);
    assert_eq!(
        RotationOutcome::of(&[SessionEvent::Revoked {
            reason: RevocationReason::Logout
        }]),
        RotationOutcome::Rejected
    );
}

#[test]
fn events_round_trip_through_their_stored_form() {
    for event in SessionEvent::examples() {
        assert_eq!(SessionEvent::decode(&event.encode()), Ok(event));
    }
    for reason in RevocationReason::ALL {
        assert_eq!(RevocationReason::parse(reason.as_str()), Some(reason));
    }
    let mut history = rotated(3);
    history.push(SessionEvent::Revoked {
        reason: RevocationReason::Administrative,
    });
    let state = given::<Session>(history);
    let snapshot: SessionState =
        serde_json::from_slice(&serde_json::to_vec(&state).unwrap()).unwrap();
    assert_eq!(snapshot, state);
}

#[test]
fn unknown_and_malformed_payloads_are_named_errors() {
    let payload = |event_type: &str, version: u32, data: &str| StoredPayload {
        event_type: event_type.into(),
        event_version: version,
        data: data.as_bytes().to_vec(),
    };
    assert!(matches!(
        SessionEvent::decode(&payload("SessionHijacked", 1, "{}")),
        Err(crate::DecodeError::UnknownEventType { .. })
    ));
    let short = format!(r#"{{"refresh_hash":"{}"}}"#, "ab".repeat(16));
    for (event_type, data) in [
        ("SessionRevoked", r#"{"reason":"bored"}"#),
        ("SessionRotated", short.as_str()),
        ("SessionReuseDetected", r#"{"presented_hash":null}"#),
        (
            "SessionStarted",
            r#"{"session_id":"00000000-0000-0000-0000-000000000001","user_id":"00000000-0000-0000-0000-000000000001","organization_id":"00000000-0000-0000-0000-000000000001","refresh_hash":"00","expires_at":"2025-01-01T00:00:00Z","ip":"999.1.1.1","user_security_version":0}"#,
        ),
    ] {
        assert!(
            matches!(
                SessionEvent::decode(&payload(event_type, 1, data)),
                Err(crate::DecodeError::Malformed { .. })
            ),
            "{data}"
        );
    }
}
