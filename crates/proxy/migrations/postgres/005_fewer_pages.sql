-- Nothing on PostgreSQL: 005 drops two SQLite indexes that cost a page write per
-- message for nothing there; PostgreSQL's are left as they are. Kept so both backends
-- share one version sequence.
SELECT 1;
