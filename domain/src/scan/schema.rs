//! Stored forms of scan and finding events (versioned; never edit a version once written).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const CREATED: &str = "ScanCreated";
pub const STARTED: &str = "ScanStarted";
pub const PAUSED: &str = "ScanPaused";
pub const RESUMED: &str = "ScanResumed";
pub const STOPPED: &str = "ScanStopped";
pub const FINISHED: &str = "ScanFinished";
pub const FAILED: &str = "ScanFailed";
pub const FALSE_POSITIVE_MARKED: &str = "ScanFalsePositiveMarked";
pub const RUN_COMPARED: &str = "ScanRunCompared";

pub const FINDING_RECORDED: &str = "FindingRecorded";
pub const WORK_COMPLETED: &str = "FindingWorkCompleted";

#[derive(Debug, Serialize, Deserialize)]
pub struct CreatedV1 {
    pub scan_id: Uuid,
    pub organization_id: Uuid,
    pub project_id: Uuid,
    pub team_id: Uuid,
    pub name: String,
    pub targets: Vec<String>,
    pub modules: Vec<String>,
    /// The scan options as JSON text, already validated.
    pub options: String,
    pub schedule: Option<String>,
}

impl From<super::events::ScanDefinition> for CreatedV1 {
    fn from(d: super::events::ScanDefinition) -> Self {
        let super::events::ScanDefinition {
            scan_id,
            organization_id,
            project_id,
            team_id,
            name,
            targets,
            modules,
            options,
            schedule,
        } = d;
        Self {
            scan_id,
            organization_id,
            project_id,
            team_id,
            name,
            targets,
            modules,
            options,
            schedule,
        }
    }
}

impl From<CreatedV1> for super::events::ScanDefinition {
    fn from(b: CreatedV1) -> Self {
        let CreatedV1 {
            scan_id,
            organization_id,
            project_id,
            team_id,
            name,
            targets,
            modules,
            options,
            schedule,
        } = b;
        Self {
            scan_id,
            organization_id,
            project_id,
            team_id,
            name,
            targets,
            modules,
            options,
            schedule,
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct StartedV1 {
    pub run: u32,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct RunV1 {
    pub run: u32,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct FinishedV1 {
    pub run: u32,
    pub completed: u64,
    pub total: u64,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct FailedV1 {
    pub run: u32,
    pub reason: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct FalsePositiveMarkedV1 {
    pub finding_id: Uuid,
    pub value: bool,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct RunComparedV1 {
    pub run: u32,
    pub previous_run: u32,
    pub new_count: u64,
    pub gone_count: u64,
    /// `[type, value]` pairs, capped.
    pub new: Vec<(String, String)>,
    pub gone: Vec<(String, String)>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct FindingRecordedV1 {
    pub finding_id: Uuid,
    pub run: u32,
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
    pub module: String,
    pub parent_id: Option<Uuid>,
    pub confidence: u8,
    pub evidence_hash: Option<String>,
    pub scope_distance: u8,
    pub depth: u32,
    /// The scan target this finding descends from.
    pub target: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct WorkItemV1 {
    pub module: String,
    pub input: Uuid,
    pub produced: u32,
    pub error: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct WorkCompletedV1 {
    pub run: u32,
    pub items: Vec<WorkItemV1>,
    /// Work items done / known after this event.
    pub completed: u64,
    pub total: u64,
}
