-- The PostgreSQL event store.
--
-- Global order is (tx_id, position): tx_id is the id of the writing transaction, position a
-- sequence number. Readers only read below the oldest running transaction
-- (pg_snapshot_xmin(pg_current_snapshot())), so no event can ever appear before one they read.
CREATE TABLE events (
    position BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tx_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
    event_id UUID NOT NULL UNIQUE,
    stream_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    event_type TEXT NOT NULL,
    event_version INT NOT NULL,
    -- Unix microseconds.
    occurred_at BIGINT NOT NULL,
    recorded_at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    organization UUID NULL,
    causation_id UUID NULL,
    correlation_id UUID NULL,
    -- The exact stored bytes (the hash covers them): never jsonb.
    payload BYTEA NOT NULL,
    prev_hash BYTEA NOT NULL,
    hash BYTEA NOT NULL,
    UNIQUE (stream_id, version)
);

CREATE INDEX events_global_order ON events (tx_id, position);

CREATE TABLE streams (
    stream_id TEXT PRIMARY KEY,
    version BIGINT NOT NULL,
    last_hash BYTEA NOT NULL,
    last_recorded_at BIGINT NOT NULL
);

CREATE TABLE snapshots (
    stream_id TEXT PRIMARY KEY,
    version BIGINT NOT NULL,
    snapshot_version INT NOT NULL,
    state BYTEA NOT NULL
);

-- The log is append-only. The application role has no UPDATE, DELETE or TRUNCATE privilege on
-- events; these triggers stop the owner too (defence in depth).
CREATE FUNCTION events_are_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are immutable: % on events is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER events_no_update_or_delete
    BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_are_immutable();

CREATE TRIGGER events_no_truncate
    BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_are_immutable();
