//! Security events: their stream, their codec, and that nothing secret can be written.

use std::collections::BTreeSet;

use uuid::Uuid;

use super::*;
use crate::codec::{EventCodec, StoredPayload};
use crate::policy::{self, Principal};

#[test]
fn each_organization_has_its_own_audit_stream() {
    let organization = Uuid::from_u128(2);
    let stream = SecurityEvent::stream_for(Some(organization)).unwrap();
    assert_eq!(
        stream.as_str(),
        "audit-00000000-0000-0000-0000-000000000002"
    );
    assert_eq!(stream.category(), "audit");
    let anonymous = SecurityEvent::stream_for(None).unwrap();
    assert_eq!(anonymous.as_str(), "audit-anonymous");
    assert_eq!(anonymous.category(), "audit");
}

#[test]
fn events_round_trip_through_their_stored_form() {
    for event in SecurityEvent::examples() {
        let payload = event.encode();
        assert!(
            payload.event_type.starts_with("Security"),
            "{}",
            payload.event_type
        );
        assert_eq!(SecurityEvent::decode(&payload), Ok(event));
    }
}

#[test]
fn every_resource_kind_round_trips_in_a_denial() {
    let organization_id = Uuid::from_u128(2);
    let id = Uuid::from_u128(9);
    for resource in [
        policy::Resource::Organization(organization_id),
        policy::Resource::User {
            organization_id,
            user_id: id,
        },
        policy::Resource::ApiKey {
            organization_id,
            owner_user_id: id,
        },
        policy::Resource::Team {
            organization_id,
            team_id: id,
        },
        policy::Resource::Project {
            organization_id,
            team_id: id,
        },
        policy::Resource::Scan {
            organization_id,
            team_id: id,
        },
        policy::Resource::Report {
            organization_id,
            team_id: id,
        },
    ] {
        for action in Action::ALL {
            let event = SecurityEvent::AuthorizationDenied {
                actor: "user:x".into(),
                action: *action,
                resource,
                reason: DenyReason::RoleNotPermitted,
                ip: None,
            };
            assert_eq!(SecurityEvent::decode(&event.encode()), Ok(event));
        }
    }
    for reason in DenyReason::ALL {
        assert_eq!(DenyReason::parse(reason.as_str()), Some(reason));
    }
}

#[test]
fn a_policy_refusal_becomes_a_security_event() {
    let principal = Principal {
        user_id: Uuid::from_u128(1),
        organization_id: Uuid::from_u128(2),
        role: crate::identity::Role::User,
        teams: BTreeSet::new(),
        via_api_key: false,
    };
    let resource = policy::Resource::Organization(Uuid::from_u128(2));
    let denied = policy::authorize(&principal, Action::ReadAudit, &resource).unwrap_err();
    let event = SecurityEvent::denied("user:1", &denied, None);
    assert_eq!(
        event,
        SecurityEvent::AuthorizationDenied {
            actor: "user:1".into(),
            action: Action::ReadAudit,
            resource,
            reason: DenyReason::RoleNotPermitted,
            ip: None,
        }
    );
}

#[test]
fn no_stored_security_event_has_room_for_a_secret() {
    let forbidden = [
        "email", "password", "code", "totp", "token", "secret", "hash",
    ];
    for event in SecurityEvent::examples() {
        let payload = event.encode();
        let value: serde_json::Value = serde_json::from_slice(&payload.data).unwrap();
        let keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
        for key in keys {
            assert!(
                !forbidden.iter().any(|word| key.contains(word)),
                "{} has a field {key}",
                payload.event_type
            );
        }
    }
}

#[test]
fn text_forms_round_trip() {
    for method in LoginMethod::ALL {
        assert_eq!(LoginMethod::parse(method.as_str()), Some(method));
    }
    for failure in LoginFailure::ALL {
        assert_eq!(LoginFailure::parse(failure.as_str()), Some(failure));
    }
    assert_eq!(LoginMethod::ApiKey.as_str(), "api_key");
    assert_eq!(LoginFailure::MfaRequired.as_str(), "mfa_required");
}

#[test]
fn unknown_and_malformed_payloads_are_named_errors() {
    let payload = |event_type: &str, data: &str| StoredPayload {
        event_type: event_type.into(),
        event_version: 1,
        data: data.as_bytes().to_vec(),
    };
    assert!(matches!(
        SecurityEvent::decode(&payload("SecurityPanic", "{}")),
        Err(crate::DecodeError::UnknownEventType { .. })
    ));
    let user = "00000000-0000-0000-0000-000000000001";
    let denied = |kind: &str, owner: &str, action: &str, reason: &str| {
        format!(
            r#"{{"actor":"a","action":"{action}","resource":{{"kind":"{kind}","organization_id":"{user}","owner_id":{owner}}},"reason":"{reason}","ip":null}}"#
        )
    };
    let owner = format!("\"{user}\"");
    assert!(
        SecurityEvent::decode(&payload(
            "SecurityAuthorizationDenied",
            &denied("team", &owner, "read_teams", "outside_own_scope")
        ))
        .is_ok()
    );
    for (event_type, data) in [
        (
            "SecurityLoginSucceeded",
            format!(r#"{{"user_id":"{user}","ip":null,"method":"magic","mfa":false}}"#),
        ),
        (
            "SecurityLoginFailed",
            format!(
                r#"{{"user_id":"{user}","ip":null,"reason":"bad_credentials","email":"a@b.co"}}"#
            ),
        ),
        (
            "SecurityLoginFailed",
            r#"{"user_id":null,"ip":null,"reason":"wrong"}"#.to_owned(),
        ),
        (
            "SecurityMfaChallengeFailed",
            format!(r#"{{"user_id":"{user}","ip":"localhost"}}"#),
        ),
        (
            "SecurityAuthorizationDenied",
            denied("galaxy", &owner, "read_teams", "outside_own_scope"),
        ),
        (
            "SecurityAuthorizationDenied",
            denied("team", "null", "read_teams", "outside_own_scope"),
        ),
        (
            "SecurityAuthorizationDenied",
            denied("organization", &owner, "read_audit", "role_not_permitted"),
        ),
        (
            "SecurityAuthorizationDenied",
            denied("team", &owner, "fly", "outside_own_scope"),
        ),
        (
            "SecurityAuthorizationDenied",
            denied("team", &owner, "read_teams", "because"),
        ),
    ] {
        assert!(
            matches!(
                SecurityEvent::decode(&payload(event_type, &data)),
                Err(crate::DecodeError::Malformed { .. })
            ),
            "{data}"
        );
    }
}
