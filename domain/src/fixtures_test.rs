//! Every stored-event fixture under `schemas/events/` (named `Type.vN.json`) still decodes.

use std::path::PathBuf;

use crate::codec::{EventCodec, StoredPayload};
use crate::organization::OrganizationEvent;

/// Tries every aggregate's codec; a fixture must be understood by exactly the one owning it.
fn decodes(payload: &StoredPayload) -> Result<(), String> {
    let category = payload.event_type.as_str();
    if category.starts_with("Organization") {
        return OrganizationEvent::decode(payload)
            .map(|_| ())
            .map_err(|e| e.to_string());
    }
    Err(format!("no codec owns {category}"))
}

#[test]
fn every_event_fixture_still_decodes() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../schemas/events");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let stem = name.strip_suffix(".json").unwrap();
        let (event_type, version) = stem.rsplit_once(".v").unwrap();
        let payload = StoredPayload {
            event_type: event_type.to_owned(),
            event_version: version.parse().unwrap(),
            data: std::fs::read(&path).unwrap(),
        };
        decodes(&payload).unwrap_or_else(|e| panic!("{name}: {e}"));
        checked += 1;
    }
    assert!(checked >= 3, "expected fixtures in {}", dir.display());
}
