//! Transcripts: the messages of each ticket as the customer and agents see them (id,
//! author, display name, text, time), appended once per message id to a ticket that has
//! a conversation, bounded per ticket (the oldest leave first), read whole or paged.

use everdesk_api::{Author, TranscriptMessage};

use super::{Row, Store, StoreError, Val};
use crate::params;

/// The stored name of an author.
fn author_name(a: Author) -> &'static str {
    match a {
        Author::Customer => "customer",
        Author::Bot => "assistant",
        Author::Agent => "agent",
    }
}

fn parse_author(s: &str) -> Option<Author> {
    Some(match s {
        "customer" => Author::Customer,
        "assistant" => Author::Bot,
        "agent" => Author::Agent,
        _ => return None,
    })
}

impl Store {
    /// Appends `m` to the transcript of the conversation `session_id` (the ticket
    /// `ticket` of `customer`), keeping at most `keep` messages; `false` when its id is
    /// already there (a retry) or the conversation does not exist, which changes nothing.
    pub async fn append_message(
        &self,
        session_id: &str,
        customer: &str,
        ticket: &str,
        m: &TranscriptMessage,
        keep: i64,
    ) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "INSERT INTO transcript_messages
                   (customer, ticket, message_id, author_kind, display_name, body, at_ms)
                 SELECT $1, $2, $3, $4, $5, $6, $7
                 WHERE EXISTS (SELECT 1 FROM conversations WHERE session_id = $8)
                 ON CONFLICT (customer, ticket, message_id) DO NOTHING",
                params![
                    customer,
                    ticket,
                    &m.id,
                    author_name(m.author),
                    m.name.clone(),
                    &m.content,
                    m.created_at,
                    session_id
                ],
            )
            .await?;
        if n == 0 {
            return Ok(false);
        }
        let counted = self
            .query_one(
                "UPDATE conversations SET messages = messages + 1,
                   last_message_at = CASE WHEN last_message_at < $2 THEN $2
                                     ELSE last_message_at END
                 WHERE session_id = $1 RETURNING messages",
                params![session_id, m.created_at],
            )
            .await?;
        let messages = counted
            .and_then(|r| r.first().and_then(Val::int))
            .unwrap_or(0);
        if messages > keep {
            // Usually one message: the oldest leaves as each new one arrives.
            let extra = messages - keep;
            let gone = self
                .exec(
                    "DELETE FROM transcript_messages WHERE seq IN
                       (SELECT seq FROM transcript_messages WHERE customer = $1 AND ticket = $2
                        ORDER BY seq LIMIT $3)",
                    params![customer, ticket, extra],
                )
                .await?;
            self.exec(
                "UPDATE conversations SET messages = messages - $2 WHERE session_id = $1",
                params![session_id, i64::try_from(gone).unwrap_or(i64::MAX)],
            )
            .await?;
        }
        Ok(true)
    }

    /// The transcript message with this id, if the ticket has it.
    pub async fn message(
        &self,
        customer: &str,
        ticket: &str,
        id: &str,
    ) -> Result<Option<TranscriptMessage>, StoreError> {
        let row = self
            .query_one(
                "SELECT message_id, author_kind, display_name, body, at_ms
                 FROM transcript_messages
                 WHERE customer = $1 AND ticket = $2 AND message_id = $3",
                params![customer, ticket, id],
            )
            .await?;
        row.map(decode).transpose()
    }

    /// The ticket's whole transcript (at most the kept bound), oldest first.
    pub async fn transcript(
        &self,
        customer: &str,
        ticket: &str,
    ) -> Result<Vec<TranscriptMessage>, StoreError> {
        let rows = self
            .query(
                "SELECT message_id, author_kind, display_name, body, at_ms
                 FROM transcript_messages WHERE customer = $1 AND ticket = $2 ORDER BY seq",
                params![customer, ticket],
            )
            .await?;
        rows.into_iter().map(decode).collect()
    }

    /// One page of the ticket's transcript, oldest first: the newest `limit` messages
    /// written before `before` (epoch ms; `None`: the newest), and the `before` of the
    /// page preceding it when there is one (its first message's time).
    pub async fn transcript_page(
        &self,
        customer: &str,
        ticket: &str,
        before: Option<i64>,
        limit: i64,
    ) -> Result<(Vec<TranscriptMessage>, Option<i64>), StoreError> {
        let rows = self
            .query(
                "SELECT message_id, author_kind, display_name, body, at_ms
                 FROM transcript_messages
                 WHERE customer = $1 AND ticket = $2 AND at_ms < $3
                 ORDER BY seq DESC LIMIT $4",
                params![customer, ticket, before.unwrap_or(i64::MAX), limit + 1],
            )
            .await?;
        let mut messages = rows
            .into_iter()
            .map(decode)
            .collect::<Result<Vec<_>, _>>()?;
        let more = messages.len() as i64 > limit;
        messages.truncate(usize::try_from(limit).unwrap_or(0));
        messages.reverse();
        let before = more
            .then(|| messages.first().map(|m| m.created_at))
            .flatten();
        Ok((messages, before))
    }
}

fn decode(row: Row) -> Result<TranscriptMessage, StoreError> {
    let bad = || StoreError::Decode("transcript row".into());
    let mut it = row.into_iter();
    let mut next = || it.next().ok_or_else(bad);
    let id = next()?.into_text().ok_or_else(bad)?;
    let author = next()?.text().and_then(parse_author).ok_or_else(bad)?;
    let name = next()?.into_text();
    let content = next()?.into_text().ok_or_else(bad)?;
    let created_at = next()?.int().ok_or_else(bad)?;
    Ok(TranscriptMessage {
        id,
        author,
        name,
        content,
        created_at,
    })
}
