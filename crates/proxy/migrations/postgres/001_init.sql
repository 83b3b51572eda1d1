-- The proxy's first schema (PostgreSQL): idempotency ledger, tickets and their exchanges,
-- transcripts, identity fences and revocations, rate-limit buckets.

CREATE TABLE ledger (
    customer       TEXT NOT NULL,
    ticket         TEXT NOT NULL,
    message_id     TEXT NOT NULL,
    content_sha256 TEXT NOT NULL,
    client         TEXT NOT NULL DEFAULT '',
    born_ms        BIGINT NOT NULL,
    progress       TEXT,
    user_unknown   BIGINT NOT NULL DEFAULT 0,
    claim_owner    TEXT,
    claim_until    BIGINT,
    PRIMARY KEY (customer, ticket, message_id)
);
CREATE INDEX ledger_born ON ledger (born_ms);
CREATE INDEX ledger_customer_born ON ledger (customer, born_ms);
CREATE INDEX ledger_client_born ON ledger (client, born_ms);

CREATE TABLE tickets (
    customer   TEXT NOT NULL,
    ticket     TEXT NOT NULL,
    session_id TEXT NOT NULL,
    subject    TEXT NOT NULL,
    status     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    opening    TEXT NOT NULL,
    feedback   TEXT,
    PRIMARY KEY (customer, ticket)
);

CREATE TABLE ticket_exchanges (
    seq      BIGSERIAL PRIMARY KEY,
    customer TEXT NOT NULL,
    ticket   TEXT NOT NULL,
    message  TEXT NOT NULL,
    reply    TEXT NOT NULL
);
CREATE INDEX ticket_exchanges_ticket ON ticket_exchanges (customer, ticket, seq);

CREATE TABLE transcript_messages (
    seq          BIGSERIAL PRIMARY KEY,
    customer     TEXT NOT NULL,
    ticket       TEXT NOT NULL,
    message_id   TEXT NOT NULL,
    author_kind  TEXT NOT NULL,
    display_name TEXT,
    body         TEXT NOT NULL,
    at_ms        BIGINT NOT NULL,
    UNIQUE (customer, ticket, message_id)
);
CREATE INDEX transcript_messages_ticket ON transcript_messages (customer, ticket, seq);

CREATE TABLE customer_fences (
    customer     TEXT PRIMARY KEY,
    forgotten_at BIGINT NOT NULL
);

CREATE TABLE revoked_visitors (
    visitor_id TEXT PRIMARY KEY,
    revoked_at BIGINT NOT NULL
);

CREATE TABLE rate_buckets (
    bucket     TEXT PRIMARY KEY,
    tokens     DOUBLE PRECISION NOT NULL,
    updated_ms BIGINT NOT NULL,
    last_ok    BIGINT NOT NULL DEFAULT 1
);
