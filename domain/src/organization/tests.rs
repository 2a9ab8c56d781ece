use uuid::Uuid;

use super::*;
use crate::aggregate::given::{given, when};
use crate::codec::{EventCodec, StoredPayload};

fn registered() -> OrganizationEvent {
    OrganizationEvent::Registered {
        id: Uuid::nil(),
        name: "Acme Corp".into(),
        slug: "acme-corp".into(),
    }
}

#[test]
fn registering_a_new_organization_derives_its_slug() {
    let state = given::<Organization>(vec![]);
    let events = when::<Organization>(
        &state,
        OrganizationCommand::Register {
            id: Uuid::nil(),
            name: "  Acme Corp ".into(),
        },
    );
    assert_eq!(events, Ok(vec![registered()]));
}

#[test]
fn registering_twice_is_refused() {
    let state = given::<Organization>(vec![registered()]);
    let result = when::<Organization>(
        &state,
        OrganizationCommand::Register {
            id: Uuid::nil(),
            name: "Other".into(),
        },
    );
    assert_eq!(result, Err(DomainError::AlreadyExists("organization")));
}

#[test]
fn invalid_names_name_the_field() {
    let state = given::<Organization>(vec![registered()]);
    for bad in ["", "   ", "a\u{0}b", &"x".repeat(101)] {
        let result = when::<Organization>(&state, OrganizationCommand::Rename { name: bad.into() });
        match result {
            Err(DomainError::InvalidInput { field, .. }) => assert_eq!(field, "name"),
            other => panic!("{bad:?} gave {other:?}"),
        }
    }
}

#[test]
fn renaming_to_the_same_name_emits_nothing() {
    let state = given::<Organization>(vec![registered()]);
    let result = when::<Organization>(
        &state,
        OrganizationCommand::Rename {
            name: "Acme Corp".into(),
        },
    );
    assert_eq!(result, Ok(vec![]));
    let renamed = when::<Organization>(
        &state,
        OrganizationCommand::Rename {
            name: "Acme".into(),
        },
    );
    assert_eq!(
        renamed,
        Ok(vec![OrganizationEvent::Renamed {
            name: "Acme".into()
        }])
    );
}

#[test]
fn renaming_an_unknown_organization_is_not_found() {
    let state = given::<Organization>(vec![]);
    let result = when::<Organization>(&state, OrganizationCommand::Rename { name: "x".into() });
    assert_eq!(result, Err(DomainError::NotFound("organization")));
}

#[test]
fn events_round_trip_through_their_stored_form() {
    for event in [
        registered(),
        OrganizationEvent::Renamed {
            name: "Ünïcode Org".into(),
        },
    ] {
        assert_eq!(OrganizationEvent::decode(&event.encode()), Ok(event));
    }
}

#[test]
fn a_version_1_registration_is_upcast_on_read() {
    let stored = StoredPayload {
        event_type: "OrganizationRegistered".into(),
        event_version: 1,
        data: br#"{"organization_id":"00000000-0000-0000-0000-000000000000","name":"Acme Corp"}"#
            .to_vec(),
    };
    assert_eq!(OrganizationEvent::decode(&stored), Ok(registered()));
}

#[test]
fn unknown_and_malformed_payloads_are_named_errors() {
    let unknown = StoredPayload {
        event_type: "OrganizationExploded".into(),
        event_version: 1,
        data: b"{}".to_vec(),
    };
    assert!(matches!(
        OrganizationEvent::decode(&unknown),
        Err(crate::DecodeError::UnknownEventType { .. })
    ));
    let future = StoredPayload {
        event_type: "OrganizationRenamed".into(),
        event_version: 9,
        data: b"{}".to_vec(),
    };
    assert!(matches!(
        OrganizationEvent::decode(&future),
        Err(crate::DecodeError::UnknownEventType { .. })
    ));
    for data in [
        &b"not json"[..],
        b"{\"name\":5}",
        b"{\"name\":\"x\",\"extra\":1}",
        b"\xff\xfe",
    ] {
        let malformed = StoredPayload {
            event_type: "OrganizationRenamed".into(),
            event_version: 1,
            data: data.to_vec(),
        };
        assert!(matches!(
            OrganizationEvent::decode(&malformed),
            Err(crate::DecodeError::Malformed { .. })
        ));
    }
}
