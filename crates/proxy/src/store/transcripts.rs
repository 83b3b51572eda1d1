//! Transcripts: the messages of each ticket as the customer and agents see them (id,
//! author kind, display name, text, time), appended once per message id and listed in
//! order.

use super::{Row, Store, StoreError};
use crate::params;

/// Who wrote a transcript message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthorKind {
    /// The customer.
    Customer,
    /// The assistant (generated reply).
    Assistant,
    /// A human agent.
    Agent,
    /// The system (ticket opened, hand-off notes).
    System,
}

impl AuthorKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Customer => "customer",
            Self::Assistant => "assistant",
            Self::Agent => "agent",
            Self::System => "system",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "customer" => Self::Customer,
            "assistant" => Self::Assistant,
            "agent" => Self::Agent,
            "system" => Self::System,
            _ => return None,
        })
    }
}

/// One message of a ticket's transcript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranscriptMessage {
    /// The message id (unique within the ticket).
    pub id: String,
    /// Who wrote it.
    pub author: AuthorKind,
    /// The name shown with it, if any.
    pub display_name: Option<String>,
    /// The text.
    pub text: String,
    /// When it was written, epoch ms.
    pub at_ms: i64,
}

impl Store {
    /// Appends `m` to the ticket's transcript; `false` when its id is already there
    /// (a retry), which changes nothing.
    pub async fn append_message(
        &self,
        customer: &str,
        ticket: &str,
        m: &TranscriptMessage,
    ) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "INSERT INTO transcript_messages
                   (customer, ticket, message_id, author_kind, display_name, body, at_ms)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (customer, ticket, message_id) DO NOTHING",
                params![
                    customer,
                    ticket,
                    &m.id,
                    m.author.as_str(),
                    m.display_name.clone(),
                    &m.text,
                    m.at_ms
                ],
            )
            .await?;
        Ok(n == 1)
    }

    /// The ticket's transcript in order, at most `limit` messages after position
    /// `after` (0: from the start); each with its position, to page on.
    pub async fn list_messages(
        &self,
        customer: &str,
        ticket: &str,
        after: i64,
        limit: i64,
    ) -> Result<Vec<(i64, TranscriptMessage)>, StoreError> {
        let rows = self
            .query(
                "SELECT seq, message_id, author_kind, display_name, body, at_ms
                 FROM transcript_messages
                 WHERE customer = $1 AND ticket = $2 AND seq > $3
                 ORDER BY seq LIMIT $4",
                params![customer, ticket, after, limit],
            )
            .await?;
        rows.into_iter().map(decode).collect()
    }
}

fn decode(row: Row) -> Result<(i64, TranscriptMessage), StoreError> {
    let bad = || StoreError::Decode("transcript row".into());
    let mut it = row.into_iter();
    let mut next = || it.next().ok_or_else(bad);
    let seq = next()?.int().ok_or_else(bad)?;
    let id = next()?.into_text().ok_or_else(bad)?;
    let author = next()?.text().and_then(AuthorKind::parse).ok_or_else(bad)?;
    let display_name = next()?.into_text();
    let text = next()?.into_text().ok_or_else(bad)?;
    let at_ms = next()?.int().ok_or_else(bad)?;
    Ok((
        seq,
        TranscriptMessage {
            id,
            author,
            display_name,
            text,
            at_ms,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::stores;

    fn msg(id: &str, author: AuthorKind, text: &str) -> TranscriptMessage {
        TranscriptMessage {
            id: id.into(),
            author,
            display_name: (author == AuthorKind::Agent).then(|| "Sam".to_owned()),
            text: text.into(),
            at_ms: 7,
        }
    }

    #[tokio::test]
    async fn messages_append_once_and_list_in_order_per_ticket() {
        for s in stores("transcripts").await {
            let a = msg("m1", AuthorKind::Customer, "my parcel");
            let b = msg("m2", AuthorKind::Agent, "on its way");
            assert!(s.append_message("c", "t", &a).await.unwrap());
            assert!(s.append_message("c", "t", &b).await.unwrap());
            assert!(!s.append_message("c", "t", &a).await.unwrap(), "a retry");
            assert!(s.append_message("c", "u", &a).await.unwrap());
            let all = s.list_messages("c", "t", 0, 10).await.unwrap();
            let got: Vec<_> = all.iter().map(|(_, m)| m.clone()).collect();
            assert_eq!(got, [a.clone(), b.clone()]);
            let rest = s.list_messages("c", "t", all[0].0, 10).await.unwrap();
            assert_eq!(rest.len(), 1);
            assert_eq!(rest[0].1, b);
            s.forget_customer("c", 1).await.unwrap();
            assert!(s.list_messages("c", "t", 0, 10).await.unwrap().is_empty());
        }
    }
}
