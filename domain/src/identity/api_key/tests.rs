//! Given/when/then for every API key decision, and the API key codec.

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

fn create(role: Role, creator_role: Role) -> ApiKeyCommand {
    ApiKeyCommand::Create {
        id: Uuid::from_u128(30),
        organization_id: Uuid::from_u128(2),
        owner_user_id: Uuid::from_u128(1),
        name: " CI pipeline ".into(),
        role,
        prefix: "mk_ab12cd34".into(),
        key_hash: [0x5a; 32],
        expires_at: Some(at(3600)),
        creator_role,
    }
}

fn created(expires_at: Option<DateTime<Utc>>) -> ApiKeyEvent {
    ApiKeyEvent::Created {
        id: Uuid::from_u128(30),
        organization_id: Uuid::from_u128(2),
        owner_user_id: Uuid::from_u128(1),
        name: "CI pipeline".into(),
        role: Role::User,
        prefix: "mk_ab12cd34".into(),
        key_hash: [0x5a; 32],
        expires_at,
    }
}

#[test]
fn creating_a_key_keeps_only_its_digest() {
    let state = given::<ApiKey>(vec![]);
    assert_eq!(
        when::<ApiKey>(&state, create(Role::User, Role::Analyst)),
        Ok(vec![created(Some(at(3600)))])
    );
    let state = given::<ApiKey>(vec![created(Some(at(3600)))]);
    assert!(state.exists());
    assert!(state.matches(&[0x5a; 32]));
    assert!(!state.matches(&[0x5b; 32]));
    assert_eq!(state.role, Role::User);
}

#[test]
fn a_key_never_gets_a_role_above_its_creator() {
    let state = given::<ApiKey>(vec![]);
    for creator in Role::ALL {
        for role in Role::ALL {
            let result = when::<ApiKey>(&state, create(role, creator));
            if role.rank() <= creator.rank() {
                assert!(result.is_ok(), "{creator:?} creating {role:?}");
            } else {
                assert!(
                    matches!(result, Err(DomainError::Forbidden(_))),
                    "{creator:?} creating {role:?} gave {result:?}"
                );
            }
        }
    }
}

#[test]
fn creating_twice_is_refused() {
    let state = given::<ApiKey>(vec![created(None)]);
    assert_eq!(
        when::<ApiKey>(&state, create(Role::User, Role::Admin)),
        Err(DomainError::AlreadyExists("api key"))
    );
}

#[test]
fn creation_checks_name_prefix_and_expiry() {
    let state = given::<ApiKey>(vec![]);
    let with = |change: &dyn Fn(&mut ApiKeyCommand)| {
        let mut command = create(Role::User, Role::User);
        change(&mut command);
        when::<ApiKey>(&state, command)
    };
    let field = |result: Result<Vec<ApiKeyEvent>, DomainError>| match result {
        Err(DomainError::InvalidInput { field, .. }) => field,
        other => panic!("expected invalid input, got {other:?}"),
    };
    assert_eq!(
        field(with(&|c| {
            if let ApiKeyCommand::Create { name, .. } = c {
                *name = "  ".into();
            }
        })),
        "name"
    );
    for bad in [
        "",
        "ab12cd34",
        "mk_",
        "mk_short",
        "mk_ab12-cd34",
        "MK_ab12cd34",
        &format!("mk_{}", "a".repeat(33)),
    ] {
        assert_eq!(
            field(with(&|c| {
                if let ApiKeyCommand::Create { prefix, .. } = c {
                    *prefix = bad.into();
                }
            })),
            "prefix",
            "{bad:?}"
        );
    }
    for past in [EPOCH, at(-1)] {
        assert_eq!(
            field(with(&|c| {
                if let ApiKeyCommand::Create { expires_at, .. } = c {
                    *expires_at = Some(past);
                }
            })),
            "expiresAt"
        );
    }
    assert!(
        with(&|c| {
            if let ApiKeyCommand::Create { expires_at, .. } = c {
                *expires_at = None;
            }
        })
        .is_ok()
    );
}

#[test]
fn commands_on_a_missing_key_are_not_found() {
    let state = given::<ApiKey>(vec![]);
    for command in [
        ApiKeyCommand::Revoke,
        ApiKeyCommand::RecordUse { at: at(1) },
    ] {
        assert_eq!(
            when::<ApiKey>(&state, command),
            Err(DomainError::NotFound("api key"))
        );
    }
    assert!(!state.is_usable(EPOCH));
    assert!(!state.matches(&[0; 32]), "an absent key matches nothing");
}

#[test]
fn revoking_is_idempotent_and_final() {
    let state = given::<ApiKey>(vec![created(None)]);
    assert!(state.is_usable(at(1_000_000)));
    assert_eq!(
        when::<ApiKey>(&state, ApiKeyCommand::Revoke),
        Ok(vec![ApiKeyEvent::Revoked])
    );
    let revoked = given::<ApiKey>(vec![created(None), ApiKeyEvent::Revoked]);
    assert!(!revoked.is_usable(at(1)));
    assert_eq!(when::<ApiKey>(&revoked, ApiKeyCommand::Revoke), Ok(vec![]));
    assert_eq!(
        when::<ApiKey>(&revoked, ApiKeyCommand::RecordUse { at: at(1) }),
        Err(DomainError::InvalidState("api key revoked".into()))
    );
}

#[test]
fn keys_expire_at_their_expiry() {
    let state = given::<ApiKey>(vec![created(Some(at(3600)))]);
    assert!(state.is_usable(at(3599)));
    assert!(!state.is_usable(at(3600)));
    assert_eq!(
        when::<ApiKey>(&state, ApiKeyCommand::RecordUse { at: at(3600) }),
        Err(DomainError::InvalidState("api key expired".into()))
    );
}

#[test]
fn use_is_recorded_at_most_once_a_minute() {
    let fresh = given::<ApiKey>(vec![created(None)]);
    assert_eq!(
        when::<ApiKey>(&fresh, ApiKeyCommand::RecordUse { at: at(100) }),
        Ok(vec![ApiKeyEvent::Used { at: at(100) }])
    );
    let used = given::<ApiKey>(vec![created(None), ApiKeyEvent::Used { at: at(100) }]);
    assert_eq!(used.last_used_at, Some(at(100)));
    for soon in [at(90), at(100), at(130), at(160)] {
        assert_eq!(
            when::<ApiKey>(&used, ApiKeyCommand::RecordUse { at: soon }),
            Ok(vec![]),
            "{soon}"
        );
    }
    let later = at(160) + TimeDelta::milliseconds(1);
    assert_eq!(
        when::<ApiKey>(&used, ApiKeyCommand::RecordUse { at: later }),
        Ok(vec![ApiKeyEvent::Used { at: later }])
    );
}

#[test]
fn events_round_trip_through_their_stored_form() {
    for event in ApiKeyEvent::examples() {
        assert_eq!(ApiKeyEvent::decode(&event.encode()), Ok(event));
    }
    let state = given::<ApiKey>(ApiKeyEvent::examples());
    let snapshot: ApiKeyState =
        serde_json::from_slice(&serde_json::to_vec(&state).unwrap()).unwrap();
    assert_eq!(snapshot, state);
}

#[test]
fn the_secret_digest_is_stored_as_hex() {
    let payload = created(None).encode();
    let text = String::from_utf8(payload.data).unwrap();
    assert!(
        text.contains(&format!("\"key_hash\":\"{}\"", "5a".repeat(32))),
        "{text}"
    );
}

#[test]
fn unknown_and_malformed_payloads_are_named_errors() {
    let payload = |event_type: &str, version: u32, data: String| StoredPayload {
        event_type: event_type.into(),
        event_version: version,
        data: data.into_bytes(),
    };
    assert!(matches!(
        ApiKeyEvent::decode(&payload("ApiKeyLeaked", 1, "{}".into())),
        Err(crate::DecodeError::UnknownEventType { .. })
    ));
    let created = |role: &str, hash: &str| {
        format!(
            r#"{{"api_key_id":"00000000-0000-0000-0000-000000000001","organization_id":"00000000-0000-0000-0000-000000000002","owner_user_id":"00000000-0000-0000-0000-000000000003","name":"k","role":"{role}","prefix":"mk_ab12cd34","key_hash":"{hash}","expires_at":null}}"#
        )
    };
    assert!(
        ApiKeyEvent::decode(&payload(
            "ApiKeyCreated",
            1,
            created("USER", &"ab".repeat(32))
        ))
        .is_ok()
    );
    for (event_type, data) in [
        ("ApiKeyCreated", created("SUPERUSER", &"ab".repeat(32))),
        ("ApiKeyCreated", created("USER", &"ab".repeat(31))),
        ("ApiKeyCreated", created("USER", &"zz".repeat(32))),
        ("ApiKeyUsed", r#"{"at":"yesterday"}"#.to_owned()),
        ("ApiKeyRevoked", r#"{"reason":"x"}"#.to_owned()),
    ] {
        assert!(
            matches!(
                ApiKeyEvent::decode(&payload(event_type, 1, data.clone())),
                Err(crate::DecodeError::Malformed { .. })
            ),
            "{data}"
        );
    }
}
