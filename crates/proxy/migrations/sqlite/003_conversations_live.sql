-- Conversations and live events in the database (so a restart or another replica sees
-- them): where each ticket stands for the support team, and the numbered live events
-- streams resume from. Transcripts use `transcript_messages` (001).

CREATE TABLE conversations (
    session_id      TEXT PRIMARY KEY,
    customer        TEXT NOT NULL,
    customer_json   TEXT NOT NULL,
    ticket          TEXT NOT NULL,
    escalated_at    BIGINT,
    handoff         TEXT,
    claimed_by_id   TEXT,
    claimed_by_name TEXT,
    last_message_at BIGINT NOT NULL DEFAULT 0,
    messages        BIGINT NOT NULL DEFAULT 0,
    updated_ms      BIGINT NOT NULL
);
CREATE INDEX conversations_customer ON conversations (customer, ticket);
CREATE INDEX conversations_queue ON conversations (escalated_at, last_message_at);

CREATE TABLE live_events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    customer   TEXT NOT NULL,
    ticket     TEXT NOT NULL,
    session_id TEXT NOT NULL,
    kind       TEXT NOT NULL,
    at_ms      BIGINT NOT NULL
);
CREATE INDEX live_events_customer ON live_events (customer, seq);
CREATE INDEX live_events_at ON live_events (at_ms);
