-- The ledger's (customer, born_ms) index goes: every query by customer is served by the
-- primary key's prefix (customer, ticket, message_id), and those that order by age run
-- only when the ledger is full (making room, or telling a customer over its share how
-- long to wait), over that one customer's rows. Every new message id wrote to it: one
-- page (a WAL frame) fewer per message.
DROP INDEX ledger_customer_born;
