//! Given/when/then for every team decision, and the team codec.

use uuid::Uuid;

use super::*;
use crate::aggregate::given::{given, when};
use crate::codec::{EventCodec, StoredPayload};
use crate::error::DomainError;

const ALICE: Uuid = Uuid::from_u128(1);
const BOB: Uuid = Uuid::from_u128(3);

fn created() -> TeamEvent {
    TeamEvent::Created {
        id: Uuid::from_u128(10),
        organization_id: Uuid::from_u128(2),
        name: "Red team".into(),
    }
}

#[test]
fn creating_a_team_trims_its_name() {
    let state = given::<Team>(vec![]);
    let result = when::<Team>(
        &state,
        TeamCommand::Create {
            id: Uuid::from_u128(10),
            organization_id: Uuid::from_u128(2),
            name: " Red team\t".into(),
        },
    );
    assert_eq!(result, Ok(vec![created()]));
    let state = given::<Team>(vec![created()]);
    assert!(state.exists());
    assert_eq!(state.organization_id, Uuid::from_u128(2));
    assert!(state.members.is_empty());
}

#[test]
fn creating_twice_is_refused() {
    let state = given::<Team>(vec![created()]);
    let result = when::<Team>(
        &state,
        TeamCommand::Create {
            id: Uuid::from_u128(10),
            organization_id: Uuid::from_u128(2),
            name: "Blue team".into(),
        },
    );
    assert_eq!(result, Err(DomainError::AlreadyExists("team")));
}

#[test]
fn team_names_are_checked() {
    let state = given::<Team>(vec![]);
    for bad in ["", " ", "a\u{0}", &"t".repeat(101)] {
        let create = TeamCommand::Create {
            id: Uuid::from_u128(10),
            organization_id: Uuid::from_u128(2),
            name: bad.into(),
        };
        assert!(matches!(
            when::<Team>(&state, create),
            Err(DomainError::InvalidInput { field: "name", .. })
        ));
    }
    let existing = given::<Team>(vec![created()]);
    assert!(matches!(
        when::<Team>(&existing, TeamCommand::Rename { name: "".into() }),
        Err(DomainError::InvalidInput { field: "name", .. })
    ));
}

#[test]
fn commands_on_a_missing_team_are_not_found() {
    let state = given::<Team>(vec![]);
    for command in [
        TeamCommand::AddMember { user_id: ALICE },
        TeamCommand::RemoveMember { user_id: ALICE },
        TeamCommand::Rename { name: "x".into() },
    ] {
        assert_eq!(
            when::<Team>(&state, command),
            Err(DomainError::NotFound("team"))
        );
    }
}

#[test]
fn members_are_added_once_and_removed_once() {
    let state = given::<Team>(vec![created()]);
    assert_eq!(
        when::<Team>(&state, TeamCommand::AddMember { user_id: ALICE }),
        Ok(vec![TeamEvent::MemberAdded { user_id: ALICE }])
    );
    assert_eq!(
        when::<Team>(&state, TeamCommand::RemoveMember { user_id: ALICE }),
        Ok(vec![]),
        "removing a non-member changes nothing"
    );
    let with_alice = given::<Team>(vec![
        created(),
        TeamEvent::MemberAdded { user_id: ALICE },
        TeamEvent::MemberAdded { user_id: BOB },
    ]);
    assert_eq!(
        with_alice.members.iter().copied().collect::<Vec<_>>(),
        vec![ALICE, BOB]
    );
    assert_eq!(
        when::<Team>(&with_alice, TeamCommand::AddMember { user_id: ALICE }),
        Ok(vec![])
    );
    assert_eq!(
        when::<Team>(&with_alice, TeamCommand::RemoveMember { user_id: ALICE }),
        Ok(vec![TeamEvent::MemberRemoved { user_id: ALICE }])
    );
    let without_alice = given::<Team>(vec![
        created(),
        TeamEvent::MemberAdded { user_id: ALICE },
        TeamEvent::MemberAdded { user_id: BOB },
        TeamEvent::MemberRemoved { user_id: ALICE },
    ]);
    assert_eq!(
        without_alice.members.iter().copied().collect::<Vec<_>>(),
        vec![BOB]
    );
}

#[test]
fn renaming_to_the_same_name_emits_nothing() {
    let state = given::<Team>(vec![created()]);
    assert_eq!(
        when::<Team>(
            &state,
            TeamCommand::Rename {
                name: " Red team ".into()
            }
        ),
        Ok(vec![])
    );
    assert_eq!(
        when::<Team>(
            &state,
            TeamCommand::Rename {
                name: "Blue team".into()
            }
        ),
        Ok(vec![TeamEvent::Renamed {
            name: "Blue team".into()
        }])
    );
    let renamed = given::<Team>(vec![
        created(),
        TeamEvent::Renamed {
            name: "Blue team".into(),
        },
    ]);
    assert_eq!(renamed.name, "Blue team");
}

#[test]
fn events_round_trip_through_their_stored_form() {
    for event in TeamEvent::examples() {
        assert_eq!(TeamEvent::decode(&event.encode()), Ok(event));
    }
    let state = given::<Team>(TeamEvent::examples());
    let snapshot: TeamState = serde_json::from_slice(&serde_json::to_vec(&state).unwrap()).unwrap();
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
        TeamEvent::decode(&payload("TeamDissolved", 1, "{}")),
        Err(crate::DecodeError::UnknownEventType { .. })
    ));
    assert!(matches!(
        TeamEvent::decode(&payload("TeamRenamed", 2, r#"{"name":"x"}"#)),
        Err(crate::DecodeError::UnknownEventType { .. })
    ));
    for (event_type, data) in [
        ("TeamMemberAdded", r#"{"user_id":"nope"}"#),
        ("TeamMemberRemoved", r#"{}"#),
        ("TeamRenamed", r#"{"name":"x","extra":true}"#),
        (
            "TeamCreated",
            r#"{"team_id":"00000000-0000-0000-0000-000000000001"}"#,
        ),
    ] {
        assert!(matches!(
            TeamEvent::decode(&payload(event_type, 1, data)),
            Err(crate::DecodeError::Malformed { .. })
        ));
    }
}
