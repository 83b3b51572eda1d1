-- When a ticket was last used (created, a message, closed): tickets untouched for
-- --ticket-ttl-days leave the proxy's state (EverOS keeps its memory), and the oldest
-- closed ones leave first once --max-tickets are kept.
ALTER TABLE tickets ADD COLUMN touched_at BIGINT NOT NULL DEFAULT 0;
UPDATE tickets SET touched_at = created_at;
CREATE INDEX tickets_touched ON tickets (touched_at);
CREATE INDEX tickets_status_touched ON tickets (status, touched_at);
