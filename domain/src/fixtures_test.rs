//! Every stored-event fixture under `schemas/events/` (named `Type.vN.json`) still decodes.

use std::path::PathBuf;

use crate::codec::{EventCodec, StoredPayload};
use crate::identity::{
    ApiKeyEvent, EmailClaimEvent, OidcLinkEvent, ProjectEvent, SecurityEvent, SessionEvent,
    TeamEvent, UserEvent,
};
use crate::organization::OrganizationEvent;
use crate::scan::{FindingEvent, ScanEvent};

type Decoder = fn(&StoredPayload) -> Result<(), String>;

/// Routes a payload to the one codec its type prefix names.
fn decodes(payload: &StoredPayload) -> Result<(), String> {
    fn with<E: EventCodec>(payload: &StoredPayload) -> Result<(), String> {
        E::decode(payload).map(|_| ()).map_err(|e| e.to_string())
    }
    let category = payload.event_type.as_str();
    let routes: [(&str, Decoder); 11] = [
        ("Scan", with::<ScanEvent>),
        ("Finding", with::<FindingEvent>),
        ("Email", with::<EmailClaimEvent>),
        ("Oidc", with::<OidcLinkEvent>),
        ("Organization", with::<OrganizationEvent>),
        ("User", with::<UserEvent>),
        ("Team", with::<TeamEvent>),
        ("Project", with::<ProjectEvent>),
        ("ApiKey", with::<ApiKeyEvent>),
        ("Session", with::<SessionEvent>),
        ("Security", with::<SecurityEvent>),
    ];
    for (prefix, decode) in routes {
        if category.starts_with(prefix) {
            return decode(payload);
        }
    }
    Err(format!("no codec owns {category}"))
}

/// Every stored form the identity codecs write today, one payload per kind of event.
fn current_identity_payloads() -> Vec<StoredPayload> {
    let mut payloads: Vec<StoredPayload> = Vec::new();
    payloads.extend(UserEvent::examples().iter().map(EventCodec::encode));
    payloads.extend(TeamEvent::examples().iter().map(EventCodec::encode));
    payloads.extend(ProjectEvent::examples().iter().map(EventCodec::encode));
    payloads.extend(ApiKeyEvent::examples().iter().map(EventCodec::encode));
    payloads.extend(SessionEvent::examples().iter().map(EventCodec::encode));
    payloads.extend(SecurityEvent::examples().iter().map(EventCodec::encode));
    payloads.extend(ScanEvent::examples().iter().map(EventCodec::encode));
    payloads.extend(FindingEvent::examples().iter().map(EventCodec::encode));
    payloads
}

#[test]
fn every_identity_event_version_written_today_has_a_fixture() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../schemas/events");
    for payload in current_identity_payloads() {
        let name = format!("{}.v{}.json", payload.event_type, payload.event_version);
        // `MIRAGE_UPDATE_FIXTURES=1` writes the fixture of a new event version (never rewrites).
        if std::env::var("MIRAGE_UPDATE_FIXTURES").is_ok_and(|v| v == "1")
            && !dir.join(&name).is_file()
        {
            std::fs::write(dir.join(&name), &payload.data).unwrap();
        }
        assert!(dir.join(&name).is_file(), "missing fixture {name}");
        decodes(&payload).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn each_type_prefix_is_owned_by_exactly_one_identity_codec() {
    for payload in current_identity_payloads() {
        let owners = [
            UserEvent::decode(&payload).is_ok(),
            TeamEvent::decode(&payload).is_ok(),
            ProjectEvent::decode(&payload).is_ok(),
            ApiKeyEvent::decode(&payload).is_ok(),
            SessionEvent::decode(&payload).is_ok(),
            SecurityEvent::decode(&payload).is_ok(),
            OrganizationEvent::decode(&payload).is_ok(),
            ScanEvent::decode(&payload).is_ok(),
            FindingEvent::decode(&payload).is_ok(),
        ];
        let count = owners.iter().filter(|owned| **owned).count();
        assert_eq!(
            count, 1,
            "{} is decoded by {count} codecs",
            payload.event_type
        );
    }
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
    assert!(checked >= 34, "expected fixtures in {}", dir.display());
}
