-- A ticket being created: the replica that inserted the claim adds the opening line to
-- EverOS, then writes the ticket and deletes the claim in one transaction. Kept apart
-- from `tickets`, so listings, counts and expiry never see a half-created ticket. A
-- claim older than its lease (its replica died) is taken over.
CREATE TABLE ticket_claims (
    customer TEXT NOT NULL,
    ticket TEXT NOT NULL,
    claimed_at BIGINT NOT NULL,
    owner TEXT NOT NULL,
    PRIMARY KEY (customer, ticket)
);
