-- Fewer pages written per message (every page a write transaction dirties is written
-- whole to the WAL; `store_bench`, README "What the proxy's storage costs"):
-- - `conversations_queue` goes: no query uses it (the queue orders by an expression and
--   scans), yet every message moved its entry;
-- - `live_events_at` goes: only the pruning (every 256 events, of a table kept to about
--   10,000 rows) filtered on `at_ms`, and it now scans; every event wrote to it.
DROP INDEX conversations_queue;
DROP INDEX live_events_at;
