//! Given/when/then for every project decision, and the project codec.

use uuid::Uuid;

use super::*;
use crate::aggregate::given::{given, when};
use crate::codec::{EventCodec, StoredPayload};
use crate::error::DomainError;

const TEAM: Uuid = Uuid::from_u128(10);
const OTHER_TEAM: Uuid = Uuid::from_u128(11);

fn created() -> ProjectEvent {
    ProjectEvent::Created {
        id: Uuid::from_u128(20),
        organization_id: Uuid::from_u128(2),
        team_id: TEAM,
        name: "Perimeter review".into(),
    }
}

fn create(name: &str) -> ProjectCommand {
    ProjectCommand::Create {
        id: Uuid::from_u128(20),
        organization_id: Uuid::from_u128(2),
        team_id: TEAM,
        name: name.into(),
    }
}

#[test]
fn creating_a_project_trims_its_name() {
    let state = given::<Project>(vec![]);
    assert_eq!(
        when::<Project>(&state, create("  Perimeter review ")),
        Ok(vec![created()])
    );
    let state = given::<Project>(vec![created()]);
    assert!(state.exists());
    assert_eq!(state.team_id, TEAM);
    assert!(!state.archived);
}

#[test]
fn creating_twice_is_refused() {
    let state = given::<Project>(vec![created()]);
    assert_eq!(
        when::<Project>(&state, create("Again")),
        Err(DomainError::AlreadyExists("project"))
    );
}

#[test]
fn project_names_are_checked() {
    let state = given::<Project>(vec![]);
    for bad in ["", "\n", "a\u{1f}b", &"p".repeat(101)] {
        assert!(matches!(
            when::<Project>(&state, create(bad)),
            Err(DomainError::InvalidInput { field: "name", .. })
        ));
    }
    let existing = given::<Project>(vec![created()]);
    assert!(matches!(
        when::<Project>(&existing, ProjectCommand::Rename { name: " ".into() }),
        Err(DomainError::InvalidInput { field: "name", .. })
    ));
}

#[test]
fn commands_on_a_missing_project_are_not_found() {
    let state = given::<Project>(vec![]);
    for command in [
        ProjectCommand::Rename { name: "x".into() },
        ProjectCommand::MoveToTeam { team_id: TEAM },
        ProjectCommand::Archive,
    ] {
        assert_eq!(
            when::<Project>(&state, command),
            Err(DomainError::NotFound("project"))
        );
    }
}

#[test]
fn renaming_and_moving_emit_only_changes() {
    let state = given::<Project>(vec![created()]);
    assert_eq!(
        when::<Project>(
            &state,
            ProjectCommand::Rename {
                name: "Perimeter review".into()
            }
        ),
        Ok(vec![])
    );
    assert_eq!(
        when::<Project>(
            &state,
            ProjectCommand::Rename {
                name: "Q3 review".into()
            }
        ),
        Ok(vec![ProjectEvent::Renamed {
            name: "Q3 review".into()
        }])
    );
    assert_eq!(
        when::<Project>(&state, ProjectCommand::MoveToTeam { team_id: TEAM }),
        Ok(vec![])
    );
    assert_eq!(
        when::<Project>(
            &state,
            ProjectCommand::MoveToTeam {
                team_id: OTHER_TEAM
            }
        ),
        Ok(vec![ProjectEvent::MovedToTeam {
            team_id: OTHER_TEAM
        }])
    );
    let moved = given::<Project>(vec![
        created(),
        ProjectEvent::Renamed {
            name: "Q3 review".into(),
        },
        ProjectEvent::MovedToTeam {
            team_id: OTHER_TEAM,
        },
    ]);
    assert_eq!(moved.team_id, OTHER_TEAM);
    assert_eq!(moved.name, "Q3 review");
}

#[test]
fn archiving_is_idempotent_and_freezes_the_project() {
    let state = given::<Project>(vec![created()]);
    assert_eq!(
        when::<Project>(&state, ProjectCommand::Archive),
        Ok(vec![ProjectEvent::Archived])
    );
    let archived = given::<Project>(vec![created(), ProjectEvent::Archived]);
    assert!(archived.archived);
    assert_eq!(
        when::<Project>(&archived, ProjectCommand::Archive),
        Ok(vec![])
    );
    for command in [
        ProjectCommand::Rename { name: "x".into() },
        ProjectCommand::MoveToTeam {
            team_id: OTHER_TEAM,
        },
    ] {
        assert_eq!(
            when::<Project>(&archived, command),
            Err(DomainError::InvalidState("project archived".into()))
        );
    }
}

#[test]
fn events_round_trip_through_their_stored_form() {
    for event in ProjectEvent::examples() {
        assert_eq!(ProjectEvent::decode(&event.encode()), Ok(event));
    }
    let state = given::<Project>(ProjectEvent::examples());
    let snapshot: ProjectState =
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
        ProjectEvent::decode(&payload("ProjectDeleted", 1, "{}")),
        Err(crate::DecodeError::UnknownEventType { .. })
    ));
    assert!(matches!(
        ProjectEvent::decode(&payload("ProjectArchived", 3, "{}")),
        Err(crate::DecodeError::UnknownEventType { .. })
    ));
    for (event_type, data) in [
        ("ProjectArchived", r#"{"by":"x"}"#),
        ("ProjectMovedToTeam", r#"{"team_id":5}"#),
        ("ProjectRenamed", r#"[]"#),
    ] {
        assert!(matches!(
            ProjectEvent::decode(&payload(event_type, 1, data)),
            Err(crate::DecodeError::Malformed { .. })
        ));
    }
}
