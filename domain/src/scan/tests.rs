use uuid::Uuid;

use crate::aggregate::given::{given, when};
use crate::error::DomainError;

use super::aggregate::{Scan, ScanCommand, ScanStatus};
use super::events::{ScanDefinition, ScanEvent};
use super::findings::FindingEvent;

fn definition(name: &str, targets: Vec<String>, modules: Vec<String>) -> ScanDefinition {
    ScanDefinition {
        scan_id: Uuid::nil(),
        organization_id: Uuid::nil(),
        project_id: Uuid::nil(),
        team_id: Uuid::nil(),
        name: name.into(),
        targets,
        modules,
        options: "{}".into(),
        schedule: None,
    }
}

pub(crate) fn created() -> ScanEvent {
    ScanEvent::Created(definition(
        "recon",
        vec!["example.com".into()],
        vec!["dns_resolve".into()],
    ))
}

#[test]
fn a_scan_runs_pauses_resumes_and_finishes() {
    let state = given::<Scan>(vec![created()]);
    assert_eq!(state.status, ScanStatus::Created);
    assert_eq!(
        when::<Scan>(&state, ScanCommand::Start).unwrap(),
        vec![ScanEvent::Started { run: 1 }]
    );
    let state = given::<Scan>(vec![created(), ScanEvent::Started { run: 1 }]);
    assert_eq!(
        when::<Scan>(&state, ScanCommand::Pause).unwrap(),
        vec![ScanEvent::Paused { run: 1 }]
    );
    let paused = given::<Scan>(vec![
        created(),
        ScanEvent::Started { run: 1 },
        ScanEvent::Paused { run: 1 },
    ]);
    assert_eq!(paused.status, ScanStatus::Paused);
    assert_eq!(
        when::<Scan>(&paused, ScanCommand::Resume).unwrap(),
        vec![ScanEvent::Resumed { run: 1 }]
    );
    assert!(matches!(
        when::<Scan>(
            &paused,
            ScanCommand::Finish {
                completed: 1,
                total: 1
            }
        ),
        Err(DomainError::InvalidState(_))
    ));
    assert_eq!(
        when::<Scan>(&paused, ScanCommand::Stop).unwrap(),
        vec![ScanEvent::Stopped { run: 1 }]
    );
}

#[test]
fn invalid_moves_are_refused_with_the_status_named() {
    let state = given::<Scan>(vec![created()]);
    let error = when::<Scan>(&state, ScanCommand::Pause).unwrap_err();
    assert_eq!(
        error,
        DomainError::InvalidState("cannot pause a scan that is CREATED".into())
    );
    assert!(when::<Scan>(&state, ScanCommand::Resume).is_err());
    assert!(when::<Scan>(&state, ScanCommand::Stop).is_err());
    let running = given::<Scan>(vec![created(), ScanEvent::Started { run: 1 }]);
    assert!(when::<Scan>(&running, ScanCommand::Start).is_err());
    assert!(when::<Scan>(&running, ScanCommand::Resume).is_err());
    assert_eq!(
        when::<Scan>(&given::<Scan>(vec![]), ScanCommand::Start),
        Err(DomainError::NotFound("scan"))
    );
}

#[test]
fn a_finished_scan_starts_its_next_run() {
    let done = given::<Scan>(vec![
        created(),
        ScanEvent::Started { run: 1 },
        ScanEvent::Finished {
            run: 1,
            completed: 3,
            total: 3,
        },
    ]);
    assert_eq!(
        when::<Scan>(&done, ScanCommand::Start).unwrap(),
        vec![ScanEvent::Started { run: 2 }]
    );
}

#[test]
fn creation_checks_name_targets_and_modules() {
    let empty = given::<Scan>(vec![]);
    let create = |name: &str, targets: Vec<String>, modules: Vec<String>| {
        ScanCommand::Create(definition(name, targets, modules))
    };
    let field = |r: Result<Vec<ScanEvent>, DomainError>| match r {
        Err(DomainError::InvalidInput { field, .. }) => field,
        other => panic!("expected invalid input, got {other:?}"),
    };
    assert_eq!(
        field(when::<Scan>(
            &empty,
            create("", vec!["a.com".into()], vec!["m".into()])
        )),
        "name"
    );
    assert_eq!(
        field(when::<Scan>(&empty, create("x", vec![], vec!["m".into()]))),
        "targets"
    );
    assert_eq!(
        field(when::<Scan>(
            &empty,
            create("x", vec!["a.com".into()], vec![])
        )),
        "modules"
    );
    let exists = given::<Scan>(vec![created()]);
    assert_eq!(
        when::<Scan>(&exists, create("x", vec!["a.com".into()], vec!["m".into()])),
        Err(DomainError::AlreadyExists("scan"))
    );
}

#[test]
fn false_positive_marks_are_events_and_repeats_are_no_ops() {
    let id = Uuid::from_u128(7);
    let state = given::<Scan>(vec![created()]);
    assert_eq!(
        when::<Scan>(
            &state,
            ScanCommand::MarkFalsePositive {
                finding_id: id,
                value: true
            }
        )
        .unwrap(),
        vec![ScanEvent::FalsePositiveMarked {
            finding_id: id,
            value: true
        }]
    );
    let marked = given::<Scan>(vec![
        created(),
        ScanEvent::FalsePositiveMarked {
            finding_id: id,
            value: true,
        },
    ]);
    assert!(
        when::<Scan>(
            &marked,
            ScanCommand::MarkFalsePositive {
                finding_id: id,
                value: true
            }
        )
        .unwrap()
        .is_empty()
    );
    assert!(
        when::<Scan>(
            &state,
            ScanCommand::MarkFalsePositive {
                finding_id: id,
                value: false
            }
        )
        .unwrap()
        .is_empty()
    );
}

impl ScanEvent {
    /// One of each kind, for round trips and the stored-form fixtures.
    pub(crate) fn examples() -> Vec<ScanEvent> {
        vec![
            created(),
            ScanEvent::Started { run: 2 },
            ScanEvent::Paused { run: 2 },
            ScanEvent::Resumed { run: 2 },
            ScanEvent::Stopped { run: 2 },
            ScanEvent::Finished {
                run: 2,
                completed: 5,
                total: 6,
            },
            ScanEvent::Failed {
                run: 2,
                reason: "resolver unreachable".into(),
            },
            ScanEvent::FalsePositiveMarked {
                finding_id: Uuid::from_u128(40),
                value: true,
            },
            ScanEvent::RunCompared {
                run: 2,
                previous_run: 1,
                new_count: 1,
                gone_count: 1,
                new: vec![("INTERNET_NAME".into(), "new.example.com".into())],
                gone: vec![("INTERNET_NAME".into(), "old.example.com".into())],
            },
        ]
    }
}

impl FindingEvent {
    pub(crate) fn examples() -> Vec<FindingEvent> {
        use super::findings::{Finding, WorkItem};
        vec![
            FindingEvent::Recorded(Finding {
                id: Uuid::from_u128(40),
                run: 1,
                kind: "INTERNET_NAME".into(),
                value: "a.example.com".into(),
                module: "dns_bruteforce".into(),
                parent_id: Some(Uuid::from_u128(39)),
                confidence: 90,
                evidence_hash: Some(
                    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into(),
                ),
                scope_distance: 0,
                depth: 0,
                target: "example.com".into(),
            }),
            FindingEvent::WorkCompleted {
                run: 1,
                items: vec![WorkItem {
                    module: "dns_bruteforce".into(),
                    input: Uuid::from_u128(39),
                    produced: 1,
                    error: None,
                }],
                completed: 1,
                total: 4,
            },
        ]
    }
}

#[test]
fn every_event_round_trips_through_its_stored_form() {
    use crate::codec::EventCodec;
    for event in ScanEvent::examples() {
        assert_eq!(ScanEvent::decode(&event.encode()).unwrap(), event);
    }
    for event in FindingEvent::examples() {
        assert_eq!(FindingEvent::decode(&event.encode()).unwrap(), event);
    }
}
