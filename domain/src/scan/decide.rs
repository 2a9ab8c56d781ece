//! Scan decisions: which lifecycle moves are allowed from which status.

use crate::error::DomainError;
use crate::identity::validate_resource_name;

use super::aggregate::{ScanCommand, ScanState, ScanStatus};
use super::events::ScanEvent;

/// The most targets one scan may have.
pub const MAX_TARGETS: usize = 10_000;

pub fn decide(state: &ScanState, command: ScanCommand) -> Result<Vec<ScanEvent>, DomainError> {
    if let ScanCommand::Create(mut definition) = command {
        if state.exists() {
            return Err(DomainError::AlreadyExists("scan"));
        }
        definition.name = validate_resource_name("name", &definition.name)?;
        if definition.targets.is_empty() {
            return Err(DomainError::invalid(
                "targets",
                "at least one target is needed",
            ));
        }
        if definition.targets.len() > MAX_TARGETS {
            return Err(DomainError::invalid(
                "targets",
                format!("at most {MAX_TARGETS} targets per scan"),
            ));
        }
        if definition.modules.is_empty() {
            return Err(DomainError::invalid(
                "modules",
                "at least one module is needed",
            ));
        }
        return Ok(vec![ScanEvent::Created(definition)]);
    }
    if !state.exists() {
        return Err(DomainError::NotFound("scan"));
    }
    let run = state.run;
    let refuse = |what: &str| {
        Err(DomainError::InvalidState(format!(
            "cannot {what} a scan that is {}",
            state.status.as_str()
        )))
    };
    use ScanStatus::*;
    match (command, state.status) {
        (ScanCommand::Start, Created) => Ok(vec![ScanEvent::Started { run: 1 }]),
        (ScanCommand::Start, s) if s.is_over() => Ok(vec![ScanEvent::Started { run: run + 1 }]),
        (ScanCommand::Start, _) => refuse("start"),
        (ScanCommand::Pause, Running) => Ok(vec![ScanEvent::Paused { run }]),
        (ScanCommand::Pause, _) => refuse("pause"),
        (ScanCommand::Resume, Paused) => Ok(vec![ScanEvent::Resumed { run }]),
        (ScanCommand::Resume, _) => refuse("resume"),
        (ScanCommand::Stop, Running | Paused) => Ok(vec![ScanEvent::Stopped { run }]),
        (ScanCommand::Stop, _) => refuse("stop"),
        (ScanCommand::Finish { completed, total }, Running) => Ok(vec![ScanEvent::Finished {
            run,
            completed,
            total,
        }]),
        (ScanCommand::Finish { .. }, _) => refuse("finish"),
        (ScanCommand::Fail { reason }, Running | Paused) => {
            let reason: String = reason.chars().take(1000).collect();
            Ok(vec![ScanEvent::Failed { run, reason }])
        }
        (ScanCommand::Fail { .. }, _) => refuse("fail"),
        (ScanCommand::MarkFalsePositive { finding_id, value }, _) => {
            if state
                .false_positives
                .get(&finding_id)
                .copied()
                .unwrap_or(false)
                == value
            {
                return Ok(Vec::new());
            }
            Ok(vec![ScanEvent::FalsePositiveMarked { finding_id, value }])
        }
        (
            ScanCommand::RecordComparison {
                previous_run,
                new_count,
                gone_count,
                new,
                gone,
            },
            _,
        ) => Ok(vec![ScanEvent::RunCompared {
            run,
            previous_run,
            new_count,
            gone_count,
            new,
            gone,
        }]),
        (ScanCommand::Create(_), _) => Err(DomainError::AlreadyExists("scan")),
    }
}
