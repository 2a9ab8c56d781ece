//! The scan aggregate: its lifecycle and the user's false-positive marks.
//!
//! ```text
//! CREATED --start--> RUNNING --pause--> PAUSED --resume--> RUNNING
//! RUNNING --finish--> FINISHED     RUNNING|PAUSED --stop--> STOPPED
//! RUNNING|PAUSED --fail--> FAILED  FINISHED|STOPPED|FAILED --start--> RUNNING (next run)
//! ```

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::aggregate::{Aggregate, CommandContext};
use crate::error::DomainError;

use super::events::{ScanDefinition, ScanEvent};

pub struct Scan;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScanStatus {
    #[default]
    Created,
    Running,
    Paused,
    Stopped,
    Finished,
    Failed,
}

impl ScanStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ScanStatus::Created => "CREATED",
            ScanStatus::Running => "RUNNING",
            ScanStatus::Paused => "PAUSED",
            ScanStatus::Stopped => "STOPPED",
            ScanStatus::Finished => "FINISHED",
            ScanStatus::Failed => "FAILED",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            ScanStatus::Created,
            ScanStatus::Running,
            ScanStatus::Paused,
            ScanStatus::Stopped,
            ScanStatus::Finished,
            ScanStatus::Failed,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }

    /// A run is over and another may start.
    pub fn is_over(self) -> bool {
        matches!(
            self,
            ScanStatus::Finished | ScanStatus::Stopped | ScanStatus::Failed
        )
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanState {
    pub id: Option<Uuid>,
    pub organization_id: Uuid,
    pub project_id: Uuid,
    pub team_id: Uuid,
    pub name: String,
    pub targets: Vec<String>,
    pub modules: Vec<String>,
    pub options: String,
    pub schedule: Option<String>,
    pub status: ScanStatus,
    /// The current (or last) run; 0 before the first start.
    pub run: u32,
    pub created_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Findings the user marked, by id; absent means never marked.
    pub false_positives: BTreeMap<Uuid, bool>,
}

impl ScanState {
    pub fn exists(&self) -> bool {
        self.id.is_some()
    }
}

/// What a user (or the runtime, or the scheduler) asks of a scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanCommand {
    /// Targets, modules, options and schedule arrive validated by the service.
    Create(ScanDefinition),
    Start,
    Pause,
    Resume,
    Stop,
    Finish {
        completed: u64,
        total: u64,
    },
    Fail {
        reason: String,
    },
    MarkFalsePositive {
        finding_id: Uuid,
        value: bool,
    },
    RecordComparison {
        previous_run: u32,
        new_count: u64,
        gone_count: u64,
        new: Vec<(String, String)>,
        gone: Vec<(String, String)>,
    },
}

impl Aggregate for Scan {
    const CATEGORY: &'static str = "scan";
    type State = ScanState;
    type Command = ScanCommand;
    type Event = ScanEvent;

    fn decide(
        state: &ScanState,
        command: ScanCommand,
        _context: &CommandContext,
    ) -> Result<Vec<ScanEvent>, DomainError> {
        super::decide::decide(state, command)
    }

    fn evolve(mut state: ScanState, event: &ScanEvent) -> ScanState {
        // `evolve` has no clock; times come from the envelope via `evolve_at`.
        match event {
            ScanEvent::Created(definition) => {
                let definition = definition.clone();
                state.id = Some(definition.scan_id);
                state.organization_id = definition.organization_id;
                state.project_id = definition.project_id;
                state.team_id = definition.team_id;
                state.name = definition.name;
                state.targets = definition.targets;
                state.modules = definition.modules;
                state.options = definition.options;
                state.schedule = definition.schedule;
                state.status = ScanStatus::Created;
            }
            ScanEvent::Started { run } => {
                state.run = *run;
                state.status = ScanStatus::Running;
                state.finished_at = None;
            }
            ScanEvent::Paused { .. } => state.status = ScanStatus::Paused,
            ScanEvent::Resumed { .. } => state.status = ScanStatus::Running,
            ScanEvent::Stopped { .. } => state.status = ScanStatus::Stopped,
            ScanEvent::Finished { .. } => state.status = ScanStatus::Finished,
            ScanEvent::Failed { .. } => state.status = ScanStatus::Failed,
            ScanEvent::FalsePositiveMarked { finding_id, value } => {
                state.false_positives.insert(*finding_id, *value);
            }
            ScanEvent::RunCompared { .. } => {}
        }
        state
    }
}

/// Applies an event with the time it was recorded, which the timestamps need.
pub fn evolve_at(state: ScanState, event: &ScanEvent, at: DateTime<Utc>) -> ScanState {
    let mut state = Scan::evolve(state, event);
    match event {
        ScanEvent::Created { .. } => state.created_at = Some(at),
        ScanEvent::Started { .. } => state.started_at = Some(at),
        ScanEvent::Stopped { .. } | ScanEvent::Finished { .. } | ScanEvent::Failed { .. } => {
            state.finished_at = Some(at)
        }
        _ => {}
    }
    state
}
