-- Retrain requests: one row per fired retraining trigger (or manual request), with its evidence.
-- `dedup_key` names what fired (model, trigger, the episode of windows or the schedule tick);
-- the unique index makes the same evaluation on the same evidence create one request only.
CREATE TABLE retrain_requests (
    request_id VARCHAR PRIMARY KEY,
    model VARCHAR NOT NULL,
    trigger_name VARCHAR NOT NULL,     -- a trigger, an alert rule with retrain: true, or `manual`
    kind VARCHAR NOT NULL,             -- metric | rule | drift | schedule | manual
    dedup_key VARCHAR NOT NULL,
    reason VARCHAR NOT NULL,
    evidence VARCHAR NOT NULL,         -- JSON: windows, values, thresholds (or the tick, or the reason)
    as_of TIMESTAMP NOT NULL,          -- data time the request is about (end of the last window, the tick, or now)
    labels_total BIGINT NOT NULL,      -- labelled predictions up to as_of
    new_labels BIGINT NOT NULL,        -- predictions labelled since the trigger's previous request
    requested_by VARCHAR,
    status VARCHAR NOT NULL,           -- open | exported | export_failed | done | cancelled
    export_path VARCHAR,
    export_rows BIGINT,
    actions VARCHAR NOT NULL,          -- JSON list: what the command / webhook did
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX retrain_requests_once ON retrain_requests (model, dedup_key);
