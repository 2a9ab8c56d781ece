//! Scan lifecycle events: `Scan*`, on the stream `scan-<id>`.

use uuid::Uuid;

use crate::codec::{DecodeError, EventCodec, StoredPayload, decode_schema, encode_schema, unknown};

use super::schema;

/// What a scan is: where it belongs, what it looks at, with which modules and options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanDefinition {
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanEvent {
    Created(ScanDefinition),
    Started {
        run: u32,
    },
    Paused {
        run: u32,
    },
    Resumed {
        run: u32,
    },
    Stopped {
        run: u32,
    },
    Finished {
        run: u32,
        completed: u64,
        total: u64,
    },
    Failed {
        run: u32,
        reason: String,
    },
    FalsePositiveMarked {
        finding_id: Uuid,
        value: bool,
    },
    /// Change detection: what run `run` found that `previous_run` did not, and the reverse.
    RunCompared {
        run: u32,
        previous_run: u32,
        new_count: u64,
        gone_count: u64,
        new: Vec<(String, String)>,
        gone: Vec<(String, String)>,
    },
}

impl EventCodec for ScanEvent {
    fn encode(&self) -> StoredPayload {
        match self.clone() {
            ScanEvent::Created(definition) => {
                encode_schema(schema::CREATED, 1, &schema::CreatedV1::from(definition))
            }
            ScanEvent::Started { run } => {
                encode_schema(schema::STARTED, 1, &schema::StartedV1 { run })
            }
            ScanEvent::Paused { run } => encode_schema(schema::PAUSED, 1, &schema::RunV1 { run }),
            ScanEvent::Resumed { run } => encode_schema(schema::RESUMED, 1, &schema::RunV1 { run }),
            ScanEvent::Stopped { run } => encode_schema(schema::STOPPED, 1, &schema::RunV1 { run }),
            ScanEvent::Finished {
                run,
                completed,
                total,
            } => encode_schema(
                schema::FINISHED,
                1,
                &schema::FinishedV1 {
                    run,
                    completed,
                    total,
                },
            ),
            ScanEvent::Failed { run, reason } => {
                encode_schema(schema::FAILED, 1, &schema::FailedV1 { run, reason })
            }
            ScanEvent::FalsePositiveMarked { finding_id, value } => encode_schema(
                schema::FALSE_POSITIVE_MARKED,
                1,
                &schema::FalsePositiveMarkedV1 { finding_id, value },
            ),
            ScanEvent::RunCompared {
                run,
                previous_run,
                new_count,
                gone_count,
                new,
                gone,
            } => encode_schema(
                schema::RUN_COMPARED,
                1,
                &schema::RunComparedV1 {
                    run,
                    previous_run,
                    new_count,
                    gone_count,
                    new,
                    gone,
                },
            ),
        }
    }

    fn decode_current(
        event_type: &str,
        event_version: u32,
        data: serde_json::Value,
    ) -> Result<Self, DecodeError> {
        let v = event_version;
        Ok(match (event_type, event_version) {
            (schema::CREATED, 1) => {
                let body: schema::CreatedV1 = decode_schema(event_type, v, data)?;
                ScanEvent::Created(body.into())
            }
            (schema::STARTED, 1) => {
                let b: schema::StartedV1 = decode_schema(event_type, v, data)?;
                ScanEvent::Started { run: b.run }
            }
            (schema::PAUSED, 1) => ScanEvent::Paused {
                run: decode_schema::<schema::RunV1>(event_type, v, data)?.run,
            },
            (schema::RESUMED, 1) => ScanEvent::Resumed {
                run: decode_schema::<schema::RunV1>(event_type, v, data)?.run,
            },
            (schema::STOPPED, 1) => ScanEvent::Stopped {
                run: decode_schema::<schema::RunV1>(event_type, v, data)?.run,
            },
            (schema::FINISHED, 1) => {
                let b: schema::FinishedV1 = decode_schema(event_type, v, data)?;
                ScanEvent::Finished {
                    run: b.run,
                    completed: b.completed,
                    total: b.total,
                }
            }
            (schema::FAILED, 1) => {
                let b: schema::FailedV1 = decode_schema(event_type, v, data)?;
                ScanEvent::Failed {
                    run: b.run,
                    reason: b.reason,
                }
            }
            (schema::FALSE_POSITIVE_MARKED, 1) => {
                let b: schema::FalsePositiveMarkedV1 = decode_schema(event_type, v, data)?;
                ScanEvent::FalsePositiveMarked {
                    finding_id: b.finding_id,
                    value: b.value,
                }
            }
            (schema::RUN_COMPARED, 1) => {
                let b: schema::RunComparedV1 = decode_schema(event_type, v, data)?;
                ScanEvent::RunCompared {
                    run: b.run,
                    previous_run: b.previous_run,
                    new_count: b.new_count,
                    gone_count: b.gone_count,
                    new: b.new,
                    gone: b.gone,
                }
            }
            _ => return Err(unknown(event_type, event_version)),
        })
    }
}
