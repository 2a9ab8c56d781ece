//! The embedded store's binary record: one event's full envelope and payload in one
//! self-delimiting blob (`u32` length, then the fields). Pages of the log are read as the
//! concatenation of records, so a page crosses the database driver as one value.
//!
//! Layout (big-endian): `len u32 | format u8 = 1 | position u64 | event_id [16] |
//! stream str | version u64 | event_type str | event_version u32 | occurred_at i64 |
//! recorded_at i64 | actor str | optional ids: flags u8 + [16] each | prev_hash [32] |
//! hash [32] | payload bytes`, where `str` and `bytes` are `u32` length + data.

use chrono::DateTime;
use domain::codec::StoredPayload;
use domain::{ChainHash, EventMeta, LogPosition, RecordedEvent, StreamId};
use uuid::Uuid;

use super::StoreError;

const FORMAT: u8 = 1;

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// Encodes one event, length prefix included.
pub fn encode(event: &RecordedEvent) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + event.payload.data.len());
    out.extend_from_slice(&[0; 4]);
    out.push(FORMAT);
    out.extend_from_slice(&event.position.prepare.to_be_bytes());
    out.extend_from_slice(event.meta.event_id.as_bytes());
    put_bytes(&mut out, event.stream_id.as_str().as_bytes());
    out.extend_from_slice(&event.version.to_be_bytes());
    put_bytes(&mut out, event.payload.event_type.as_bytes());
    out.extend_from_slice(&event.payload.event_version.to_be_bytes());
    out.extend_from_slice(&event.meta.occurred_at.timestamp_micros().to_be_bytes());
    out.extend_from_slice(&event.recorded_at.timestamp_micros().to_be_bytes());
    put_bytes(&mut out, event.meta.actor.as_bytes());
    let ids = [
        event.meta.organization,
        event.meta.causation_id,
        event.meta.correlation_id,
    ];
    let flags = ids
        .iter()
        .enumerate()
        .fold(0u8, |flags, (i, id)| flags | (u8::from(id.is_some()) << i));
    out.push(flags);
    for id in ids.iter().flatten() {
        out.extend_from_slice(id.as_bytes());
    }
    out.extend_from_slice(&event.prev_hash.0);
    out.extend_from_slice(&event.hash.0);
    put_bytes(&mut out, &event.payload.data);
    let len = (out.len() - 4) as u32;
    out[..4].copy_from_slice(&len.to_be_bytes());
    out
}

/// Reads consecutive fields out of one record; every read is bounds-checked.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .at
            .checked_add(n)
            .filter(|end| *end <= self.bytes.len());
        let end = end.ok_or_else(|| "record is truncated".to_owned())?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let slice = self.take(N)?;
        <[u8; N]>::try_from(slice).map_err(|_| "record is truncated".to_owned())
    }

    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    fn i64(&mut self) -> Result<i64, String> {
        Ok(i64::from_be_bytes(self.array()?))
    }

    fn bytes(&mut self) -> Result<&'a [u8], String> {
        let len = self.u32()? as usize;
        self.take(len)
    }

    fn text(&mut self, field: &str) -> Result<String, String> {
        let bytes = self.bytes()?;
        String::from_utf8(bytes.to_vec()).map_err(|_| format!("{field} is not UTF-8"))
    }

    fn uuid(&mut self) -> Result<Uuid, String> {
        Ok(Uuid::from_bytes(self.array()?))
    }
}

fn time(micros: i64) -> Result<chrono::DateTime<chrono::Utc>, String> {
    DateTime::from_timestamp_micros(micros)
        .ok_or_else(|| format!("timestamp {micros} is out of range"))
}

fn decode_body(body: &[u8]) -> Result<RecordedEvent, String> {
    let mut r = Reader { bytes: body, at: 0 };
    let format = r.array::<1>()?[0];
    if format != FORMAT {
        return Err(format!("unknown record format {format}"));
    }
    let position = r.u64()?;
    let event_id = r.uuid()?;
    let stream = r.text("stream id")?;
    let stream_id = StreamId::new(stream).map_err(|e| e.to_string())?;
    let version = r.u64()?;
    let event_type = r.text("event type")?;
    let event_version = r.u32()?;
    let occurred_at = time(r.i64()?)?;
    let recorded_at = time(r.i64()?)?;
    let actor = r.text("actor")?;
    let flags = r.array::<1>()?[0];
    let mut ids = [None; 3];
    for (i, id) in ids.iter_mut().enumerate() {
        if flags & (1 << i) != 0 {
            *id = Some(r.uuid()?);
        }
    }
    let prev_hash = ChainHash(r.array()?);
    let hash = ChainHash(r.array()?);
    let data = r.bytes()?.to_vec();
    if r.at != body.len() {
        return Err("record has trailing bytes".to_owned());
    }
    let [organization, causation_id, correlation_id] = ids;
    Ok(RecordedEvent {
        stream_id,
        version,
        position: LogPosition::sequential(position),
        recorded_at,
        meta: EventMeta {
            event_id,
            occurred_at,
            actor,
            organization,
            causation_id,
            correlation_id,
        },
        payload: StoredPayload {
            event_type,
            event_version,
            data,
        },
        prev_hash,
        hash,
    })
}

/// Decodes a concatenation of records. `after` names where the page starts, for errors.
pub fn decode_page(page: &[u8], after: u64) -> Result<Vec<RecordedEvent>, StoreError> {
    let mut events = Vec::new();
    let mut reader = Reader { bytes: page, at: 0 };
    while reader.at < page.len() {
        let at = events
            .last()
            .map(|e: &RecordedEvent| e.position.prepare + 1)
            .unwrap_or(after + 1);
        let corrupt = |reason: String| StoreError::Corrupt {
            position: at.to_string(),
            reason: format!("damaged record: {reason}"),
        };
        let len = reader.u32().map_err(corrupt)? as usize;
        let body = reader.take(len).map_err(corrupt)?;
        events.push(decode_body(body).map_err(corrupt)?);
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn event(organization: Option<Uuid>) -> RecordedEvent {
        RecordedEvent {
            stream_id: StreamId::new("s-1").unwrap(),
            version: 7,
            position: LogPosition::sequential(42),
            recorded_at: chrono::Utc.timestamp_opt(1_700_000_001, 5000).unwrap(),
            meta: EventMeta {
                event_id: Uuid::from_u128(9),
                occurred_at: chrono::Utc.timestamp_opt(1_700_000_000, 0).unwrap(),
                actor: "user:ü".into(),
                organization,
                causation_id: None,
                correlation_id: Some(Uuid::from_u128(3)),
            },
            payload: StoredPayload {
                event_type: "T".into(),
                event_version: 2,
                data: b"{ \"a\" : 1 }".to_vec(),
            },
            prev_hash: ChainHash([1; 32]),
            hash: ChainHash([2; 32]),
        }
    }

    #[test]
    fn pages_round_trip() {
        let events = [event(None), event(Some(Uuid::from_u128(5)))];
        let page: Vec<u8> = events.iter().flat_map(encode).collect();
        assert_eq!(decode_page(&page, 0).unwrap(), events);
        assert!(decode_page(&[], 0).unwrap().is_empty());
    }

    #[test]
    fn damaged_pages_are_corrupt_not_panics() {
        let page = encode(&event(None));
        for cut in 0..page.len() {
            let result = decode_page(&page[..cut], 0);
            assert!(
                cut == 0 || matches!(result, Err(StoreError::Corrupt { .. })),
                "cut {cut}"
            );
        }
        let mut wrong_format = page.clone();
        wrong_format[4] = 9;
        assert!(matches!(
            decode_page(&wrong_format, 0),
            Err(StoreError::Corrupt { .. })
        ));
        let mut long = page.clone();
        long[..4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(
            decode_page(&long, 0),
            Err(StoreError::Corrupt { .. })
        ));
    }
}
