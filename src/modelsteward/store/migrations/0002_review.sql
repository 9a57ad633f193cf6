-- The review queue: items routed to people, the claims (leases) on them, and the decisions.
-- An item is pending, in_review (held by one reviewer until its lease ends), decided, or
-- skipped (passed over by `review.max_skips` reviewers). A claim is active until it is
-- decided, skipped or expired; at most one claim of an item is active at any time.
CREATE TABLE review_items (
    item_id VARCHAR PRIMARY KEY,
    model VARCHAR NOT NULL,
    prediction_id VARCHAR NOT NULL,
    queue VARCHAR NOT NULL,
    priority VARCHAR NOT NULL,         -- critical | high | medium | low
    priority_rank INTEGER NOT NULL,    -- 3 = critical .. 0 = low: claims take the highest first
    reasons VARCHAR NOT NULL,          -- JSON list of {name, kind, priority, detail}
    suggestion VARCHAR,                -- the model's prediction
    confidence DOUBLE,
    model_version VARCHAR,
    input VARCHAR NOT NULL,            -- JSON {features, attributes}
    required INTEGER NOT NULL,         -- decisions from distinct reviewers that complete the item
    state VARCHAR NOT NULL,            -- pending | in_review | decided | skipped
    holder VARCHAR,                    -- the reviewer holding it while in_review
    claim_id VARCHAR,
    lease_until TIMESTAMP,
    routed_at TIMESTAMP NOT NULL,
    due_at TIMESTAMP,                  -- routed_at + the SLA of its priority
    closed_at TIMESTAMP                -- when it became decided or skipped
);
CREATE UNIQUE INDEX review_items_once ON review_items (model, prediction_id);

CREATE TABLE review_claims (
    claim_id VARCHAR PRIMARY KEY,
    item_id VARCHAR NOT NULL,
    reviewer VARCHAR NOT NULL,
    claimed_at TIMESTAMP NOT NULL,
    lease_until TIMESTAMP NOT NULL,
    outcome VARCHAR,                   -- NULL while active | decided | skipped | expired
    ended_at TIMESTAMP
);

CREATE TABLE review_decisions (
    decision_id VARCHAR PRIMARY KEY,   -- one per claim: 'rd-' + claim id
    item_id VARCHAR NOT NULL,
    model VARCHAR NOT NULL,
    prediction_id VARCHAR NOT NULL,
    claim_id VARCHAR NOT NULL,
    reviewer VARCHAR NOT NULL,
    decision VARCHAR NOT NULL,         -- accept | correct | reject | skip
    label VARCHAR,                     -- the label the reviewer gave (accept: the suggestion)
    comment VARCHAR,
    decided_at TIMESTAMP NOT NULL,
    seconds_from_routing DOUBLE NOT NULL,
    seconds_from_claim DOUBLE NOT NULL,
    feedback_id VARCHAR                -- the expert feedback it became (NULL for reject and skip)
);
CREATE INDEX review_decisions_by_item ON review_decisions (item_id);
