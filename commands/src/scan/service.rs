//! The scan service: the commands users give about scans, checked and recorded, and handed to
//! the runtime.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::Utc;
use domain::policy::{Authorized, Resource, permission};
use domain::scan::{Scan, ScanCommand, ScanDefinition, ScanState, parse_target};
use domain::{Aggregate, CommandContext, StreamId};
use modules::{Registry, ScanOptions};
use uuid::Uuid;

use super::runtime::{ScanRuntime, system_context};
use super::{ScanError, schedule};
use crate::identity::RequestOrigin;

/// The lifecycle moves a user makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Start,
    Pause,
    Resume,
    Stop,
}

/// A scan as the user describes it.
#[derive(Debug, Clone, Default)]
pub struct NewScan {
    pub name: String,
    pub targets: Vec<String>,
    pub modules: Vec<String>,
    pub options: Option<serde_json::Value>,
    pub schedule: Option<String>,
    /// Pull in the modules producing what the selected ones consume (default on).
    pub with_dependencies: bool,
}

pub fn scan_stream(scan_id: Uuid) -> Result<StreamId, ScanError> {
    StreamId::for_aggregate(Scan::CATEGORY, scan_id).map_err(|e| ScanError::invalid("id", e))
}

pub fn findings_stream(scan_id: Uuid) -> Result<StreamId, ScanError> {
    StreamId::for_aggregate(domain::scan::FINDINGS_CATEGORY, scan_id)
        .map_err(|e| ScanError::invalid("id", e))
}

pub struct ScanService {
    runtime: Arc<ScanRuntime>,
}

/// Targets beyond this many characters are refused before parsing.
const MAX_TARGET_CHARS: usize = 2048;

impl ScanService {
    pub fn new(runtime: Arc<ScanRuntime>) -> Self {
        Self { runtime }
    }

    pub fn runtime(&self) -> &Arc<ScanRuntime> {
        &self.runtime
    }

    pub fn registry(&self) -> &Registry {
        self.runtime.registry()
    }

    fn context(
        &self,
        user_id: Uuid,
        organization_id: Uuid,
        origin: &RequestOrigin,
    ) -> CommandContext {
        CommandContext {
            actor: format!("user:{user_id}"),
            organization: Some(organization_id),
            now: Utc::now(),
            correlation_id: origin.correlation_id,
            causation_id: None,
        }
    }

    /// The scan's state, or `None` when there is no such scan.
    pub async fn scan_state(&self, scan_id: Uuid) -> Result<Option<ScanState>, ScanError> {
        match self.runtime.scan_state(scan_id).await {
            Ok(state) => Ok(Some(state)),
            Err(ScanError::NotFound) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Checks everything the user gave and records the scan.
    pub async fn create(
        &self,
        proof: &Authorized<permission::CreateScan>,
        project_id: Uuid,
        input: NewScan,
        origin: &RequestOrigin,
    ) -> Result<ScanState, ScanError> {
        let Resource::Project {
            organization_id,
            team_id,
        } = *proof.resource()
        else {
            return Err(ScanError::NotFound);
        };
        let limits = self.runtime.config().target_limits;
        let mut targets = Vec::new();
        let mut seeded = BTreeSet::new();
        for (index, text) in input.targets.iter().enumerate() {
            let field = format!("targets[{index}]");
            if text.chars().count() > MAX_TARGET_CHARS {
                return Err(ScanError::invalid(
                    field,
                    format!("longer than {MAX_TARGET_CHARS} characters"),
                ));
            }
            let target = parse_target(text, limits).map_err(|e| ScanError::invalid(field, e))?;
            seeded.extend(target.seeds.iter().map(|(kind, _)| *kind));
            if !targets.contains(&target.text) {
                targets.push(target.text);
            }
        }
        if targets.is_empty() {
            return Err(ScanError::invalid(
                "targets",
                "at least one target is needed",
            ));
        }
        let seeded: Vec<&str> = seeded.into_iter().collect();
        let metas = self
            .registry()
            .resolve(&input.modules, input.with_dependencies, &seeded)
            .map_err(|e| match e {
                modules::registry::RegistryError::UnknownModule { index, id } => {
                    ScanError::invalid(
                        format!("modules[{index}]"),
                        format!("unknown module {id:?}; the modules query lists them"),
                    )
                }
                modules::registry::RegistryError::NoModules => {
                    ScanError::invalid("modules", "at least one module is needed")
                }
            })?;
        let options = ScanOptions::parse(input.options.as_ref(), &metas)
            .map_err(|e| ScanError::invalid(e.field, e.reason))?;
        for (index, text) in options.scope.iter().enumerate() {
            parse_target(text, limits)
                .map_err(|e| ScanError::invalid(format!("options.scope[{index}]"), e))?;
        }
        let schedule = match input.schedule.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => {
                schedule::parse(text)?;
                Some(text.to_owned())
            }
        };
        let options_text = match &input.options {
            Some(value) if !value.is_null() => value.to_string(),
            _ => "{}".to_owned(),
        };
        let scan_id = Uuid::now_v7();
        let context = self.context(proof.user_id(), organization_id, origin);
        self.runtime
            .execute(
                scan_id,
                ScanCommand::Create(ScanDefinition {
                    scan_id,
                    organization_id,
                    project_id,
                    team_id,
                    name: input.name,
                    targets,
                    modules: metas.iter().map(|m| m.id.to_owned()).collect(),
                    options: options_text,
                    schedule,
                }),
                &context,
            )
            .await
    }

    async fn lifecycle(
        &self,
        user_id: Uuid,
        resource: &Resource,
        scan_id: Uuid,
        command: ScanCommand,
        origin: &RequestOrigin,
    ) -> Result<ScanState, ScanError> {
        let Resource::Scan {
            organization_id,
            team_id,
        } = *resource
        else {
            return Err(ScanError::NotFound);
        };
        let current = self.scan_state(scan_id).await?.ok_or(ScanError::NotFound)?;
        if current.organization_id != organization_id || current.team_id != team_id {
            return Err(ScanError::NotFound);
        }
        let context = self.context(user_id, organization_id, origin);
        self.runtime.execute(scan_id, command, &context).await
    }

    /// A lifecycle move by a user: recorded, then handed to the runtime.
    pub async fn step(
        &self,
        proof: &Authorized<permission::UpdateScan>,
        scan_id: Uuid,
        step: Step,
        origin: &RequestOrigin,
    ) -> Result<ScanState, ScanError> {
        let command = match step {
            Step::Start => ScanCommand::Start,
            Step::Pause => ScanCommand::Pause,
            Step::Resume => ScanCommand::Resume,
            Step::Stop => ScanCommand::Stop,
        };
        let state = self
            .lifecycle(proof.user_id(), proof.resource(), scan_id, command, origin)
            .await?;
        match step {
            Step::Start | Step::Resume => self.runtime.launch(scan_id),
            Step::Pause => self.runtime.pause(scan_id),
            Step::Stop => self.runtime.stop(scan_id),
        }
        Ok(state)
    }

    /// Marks (or unmarks) a finding of the scan as a false positive.
    pub async fn mark_false_positive(
        &self,
        proof: &Authorized<permission::MarkFalsePositive>,
        scan_id: Uuid,
        finding_id: Uuid,
        value: bool,
        origin: &RequestOrigin,
    ) -> Result<ScanState, ScanError> {
        self.lifecycle(
            proof.user_id(),
            proof.resource(),
            scan_id,
            ScanCommand::MarkFalsePositive { finding_id, value },
            origin,
        )
        .await
    }

    /// Starts the next run of a scheduled scan (the scheduler's command, actor `system`).
    pub async fn start_scheduled(&self, scan_id: Uuid) -> Result<ScanState, ScanError> {
        let state = self
            .runtime
            .execute(scan_id, ScanCommand::Start, &system_context(scan_id))
            .await?;
        self.runtime.launch(scan_id);
        Ok(state)
    }
}
