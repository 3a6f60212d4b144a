-- The PostgreSQL store's functions, created or replaced whenever a store
-- connects, after the tables are at the latest layout (see `PostgresStore`
-- for the design). A function whose signature changes is a new overload: the
-- old one stays, so that processes of the previous version keep working
-- during a rolling upgrade (their events carry no aggregate type, or no
-- hash-chain link).
--
-- `statements.rs` fills in the placeholders, in braces, with validated or
-- computed values only: schema (the quoted schema name), namespace (the
-- schema's 16-bit namespace, as pg_locks shows it: classid >> 16), floor_key
-- (the advisory-lock key announcing this transaction's floor: the namespace
-- in the top 16 bits, the last allocated position in the low 48),
-- stale_stream (whether stream c.stream_id is not at version c.expected, for
-- a row c of the streams and their expected versions), channel (the
-- schema's NOTIFY channel), listen_class and listen_slots (the listener
-- registry's keys, below) and listen_key (the registry key of the calling
-- session's slot, as the two int4 arguments of an advisory-lock function).

-- The lowest position that may still commit, minus one (see the Rust docs of
-- chronicle_es_runtime::store::postgres): S = last allocated position, read first;
-- M = smallest floor announced by an in-flight append of this schema.
CREATE OR REPLACE FUNCTION {schema}.chronicle_horizon() RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
    v_allocated bigint;
    v_in_flight bigint;
BEGIN
    SELECT q.last_value - (NOT q.is_called)::int INTO v_allocated FROM {schema}.events_position_seq q;
    SELECT min(((l.classid::bigint & 65535) << 32) | l.objid::bigint) INTO v_in_flight
      FROM pg_catalog.pg_locks l
     WHERE l.locktype = 'advisory' AND l.objsubid = 1
       AND l.database = (SELECT d.oid FROM pg_catalog.pg_database d
                          WHERE d.datname = pg_catalog.current_database())
       AND (l.classid::bigint >> 16) = {namespace};
    RETURN least(v_allocated, v_in_flight);
END
$fn$;

-- The listener registry (see "Notifications" on PostgresStore): appends
-- notify {channel} only while a session is registered. A session registers by
-- taking, for the rest of the session, a shared advisory lock on each of the
-- schema's {listen_slots} registry keys, the int4 pairs ({listen_class},
-- {namespace} + 65536 * slot), then listens. An append notifies unless it
-- takes the key of its own slot (its backend's pid modulo {listen_slots})
-- exclusively, without waiting, for its transaction: taken, no session was
-- registered or registering, and one that starts to register waits for this
-- append to end, then re-reads after its LISTEN; refused, a session holds the
-- key or waits for it (or another append of the same slot holds it), and the
-- append notifies. Slots keep appends of different connections from refusing
-- each other. The int4-pair form shows objsubid 2 in pg_locks, so
-- chronicle_horizon (objsubid 1) never takes a registry key for a floor; the
-- set-up lock is the pair (1667789360, namespace).
CREATE OR REPLACE FUNCTION {schema}.chronicle_listen() RETURNS void
LANGUAGE plpgsql VOLATILE AS $fn$
BEGIN
    PERFORM pg_catalog.pg_advisory_lock_shared({listen_class}, {namespace} + 65536 * s.slot)
       FROM pg_catalog.generate_series(0, {listen_slots} - 1) AS s(slot);
    -- Takes effect when the calling transaction commits, after the keys
    -- are held.
    LISTEN "{channel}";
END
$fn$;

CREATE OR REPLACE FUNCTION {schema}.chronicle_append(
    p_streams uuid[], p_expected bigint[],
    e_stream uuid[], e_version bigint[], e_id uuid[], e_type text[], e_schema bigint[],
    e_time timestamptz[], e_meta jsonb[], e_json json[], e_bytes bytea[],
    p_consumer text, p_position bigint, e_aggregate text[], e_chain bytea[]) RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
    v_key bigint;
    v_actual bigint;
    v_rows bigint;
    v_position bigint;
BEGIN
    -- Announce a floor below every position this transaction will allocate,
    -- before allocating any. (Simple expressions, which PL/pgSQL evaluates
    -- without starting a query; pg_sequence_last_value is what the
    -- pg_sequences view reads: the last allocated value, NULL before the first.)
    v_key := {floor_key};
    IF NOT pg_catalog.pg_try_advisory_xact_lock_shared(v_key) THEN
        PERFORM pg_catalog.pg_advisory_xact_lock_shared(v_key);
    END IF;
    IF p_consumer IS NOT NULL THEN
        INSERT INTO {schema}.tracking AS t (consumer, position) VALUES (p_consumer, p_position)
        ON CONFLICT (consumer) DO UPDATE SET position = excluded.position
         WHERE t.position < excluded.position;
        GET DIAGNOSTICS v_rows = ROW_COUNT;
        IF v_rows = 0 THEN
            RAISE EXCEPTION 'chronicle: tracking of % would not move forward', p_consumer
                USING ERRCODE = 'CH002';
        END IF;
    END IF;
    IF array_length(p_streams, 1) = 1 AND array_length(e_stream, 1) = 1 THEN
        -- One event, one statement. Versions are consecutive, so the stream
        -- is at the expected version E when it holds E (or, for E = 0, does
        -- not hold 1) and does not hold E + 1, which the unique constraint
        -- refuses. The condition involves no row, so it gates the statement
        -- before nextval runs: a stream behind E, or a new stream that
        -- exists, allocates no position.
        INSERT INTO {schema}.events (position, stream_id, version, event_id, event_type,
                                schema_version, recorded_at, metadata, payload, payload_bytes,
                                aggregate_type, chain_hash)
        SELECT nextval('{schema}.events_position_seq'), e_stream[1], e_version[1], e_id[1],
               e_type[1], e_schema[1], e_time[1], e_meta[1], e_json[1], e_bytes[1],
               e_aggregate[1], e_chain[1]
         WHERE EXISTS (SELECT FROM {schema}.events e
                        WHERE e.stream_id = p_streams[1]
                          AND e.version = greatest(p_expected[1], 1)) = (p_expected[1] > 0)
        RETURNING position INTO v_position;
        IF v_position IS NULL THEN
            RAISE EXCEPTION 'chronicle: stream % is not at version %',
                p_streams[1], p_expected[1] USING ERRCODE = 'CH001';
        END IF;
        -- Wakes followers (LISTEN {channel}) while any are registered;
        -- delivered only if this commits.
        IF NOT pg_catalog.pg_try_advisory_xact_lock({listen_key}) THEN
            PERFORM pg_catalog.pg_notify('{channel}', v_position::text);
        END IF;
        RETURN v_position;
    END IF;
    FOR i IN 1 .. coalesce(array_length(p_streams, 1), 0) LOOP
        SELECT coalesce(max(e.version), 0) INTO v_actual FROM {schema}.events e
         WHERE e.stream_id = p_streams[i];
        IF v_actual <> p_expected[i] THEN
            RAISE EXCEPTION 'chronicle: stream % is at version %, not %',
                p_streams[i], v_actual, p_expected[i] USING ERRCODE = 'CH001';
        END IF;
    END LOOP;
    IF coalesce(array_length(e_stream, 1), 0) = 0 THEN
        RETURN NULL;
    END IF;
    INSERT INTO {schema}.events (position, stream_id, version, event_id, event_type,
                            schema_version, recorded_at, metadata, payload, payload_bytes,
                            aggregate_type, chain_hash)
    SELECT nextval('{schema}.events_position_seq'), u.stream_id, u.version, u.event_id,
           u.event_type, u.schema_version, u.recorded_at, u.metadata, u.payload, u.payload_bytes,
           u.aggregate_type, u.chain_hash
      FROM unnest(e_stream, e_version, e_id, e_type, e_schema, e_time, e_meta, e_json, e_bytes,
                  e_aggregate, e_chain)
           WITH ORDINALITY AS u(stream_id, version, event_id, event_type, schema_version,
                                recorded_at, metadata, payload, payload_bytes, aggregate_type,
                                chain_hash, ord)
     ORDER BY u.ord;
    -- Wakes followers (LISTEN {channel}) while any are registered; delivered
    -- only if this commits.
    IF NOT pg_catalog.pg_try_advisory_xact_lock({listen_key}) THEN
        PERFORM pg_catalog.pg_notify('{channel}', currval('{schema}.events_position_seq')::text);
    END IF;
    RETURN currval('{schema}.events_position_seq');
END
$fn$;

-- chronicle_append for a grouped commit (see group.rs): several calls share
-- one transaction, so each runs in a subtransaction of its own and returns
-- its error instead of raising it; a request that fails rolls back alone.
CREATE OR REPLACE FUNCTION {schema}.chronicle_append_in_group(
    p_streams uuid[], p_expected bigint[],
    e_stream uuid[], e_version bigint[], e_id uuid[], e_type text[], e_schema bigint[],
    e_time timestamptz[], e_meta jsonb[], e_json json[], e_bytes bytea[],
    p_consumer text, p_position bigint, e_aggregate text[], e_chain bytea[],
    OUT o_position bigint, OUT o_code text, OUT o_message text)
LANGUAGE plpgsql VOLATILE AS $fn$
BEGIN
    o_position := {schema}.chronicle_append(p_streams, p_expected, e_stream, e_version, e_id,
        e_type, e_schema, e_time, e_meta, e_json, e_bytes, p_consumer, p_position, e_aggregate,
        e_chain);
EXCEPTION WHEN OTHERS THEN
    o_code := SQLSTATE;
    o_message := SQLERRM;
END
$fn$;

-- The appends of a group (see group.rs) as one statement: their streams,
-- events and tracking records side by side in the same arrays as
-- chronicle_append's (the tracking records as arrays too, one element per
-- append), checked and written together, one notification. Any refusal
-- raises, and the group is committed again one call at a time, each in a
-- subtransaction of its own (chronicle_append_in_group), where it fails
-- alone. Returns the positions written, in the order of the events.
CREATE OR REPLACE FUNCTION {schema}.chronicle_append_together(
    p_streams uuid[], p_expected bigint[],
    e_stream uuid[], e_version bigint[], e_id uuid[], e_type text[], e_schema bigint[],
    e_time timestamptz[], e_meta jsonb[], e_json json[], e_bytes bytea[],
    p_consumers text[], p_positions bigint[], e_aggregate text[], e_chain bytea[])
RETURNS bigint[]
LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
    v_key bigint;
    v_rows bigint;
    v_positions bigint[];
    v_stream uuid;
    v_expected bigint;
BEGIN
    -- The floor, announced before any position is allocated (as in
    -- chronicle_append).
    v_key := {floor_key};
    IF NOT pg_catalog.pg_try_advisory_xact_lock_shared(v_key) THEN
        PERFORM pg_catalog.pg_advisory_xact_lock_shared(v_key);
    END IF;
    -- NULL when no append of the group is tracked: a test that is a plain
    -- expression, not a statement for the executor. (Arrays of NULLs, as
    -- clients before that sent, insert nothing and count nothing.)
    IF p_consumers IS NOT NULL THEN
        INSERT INTO {schema}.tracking AS t (consumer, position)
        SELECT u.consumer, u.position FROM unnest(p_consumers, p_positions) AS u(consumer, position)
         WHERE u.consumer IS NOT NULL
        ON CONFLICT (consumer) DO UPDATE SET position = excluded.position
         WHERE t.position < excluded.position;
        GET DIAGNOSTICS v_rows = ROW_COUNT;
        IF v_rows <> (SELECT count(u.consumer) FROM unnest(p_consumers) AS u(consumer)) THEN
            RAISE EXCEPTION 'chronicle: a tracking record of the group would not move forward'
                USING ERRCODE = 'CH002';
        END IF;
    END IF;
    -- Each stream at its expected version, all in one statement (see
    -- stale_stream).
    SELECT c.stream_id, c.expected INTO v_stream, v_expected
      FROM unnest(p_streams, p_expected) AS c(stream_id, expected)
     WHERE {stale_stream}
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'chronicle: stream % is not at version %',
            v_stream, v_expected USING ERRCODE = 'CH001';
    END IF;
    WITH written AS (
        INSERT INTO {schema}.events (position, stream_id, version, event_id, event_type,
                                schema_version, recorded_at, metadata, payload, payload_bytes,
                                aggregate_type, chain_hash)
        SELECT nextval('{schema}.events_position_seq'), u.stream_id, u.version, u.event_id,
               u.event_type, u.schema_version, u.recorded_at, u.metadata, u.payload,
               u.payload_bytes, u.aggregate_type, u.chain_hash
          FROM unnest(e_stream, e_version, e_id, e_type, e_schema, e_time, e_meta, e_json,
                      e_bytes, e_aggregate, e_chain)
               WITH ORDINALITY AS u(stream_id, version, event_id, event_type, schema_version,
                                    recorded_at, metadata, payload, payload_bytes,
                                    aggregate_type, chain_hash, ord)
         ORDER BY u.ord
        RETURNING position)
    SELECT array_agg(w.position ORDER BY w.position) INTO v_positions FROM written w;
    -- Wakes followers (LISTEN {channel}) while any are registered; delivered
    -- only if this commits.
    IF v_positions IS NOT NULL AND NOT pg_catalog.pg_try_advisory_xact_lock({listen_key}) THEN
        PERFORM pg_catalog.pg_notify('{channel}', v_positions[array_length(v_positions, 1)]::text);
    END IF;
    RETURN coalesce(v_positions, ARRAY[]::bigint[]);
END
$fn$;

-- The horizon for the statement that follows on the same connection: kept
-- in the session setting `chronicle.horizon`, which `Sql::read_log` reads.
-- The store sends both in one pipeline; the read, a statement of its own,
-- takes its snapshot after the horizon was computed, as `chronicle_read_log`
-- does inside a function, but streams its rows instead of collecting them
-- first. A setting left by an earlier read is an older horizon, which is
-- still safe (only smaller).
CREATE OR REPLACE FUNCTION {schema}.chronicle_mark_horizon() RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
    v_horizon bigint;
BEGIN
    IF pg_catalog.current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'chronicle: read the log at READ COMMITTED isolation';
    END IF;
    v_horizon := {schema}.chronicle_horizon();
    PERFORM pg_catalog.set_config('chronicle.horizon', v_horizon::text, false);
    RETURN v_horizon;
END
$fn$;

-- The log as one function (kept for processes of earlier versions, which
-- call it during a rolling upgrade).
CREATE OR REPLACE FUNCTION {schema}.chronicle_read_log(
    p_after bigint, p_limit bigint, p_types text[], p_aggregates text[])
RETURNS SETOF {schema}.events
LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
    v_horizon bigint;
BEGIN
    IF pg_catalog.current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'chronicle: read the log at READ COMMITTED isolation';
    END IF;
    v_horizon := {schema}.chronicle_horizon();
    -- A new statement: a snapshot taken after the horizon was computed.
    -- The horizon cuts the page after the limit, not inside it: bounded on
    -- both sides, the range looks small to a planner whose statistics lag
    -- behind the table (a new table, a growing log), which then sorts the
    -- whole rest of the log for every page; bounded below only, the
    -- position index is walked in order and stops at the limit. The first
    -- `p_limit` events after `p_after` that pass the filters, cut at the
    -- horizon, are the first such events up to the horizon.
    RETURN QUERY
        SELECT page.* FROM (
            SELECT e.* FROM {schema}.events e
             WHERE e.position > p_after
               AND (p_types IS NULL OR e.event_type = ANY (p_types))
               -- An event stored without its aggregate's type (layout 1) is
               -- not excluded by the aggregate filter.
               AND (p_aggregates IS NULL OR e.aggregate_type IS NULL
                    OR e.aggregate_type = ANY (p_aggregates))
             ORDER BY e.position
             LIMIT p_limit) page
         WHERE page.position <= v_horizon
         ORDER BY page.position;
END
$fn$;

CREATE OR REPLACE FUNCTION {schema}.chronicle_last_position() RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
    v_horizon bigint;
    v_last bigint;
BEGIN
    IF pg_catalog.current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'chronicle: read the log at READ COMMITTED isolation';
    END IF;
    v_horizon := {schema}.chronicle_horizon();
    SELECT coalesce(max(e.position), 0) INTO v_last FROM {schema}.events e
     WHERE e.position <= v_horizon;
    RETURN v_last;
END
$fn$;
