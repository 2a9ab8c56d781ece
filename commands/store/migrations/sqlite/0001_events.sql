-- The embedded event store. Positions are gapless and assigned by the single writer. Each row
-- keeps the columns queries filter on, and the whole event in `record` (see store/record.rs),
-- so a page of the log is read as one concatenated value.
CREATE TABLE events (
    position INTEGER PRIMARY KEY,
    event_id BLOB NOT NULL UNIQUE,
    stream_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    recorded_at INTEGER NOT NULL,
    record BLOB NOT NULL,
    UNIQUE (stream_id, version)
);

CREATE TABLE streams (
    stream_id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    last_hash BLOB NOT NULL,
    last_recorded_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE snapshots (
    stream_id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    snapshot_version INTEGER NOT NULL,
    state BLOB NOT NULL
) WITHOUT ROWID;

-- The log is append-only: the store never updates or deletes an event.
CREATE TRIGGER events_are_immutable_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are immutable');
END;

CREATE TRIGGER events_are_immutable_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are immutable');
END;
