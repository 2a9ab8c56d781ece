//! Given/when/then for every user decision, and the user codec.

use serde_json::json;
use uuid::Uuid;

use super::*;
use crate::aggregate::given::{given, when};
use crate::codec::{EventCodec, StoredPayload};
use crate::error::DomainError;

const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA";
const OTHER_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$bmV3$bmV3aGFzaA";

fn email() -> Email {
    Email::parse("ada@example.com").unwrap()
}

fn registered() -> UserEvent {
    UserEvent::Registered {
        id: Uuid::from_u128(1),
        organization_id: Uuid::from_u128(2),
        email: email(),
        display_name: "Ada Lovelace".into(),
        password_hash: Some(HASH.into()),
        role: Role::Analyst,
    }
}

fn register_command() -> UserCommand {
    UserCommand::Register {
        id: Uuid::from_u128(1),
        organization_id: Uuid::from_u128(2),
        email: email(),
        display_name: "  Ada Lovelace ".into(),
        password_hash: Some(HASH.into()),
        role: Role::Analyst,
    }
}

fn ciphertext() -> Vec<u8> {
    vec![7; 48]
}

fn with_totp(last_step: u64) -> UserState {
    given::<User>(vec![
        registered(),
        UserEvent::TotpEnrollmentStarted {
            secret_ciphertext: ciphertext(),
        },
        UserEvent::TotpConfirmed { step: last_step },
    ])
}

fn field_of(result: Result<Vec<UserEvent>, DomainError>) -> &'static str {
    match result {
        Err(DomainError::InvalidInput { field, .. }) => field,
        other => panic!("expected invalid input, got {other:?}"),
    }
}

#[test]
fn registering_trims_the_display_name() {
    let state = given::<User>(vec![]);
    assert_eq!(
        when::<User>(&state, register_command()),
        Ok(vec![registered()])
    );
}

#[test]
fn an_oidc_only_user_registers_without_a_password() {
    let state = given::<User>(vec![]);
    let command = UserCommand::Register {
        id: Uuid::from_u128(1),
        organization_id: Uuid::from_u128(2),
        email: email(),
        display_name: "Ada".into(),
        password_hash: None,
        role: Role::User,
    };
    let events = when::<User>(&state, command).unwrap();
    let state = given::<User>(events);
    assert!(state.is_registered());
    assert_eq!(state.password_hash, None);
    assert_eq!(state.role, Role::User);
    assert_eq!(state.security_version, 0);
}

#[test]
fn registering_twice_is_refused() {
    let state = given::<User>(vec![registered()]);
    assert_eq!(
        when::<User>(&state, register_command()),
        Err(DomainError::AlreadyExists("user"))
    );
}

#[test]
fn registration_checks_its_inputs() {
    let state = given::<User>(vec![]);
    for bad in ["", "  ", "a\u{1b}b", &"x".repeat(101)] {
        let command = UserCommand::Register {
            id: Uuid::from_u128(1),
            organization_id: Uuid::from_u128(2),
            email: email(),
            display_name: bad.into(),
            password_hash: None,
            role: Role::User,
        };
        assert_eq!(field_of(when::<User>(&state, command)), "displayName");
    }
    for bad in [
        "hunter2",
        "$argon2i$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
        "$2b$12$abcdefghijklmnopqrstuv",
        "$argon2id$v=19$m=19456,t=2,p=1$c2Fs dA$aGFzaA",
        "",
        &format!("$argon2id${}", "a".repeat(600)),
    ] {
        let command = UserCommand::Register {
            id: Uuid::from_u128(1),
            organization_id: Uuid::from_u128(2),
            email: email(),
            display_name: "Ada".into(),
            password_hash: Some(bad.into()),
            role: Role::User,
        };
        assert_eq!(field_of(when::<User>(&state, command)), "passwordHash");
    }
}

#[test]
fn every_command_on_an_unregistered_user_is_not_found() {
    let state = given::<User>(vec![]);
    for command in [
        UserCommand::ChangeRole { role: Role::Admin },
        UserCommand::Disable,
        UserCommand::Enable,
        UserCommand::SetPassword {
            password_hash: HASH.into(),
        },
        UserCommand::UpdateProfile {
            display_name: Some("x".into()),
            preferences: None,
        },
        UserCommand::StartTotpEnrollment {
            secret_ciphertext: ciphertext(),
        },
        UserCommand::ConfirmTotp { step: 1 },
        UserCommand::AcceptTotpStep { step: 1 },
        UserCommand::LinkOidc {
            issuer: "https://id.example.com".into(),
            subject: "1".into(),
        },
    ] {
        assert_eq!(
            when::<User>(&state, command.clone()),
            Err(DomainError::NotFound("user")),
            "{command:?}"
        );
    }
}

#[test]
fn changing_the_role_raises_the_security_version_and_the_same_role_is_a_no_op() {
    let state = given::<User>(vec![registered()]);
    assert_eq!(
        when::<User>(
            &state,
            UserCommand::ChangeRole {
                role: Role::Analyst
            }
        ),
        Ok(vec![])
    );
    let events = when::<User>(&state, UserCommand::ChangeRole { role: Role::Admin }).unwrap();
    assert_eq!(events, vec![UserEvent::RoleChanged { role: Role::Admin }]);
    let after = given::<User>(vec![registered(), events[0].clone()]);
    assert_eq!(after.role, Role::Admin);
    assert_eq!(after.security_version, 1);
}

#[test]
fn disabling_and_enabling_are_idempotent() {
    let active = given::<User>(vec![registered()]);
    assert!(active.may_sign_in());
    assert_eq!(
        when::<User>(&active, UserCommand::Disable),
        Ok(vec![UserEvent::Disabled])
    );
    assert_eq!(when::<User>(&active, UserCommand::Enable), Ok(vec![]));

    let disabled = given::<User>(vec![registered(), UserEvent::Disabled]);
    assert!(disabled.disabled);
    assert!(!disabled.may_sign_in());
    assert_eq!(disabled.security_version, 1);
    assert_eq!(when::<User>(&disabled, UserCommand::Disable), Ok(vec![]));
    assert_eq!(
        when::<User>(&disabled, UserCommand::Enable),
        Ok(vec![UserEvent::Enabled])
    );

    let enabled = given::<User>(vec![registered(), UserEvent::Disabled, UserEvent::Enabled]);
    assert!(enabled.may_sign_in());
    assert_eq!(
        enabled.security_version, 1,
        "enabling does not need to end sessions: there are none left"
    );
}

#[test]
fn setting_a_password_takes_only_an_argon2id_hash() {
    let state = given::<User>(vec![registered()]);
    let events = when::<User>(
        &state,
        UserCommand::SetPassword {
            password_hash: OTHER_HASH.into(),
        },
    )
    .unwrap();
    assert_eq!(
        events,
        vec![UserEvent::PasswordSet {
            password_hash: OTHER_HASH.into()
        }]
    );
    let after = given::<User>(vec![registered(), events[0].clone()]);
    assert_eq!(after.password_hash.as_deref(), Some(OTHER_HASH));
    assert_eq!(after.security_version, 1);
    assert_eq!(
        field_of(when::<User>(
            &state,
            UserCommand::SetPassword {
                password_hash: "correct horse battery staple".into()
            }
        )),
        "passwordHash"
    );
}

#[test]
fn updating_the_profile_records_only_what_changed() {
    let state = given::<User>(vec![registered()]);
    let result = when::<User>(
        &state,
        UserCommand::UpdateProfile {
            display_name: Some(" Ada Lovelace ".into()),
            preferences: Some(json!({"theme": "dark"})),
        },
    );
    let mut preferences = serde_json::Map::new();
    preferences.insert("theme".into(), json!("dark"));
    assert_eq!(
        result,
        Ok(vec![UserEvent::ProfileUpdated {
            display_name: None,
            preferences: Some(preferences.clone()),
        }])
    );
    let after = given::<User>(vec![
        registered(),
        UserEvent::ProfileUpdated {
            display_name: None,
            preferences: Some(preferences),
        },
    ]);
    assert_eq!(after.preferences.get("theme"), Some(&json!("dark")));
    assert_eq!(after.display_name, "Ada Lovelace");
    assert_eq!(after.security_version, 0);
    assert_eq!(
        when::<User>(
            &after,
            UserCommand::UpdateProfile {
                display_name: Some("Ada Lovelace".into()),
                preferences: Some(json!({"theme": "dark"})),
            }
        ),
        Ok(vec![])
    );
    assert_eq!(
        when::<User>(
            &after,
            UserCommand::UpdateProfile {
                display_name: None,
                preferences: None,
            }
        ),
        Ok(vec![])
    );
    assert_eq!(
        when::<User>(
            &after,
            UserCommand::UpdateProfile {
                display_name: Some("Countess".into()),
                preferences: None,
            }
        ),
        Ok(vec![UserEvent::ProfileUpdated {
            display_name: Some("Countess".into()),
            preferences: None,
        }])
    );
}

#[test]
fn profile_updates_check_their_inputs() {
    let state = given::<User>(vec![registered()]);
    let bad_name = UserCommand::UpdateProfile {
        display_name: Some("\u{0}".into()),
        preferences: None,
    };
    assert_eq!(field_of(when::<User>(&state, bad_name)), "displayName");
    let too_big = json!({ "notes": "x".repeat(MAX_PREFERENCES_BYTES) });
    let just_fits = json!({ "n": "x".repeat(MAX_PREFERENCES_BYTES - 8) });
    assert_eq!(
        serde_json::to_vec(&just_fits).unwrap().len(),
        MAX_PREFERENCES_BYTES
    );
    assert!(
        when::<User>(
            &state,
            UserCommand::UpdateProfile {
                display_name: None,
                preferences: Some(just_fits),
            }
        )
        .is_ok()
    );
    for bad in [too_big, json!([1, 2]), json!("dark"), json!(null), json!(3)] {
        let command = UserCommand::UpdateProfile {
            display_name: None,
            preferences: Some(bad),
        };
        assert_eq!(field_of(when::<User>(&state, command)), "preferences");
    }
}

#[test]
fn totp_enrollment_is_confirmed_once_and_moves_the_secret() {
    let state = given::<User>(vec![registered()]);
    assert_eq!(
        when::<User>(&state, UserCommand::ConfirmTotp { step: 5 }),
        Err(DomainError::InvalidState(
            "no totp enrollment pending".into()
        ))
    );
    let started = when::<User>(
        &state,
        UserCommand::StartTotpEnrollment {
            secret_ciphertext: ciphertext(),
        },
    )
    .unwrap();
    assert_eq!(
        started,
        vec![UserEvent::TotpEnrollmentStarted {
            secret_ciphertext: ciphertext()
        }]
    );
    let pending = given::<User>(vec![registered(), started[0].clone()]);
    assert!(!pending.totp.is_enabled());
    assert_eq!(
        when::<User>(&pending, UserCommand::AcceptTotpStep { step: 9 }),
        Err(DomainError::InvalidState("totp not enabled".into())),
        "a pending secret does not count for logins"
    );
    assert_eq!(
        when::<User>(&pending, UserCommand::ConfirmTotp { step: 5 }),
        Ok(vec![UserEvent::TotpConfirmed { step: 5 }])
    );
    let confirmed = with_totp(5);
    assert!(confirmed.totp.is_enabled());
    assert_eq!(confirmed.totp.pending_ciphertext, None);
    assert_eq!(confirmed.totp.confirmed_ciphertext, Some(ciphertext()));
    assert_eq!(confirmed.totp.last_step, Some(5));
    assert_eq!(confirmed.security_version, 1);
    assert_eq!(
        when::<User>(&confirmed, UserCommand::ConfirmTotp { step: 6 }),
        Err(DomainError::InvalidState(
            "no totp enrollment pending".into()
        ))
    );
}

#[test]
fn re_enrolling_keeps_the_confirmed_secret_until_the_new_one_is_confirmed() {
    let new_secret = vec![9; 48];
    let mut history = vec![
        registered(),
        UserEvent::TotpEnrollmentStarted {
            secret_ciphertext: ciphertext(),
        },
        UserEvent::TotpConfirmed { step: 5 },
        UserEvent::TotpEnrollmentStarted {
            secret_ciphertext: new_secret.clone(),
        },
    ];
    let state = given::<User>(history.clone());
    assert_eq!(state.totp.confirmed_ciphertext, Some(ciphertext()));
    assert_eq!(state.totp.pending_ciphertext, Some(new_secret.clone()));
    history.push(UserEvent::TotpConfirmed { step: 7 });
    let state = given::<User>(history);
    assert_eq!(state.totp.confirmed_ciphertext, Some(new_secret));
    assert_eq!(state.totp.pending_ciphertext, None);
    assert_eq!(state.security_version, 2);
}

#[test]
fn totp_ciphertexts_have_sane_sizes() {
    let state = given::<User>(vec![registered()]);
    for bad in [Vec::new(), vec![1; 19], vec![1; 1025]] {
        let command = UserCommand::StartTotpEnrollment {
            secret_ciphertext: bad,
        };
        assert_eq!(field_of(when::<User>(&state, command)), "secretCiphertext");
    }
    for fine in [vec![1; 20], vec![1; 1024]] {
        let command = UserCommand::StartTotpEnrollment {
            secret_ciphertext: fine,
        };
        assert!(when::<User>(&state, command).is_ok());
    }
}

#[test]
fn each_totp_step_is_accepted_once_and_only_forwards() {
    let state = with_totp(100);
    for used in [99, 100] {
        assert_eq!(
            when::<User>(&state, UserCommand::AcceptTotpStep { step: used }),
            Err(DomainError::InvalidState("totp code already used".into()))
        );
    }
    assert_eq!(
        when::<User>(&state, UserCommand::AcceptTotpStep { step: 101 }),
        Ok(vec![UserEvent::TotpStepAccepted { step: 101 }])
    );
    let after = given::<User>(vec![
        registered(),
        UserEvent::TotpEnrollmentStarted {
            secret_ciphertext: ciphertext(),
        },
        UserEvent::TotpConfirmed { step: 100 },
        UserEvent::TotpStepAccepted { step: 101 },
    ]);
    assert_eq!(after.totp.last_step, Some(101));
    assert_eq!(
        after.security_version, 1,
        "a login code does not end sessions"
    );
    assert_eq!(
        when::<User>(&after, UserCommand::AcceptTotpStep { step: 101 }),
        Err(DomainError::InvalidState("totp code already used".into()))
    );
}

#[test]
fn totp_is_refused_when_never_enrolled() {
    let state = given::<User>(vec![registered()]);
    assert_eq!(
        when::<User>(&state, UserCommand::AcceptTotpStep { step: 1 }),
        Err(DomainError::InvalidState("totp not enabled".into()))
    );
}

#[test]
fn oidc_links_are_per_issuer_and_never_switch_subject() {
    let issuer = "https://id.example.com";
    let state = given::<User>(vec![registered()]);
    let link = |subject: &str| UserCommand::LinkOidc {
        issuer: issuer.into(),
        subject: subject.into(),
    };
    assert_eq!(
        when::<User>(&state, link("abc")),
        Ok(vec![UserEvent::OidcLinked {
            issuer: issuer.into(),
            subject: "abc".into()
        }])
    );
    let linked = given::<User>(vec![
        registered(),
        UserEvent::OidcLinked {
            issuer: issuer.into(),
            subject: "abc".into(),
        },
    ]);
    assert_eq!(linked.oidc.get(issuer).map(String::as_str), Some("abc"));
    assert_eq!(when::<User>(&linked, link("abc")), Ok(vec![]));
    assert_eq!(
        when::<User>(&linked, link("xyz")),
        Err(DomainError::InvalidState(
            "already linked to another account of this issuer".into()
        ))
    );
    assert_eq!(
        when::<User>(
            &linked,
            UserCommand::LinkOidc {
                issuer: "https://login.other.example".into(),
                subject: "xyz".into(),
            }
        )
        .map(|events| events.len()),
        Ok(1)
    );
}

#[test]
fn oidc_links_check_their_inputs() {
    let state = given::<User>(vec![registered()]);
    let long_issuer = format!("https://{}", "a".repeat(2048));
    for (issuer, subject, field) in [
        ("", "abc", "issuer"),
        ("https://id.example.com/ x", "abc", "issuer"),
        (long_issuer.as_str(), "abc", "issuer"),
        ("https://id.example.com", "", "subject"),
        ("https://id.example.com", "a\nb", "subject"),
        ("https://id.example.com", "sübject", "subject"),
        ("https://id.example.com", &"s".repeat(256), "subject"),
    ] {
        let command = UserCommand::LinkOidc {
            issuer: issuer.into(),
            subject: subject.into(),
        };
        assert_eq!(field_of(when::<User>(&state, command)), field);
    }
}

#[test]
fn only_session_ending_events_raise_the_security_version() {
    for event in UserEvent::examples() {
        let expected = matches!(
            event,
            UserEvent::RoleChanged { .. }
                | UserEvent::Disabled
                | UserEvent::PasswordSet { .. }
                | UserEvent::TotpConfirmed { .. }
        );
        assert_eq!(event.invalidates_sessions(), expected, "{event:?}");
    }
}

#[test]
fn events_round_trip_through_their_stored_form() {
    for event in UserEvent::examples() {
        assert_eq!(UserEvent::decode(&event.encode()), Ok(event));
    }
}

#[test]
fn the_state_round_trips_through_a_snapshot() {
    let state = given::<User>(UserEvent::examples());
    let bytes = serde_json::to_vec(&state).unwrap();
    let back: UserState = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(back, state);
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.contains("\"role\":\"ADMIN\""), "{text}");
}

#[test]
fn malformed_payloads_are_named_errors() {
    let payload = |event_type: &str, version: u32, data: &str| StoredPayload {
        event_type: event_type.into(),
        event_version: version,
        data: data.as_bytes().to_vec(),
    };
    assert!(matches!(
        UserEvent::decode(&payload("UserExploded", 1, "{}")),
        Err(crate::DecodeError::UnknownEventType { .. })
    ));
    assert!(matches!(
        UserEvent::decode(&payload("UserDisabled", 2, "{}")),
        Err(crate::DecodeError::UnknownEventType { .. })
    ));
    let registered = |email: &str, role: &str| {
        format!(
            r#"{{"user_id":"00000000-0000-0000-0000-000000000001","organization_id":"00000000-0000-0000-0000-000000000002","email":"{email}","display_name":"A","password_hash":null,"role":"{role}"}}"#
        )
    };
    assert!(
        UserEvent::decode(&payload("UserRegistered", 1, &registered("a@b.co", "USER"))).is_ok()
    );
    for (event_type, data) in [
        ("UserRegistered", registered("not-an-email", "USER")),
        ("UserRegistered", registered("a@b.co", "ROOT")),
        ("UserRoleChanged", r#"{"role":"admin"}"#.to_owned()),
        ("UserDisabled", r#"{"why":"x"}"#.to_owned()),
        (
            "UserTotpEnrollmentStarted",
            r#"{"secret_ciphertext":"xyz"}"#.to_owned(),
        ),
        ("UserTotpConfirmed", r#"{"step":-1}"#.to_owned()),
        (
            "UserProfileUpdated",
            r#"{"display_name":null,"preferences":[1]}"#.to_owned(),
        ),
        ("UserOidcLinked", r#"{"issuer":"x"}"#.to_owned()),
    ] {
        assert!(
            matches!(
                UserEvent::decode(&payload(event_type, 1, &data)),
                Err(crate::DecodeError::Malformed { .. })
            ),
            "{event_type} {data}"
        );
    }
}
