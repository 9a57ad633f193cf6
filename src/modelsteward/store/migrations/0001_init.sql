-- State and shared event tables. Per-model prediction and reference tables, whose feature
-- columns come from steward.yaml, are created by the store when a model is registered.
CREATE TABLE models (
    name VARCHAR PRIMARY KEY,
    task VARCHAR NOT NULL,
    labels VARCHAR NOT NULL,           -- JSON list
    config VARCHAR NOT NULL,           -- JSON of the model's configuration
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE model_columns (
    model VARCHAR NOT NULL,
    feature VARCHAR NOT NULL,
    type VARCHAR NOT NULL,             -- numeric | categorical
    column_name VARCHAR NOT NULL,
    PRIMARY KEY (model, feature)
);

CREATE TABLE feedback (
    feedback_id VARCHAR PRIMARY KEY,
    model VARCHAR NOT NULL,
    prediction_id VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,             -- explicit | implicit | outcome | expert
    ts TIMESTAMP NOT NULL,
    label VARCHAR,
    rating DOUBLE,
    action VARCHAR,                    -- implicit: accepted | modified | rejected
    escalated BOOLEAN,
    csat DOUBLE,
    resolution_hours DOUBLE,
    reviewer VARCHAR,
    comment VARCHAR,
    ingested_at TIMESTAMP NOT NULL
);
CREATE INDEX feedback_by_prediction ON feedback (model, prediction_id);

CREATE TABLE reference_profiles (
    model VARCHAR PRIMARY KEY,
    source VARCHAR NOT NULL,           -- JSON: file or period
    n_rows BIGINT NOT NULL,
    profile VARCHAR NOT NULL,          -- JSON: bin edges, counts, categories, baselines
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE window_metrics (
    model VARCHAR NOT NULL,
    window_start TIMESTAMP NOT NULL,
    window_end TIMESTAMP NOT NULL,
    metric VARCHAR NOT NULL,
    value DOUBLE,
    computed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (model, window_start, metric)
);

CREATE TABLE drift_results (
    model VARCHAR NOT NULL,
    window_start TIMESTAMP NOT NULL,
    window_end TIMESTAMP NOT NULL,
    subject VARCHAR NOT NULL,          -- a feature, confidence, prediction or label
    test VARCHAR NOT NULL,             -- ks | psi | chi2 | share_change
    statistic DOUBLE,
    p_value DOUBLE,
    effect_size DOUBLE,
    status VARCHAR NOT NULL,           -- drift | small_change | no_drift | not_enough_data | no_reference
    reading VARCHAR NOT NULL,
    n_reference BIGINT,
    n_current BIGINT,
    details VARCHAR,                   -- JSON
    computed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (model, window_start, subject, test)
);

CREATE TABLE rule_evaluations (
    model VARCHAR NOT NULL,
    rule VARCHAR NOT NULL,
    window_start TIMESTAMP NOT NULL,
    metric VARCHAR NOT NULL,
    value DOUBLE,
    baseline DOUBLE,
    threshold VARCHAR,                 -- human-readable bound(s) the value was compared with
    holds BOOLEAN,                     -- NULL when there was no data to evaluate
    streak INTEGER NOT NULL,
    fired BOOLEAN NOT NULL,
    evaluated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (model, rule, window_start)
);

CREATE TABLE alerts (
    alert_id VARCHAR PRIMARY KEY,
    model VARCHAR NOT NULL,
    rule VARCHAR NOT NULL,
    window_start TIMESTAMP NOT NULL,
    window_end TIMESTAMP NOT NULL,
    metric VARCHAR NOT NULL,
    value DOUBLE,
    baseline DOUBLE,
    threshold VARCHAR NOT NULL,
    severity VARCHAR NOT NULL,
    message VARCHAR NOT NULL,
    action VARCHAR,
    owner VARCHAR,
    runbook VARCHAR,
    response_sla VARCHAR,
    retrain BOOLEAN NOT NULL,
    fired_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX alerts_once_per_window ON alerts (model, rule, window_start);
