-- Notifications: a durable outbox between the alert state machine and the receivers.
-- Each submitted notification is routed at once; every (route, group) it lands in gets a row in
-- notification_queue. deliver_due() folds due groups into one message (notification_messages)
-- and sends it; every attempt is recorded in notification_attempts.
CREATE TABLE notification_events (
    event_id VARCHAR PRIMARY KEY,
    kind VARCHAR NOT NULL,             -- firing | acknowledged | escalated | resolved
    incident_id VARCHAR NOT NULL,
    fingerprint VARCHAR NOT NULL,
    payload VARCHAR NOT NULL,          -- JSON of the Notification
    event_at TIMESTAMP NOT NULL,       -- when the event happened
    submitted_at TIMESTAMP NOT NULL,
    routed_to INTEGER NOT NULL         -- how many (route, group) queues took it; 0 = no route
);

CREATE TABLE notification_groups (
    group_id VARCHAR PRIMARY KEY,      -- hash of route path, receiver and group labels
    route VARCHAR NOT NULL,            -- route path, e.g. "root.routes[0]"
    receiver VARCHAR NOT NULL,
    group_labels VARCHAR NOT NULL,     -- JSON
    created_at TIMESTAMP NOT NULL,
    last_sent_at TIMESTAMP             -- last message (new content or repeat) made from this group
);

CREATE TABLE notification_queue (
    group_id VARCHAR NOT NULL,
    event_id VARCHAR NOT NULL,
    queued_at TIMESTAMP NOT NULL,
    message_id VARCHAR,                -- the message it went into; NULL while waiting
    outcome VARCHAR,                   -- sent | suppressed_repeat
    PRIMARY KEY (group_id, event_id)
);

-- The latest state of each incident as last notified per group: decides repeats and reminders.
CREATE TABLE notification_group_incidents (
    group_id VARCHAR NOT NULL,
    incident_id VARCHAR NOT NULL,
    last_kind VARCHAR NOT NULL,
    payload VARCHAR NOT NULL,          -- JSON of the last notified Notification
    notified_at TIMESTAMP NOT NULL,
    PRIMARY KEY (group_id, incident_id)
);

CREATE TABLE notification_messages (
    message_id VARCHAR PRIMARY KEY,
    group_id VARCHAR NOT NULL,
    receiver VARCHAR NOT NULL,
    status VARCHAR NOT NULL,           -- pending | retrying | sent | failed
    reason VARCHAR NOT NULL,           -- new | repeat | test
    payload VARCHAR NOT NULL,          -- JSON: group labels and the notifications it carries
    attempts INTEGER NOT NULL,
    next_attempt_at TIMESTAMP,
    last_error VARCHAR,                -- secrets redacted
    created_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP
);

CREATE TABLE notification_attempts (
    message_id VARCHAR NOT NULL,
    attempt INTEGER NOT NULL,
    receiver VARCHAR NOT NULL,
    attempted_at TIMESTAMP NOT NULL,
    outcome VARCHAR NOT NULL,          -- sent | failed
    status_code INTEGER,
    error VARCHAR,                     -- secrets redacted
    duration_ms DOUBLE,
    PRIMARY KEY (message_id, attempt)
);
