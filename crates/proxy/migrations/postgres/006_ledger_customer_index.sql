-- Nothing on PostgreSQL (006 drops an SQLite index to write one page fewer per message);
-- kept so both backends share one version sequence.
SELECT 1;
