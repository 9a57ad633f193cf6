-- Alert states, incidents and silences (issue 5). Small, transactional state.
-- One row per alert (a rule of a model, identified by the fingerprint of its labels).
CREATE TABLE alert_instances (
    fingerprint VARCHAR PRIMARY KEY,
    model VARCHAR NOT NULL,
    rule VARCHAR NOT NULL,
    labels VARCHAR NOT NULL,           -- JSON
    state VARCHAR NOT NULL,            -- normal | pending | firing | no_data | resolved (what people see)
    raw_state VARCHAR NOT NULL,        -- what the condition alone says (differs while held as flapping)
    since TIMESTAMP,                   -- when `state` was entered (a window's end)
    clear_since TIMESTAMP,             -- keep_firing_for: end of the first clear window of a firing alert
    flips VARCHAR NOT NULL,            -- JSON list of the flip times within the flapping period
    flapping BOOLEAN NOT NULL,
    last_window_start TIMESTAMP,       -- the last window the state machine has taken in
    last_window_end TIMESTAMP,
    last_value DOUBLE,
    updated_at TIMESTAMP NOT NULL
);

-- Every change of an alert's state, with its reason (held = recorded while flapping, not shown).
CREATE TABLE alert_transitions (
    seq BIGINT PRIMARY KEY,            -- order of recording (written by the one writer)
    fingerprint VARCHAR NOT NULL,
    model VARCHAR NOT NULL,
    rule VARCHAR NOT NULL,
    window_end TIMESTAMP NOT NULL,     -- when it happened: the window's end
    window_start TIMESTAMP NOT NULL,
    from_state VARCHAR NOT NULL,
    to_state VARCHAR NOT NULL,
    reason VARCHAR NOT NULL,
    value DOUBLE,
    held BOOLEAN NOT NULL,
    flapping BOOLEAN NOT NULL,
    silenced_by VARCHAR,               -- the silence muting it when it was recorded
    incident_id VARCHAR,
    recorded_at TIMESTAMP NOT NULL
);

CREATE TABLE incidents (
    incident_id VARCHAR PRIMARY KEY,
    fingerprint VARCHAR NOT NULL,
    model VARCHAR NOT NULL,
    rule VARCHAR NOT NULL,
    labels VARCHAR NOT NULL,           -- JSON
    severity VARCHAR NOT NULL,
    summary VARCHAR NOT NULL,
    status VARCHAR NOT NULL,           -- open | acknowledged | resolved
    alert_state VARCHAR NOT NULL,      -- firing | no_data | resolved: the alert's state behind it
    started_at TIMESTAMP NOT NULL,     -- end of the window in which it began
    opened_at TIMESTAMP NOT NULL,      -- when the monitoring pass opened it; SLAs count from here
    updated_at TIMESTAMP NOT NULL,
    window_start TIMESTAMP,            -- latest window seen alerting
    window_end TIMESTAMP,
    value DOUBLE,
    threshold DOUBLE,
    fire_count INTEGER NOT NULL,       -- alerting windows folded into this incident
    owner VARCHAR,
    runbook VARCHAR,
    response_sla VARCHAR,
    acknowledged_at TIMESTAMP,
    acknowledged_by VARCHAR,
    ack_comment VARCHAR,
    resolved_at TIMESTAMP,
    resolved_by VARCHAR,               -- NULL when resolved because the condition cleared
    resolve_comment VARCHAR,
    escalation_level INTEGER NOT NULL, -- step of the escalation path reached (1 = first responder)
    escalated_at TIMESTAMP NOT NULL,   -- when that step was reached
    notified_firing BOOLEAN NOT NULL,  -- a firing notification has gone out
    notified_resolved BOOLEAN NOT NULL
);

-- Every event of an incident (opened, updated, acknowledged, escalated, resolved, ...), with its reason.
CREATE TABLE incident_events (
    seq BIGINT PRIMARY KEY,            -- order of recording (written by the one writer)
    incident_id VARCHAR NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    kind VARCHAR NOT NULL,
    actor VARCHAR,
    reason VARCHAR NOT NULL,
    escalation_level INTEGER,
    notified BOOLEAN NOT NULL,         -- a notification was handed to the dispatcher
    silenced_by VARCHAR                -- the silence that held it back
);

CREATE TABLE silences (
    silence_id VARCHAR PRIMARY KEY,
    matchers VARCHAR NOT NULL,         -- JSON list of {name, op, value}
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    created_by VARCHAR NOT NULL,
    comment VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expired_at TIMESTAMP               -- set when ended early by hand
);
