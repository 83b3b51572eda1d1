//! Transcripts: the messages of each ticket as the customer and agents see them (id,
//! author, display name, text, time), appended once per message id to a ticket that has
//! a conversation, bounded per ticket (the oldest leave first), read whole or paged.

use everdesk_api::{Author, TranscriptMessage};

use super::{Backend, Row, Store, StoreError, Val};
use crate::params;

/// One exchange's transcript write, done by [`Store::record_transcript`] in one
/// transaction: the conversation opened if new, then each message appended (once per id)
/// with its live event.
#[derive(Debug, Clone)]
pub struct TranscriptWrite {
    /// Statements run first, in the same transaction (the ticket's exchange).
    pub before: Vec<super::Statement>,
    /// The conversation (the ticket's session id).
    pub session_id: String,
    /// The customer id.
    pub customer: String,
    /// The customer as the conversation shows them (JSON), when it is new.
    pub customer_json: String,
    /// The customer's ticket id.
    pub ticket: String,
    /// The messages, each with its live event's kind (JSON).
    pub messages: Vec<(TranscriptMessage, String)>,
    /// At most this many messages are kept per ticket.
    pub keep: i64,
    /// Now, epoch ms.
    pub at_ms: i64,
}

const OPEN_CONVERSATION: &str =
    "INSERT INTO conversations (session_id, customer, customer_json, ticket, updated_ms)
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (session_id) DO NOTHING";
const INSERT_MESSAGE: &str = "INSERT INTO transcript_messages
       (customer, ticket, message_id, author_kind, display_name, body, at_ms)
     SELECT $1, $2, $3, $4, $5, $6, $7
     WHERE EXISTS (SELECT 1 FROM conversations WHERE session_id = $8)
     ON CONFLICT (customer, ticket, message_id) DO NOTHING";
const COUNT_MESSAGE: &str = "UPDATE conversations SET messages = messages + 1,
       last_message_at = CASE WHEN last_message_at < $2 THEN $2 ELSE last_message_at END
     WHERE session_id = $1 RETURNING messages";
const TRIM_MESSAGES: &str = "DELETE FROM transcript_messages WHERE seq IN
       (SELECT seq FROM transcript_messages WHERE customer = $1 AND ticket = $2
        ORDER BY seq LIMIT $3)";
const UNCOUNT_MESSAGES: &str =
    "UPDATE conversations SET messages = messages - $2 WHERE session_id = $1";

fn message_params(
    session_id: &str,
    customer: &str,
    ticket: &str,
    m: &TranscriptMessage,
) -> Vec<Val> {
    params![
        customer,
        ticket,
        &m.id,
        author_name(m.author),
        m.name.clone(),
        &m.content,
        m.created_at,
        session_id
    ]
}

fn first_int(rows: &[Row]) -> i64 {
    rows.first()
        .and_then(|r| r.first())
        .and_then(Val::int)
        .unwrap_or(0)
}

/// [`Store::record_transcript`] on SQLite: one transaction on the one connection.
fn record_sqlite(
    conn: &mut rusqlite::Connection,
    w: &TranscriptWrite,
) -> Result<Vec<Option<i64>>, StoreError> {
    let tx = conn.transaction()?;
    let exec = |sql: &str, params: Vec<Val>| super::sqlite::exec_on(&tx, sql, &params);
    let query = |sql: &str, params: Vec<Val>| super::sqlite::query_on(&tx, sql, &params);
    for (sql, params) in &w.before {
        super::sqlite::exec_on(&tx, sql, params)?;
    }
    exec(
        OPEN_CONVERSATION,
        params![
            &w.session_id,
            &w.customer,
            &w.customer_json,
            &w.ticket,
            w.at_ms
        ],
    )?;
    let mut seqs = Vec::with_capacity(w.messages.len());
    for (m, kind) in &w.messages {
        let added = exec(
            INSERT_MESSAGE,
            message_params(&w.session_id, &w.customer, &w.ticket, m),
        )?;
        if added == 0 {
            seqs.push(None);
            continue;
        }
        let messages = first_int(&query(COUNT_MESSAGE, params![&w.session_id, m.created_at])?);
        if messages > w.keep {
            let gone = exec(
                TRIM_MESSAGES,
                params![&w.customer, &w.ticket, messages - w.keep],
            )?;
            exec(
                UNCOUNT_MESSAGES,
                params![&w.session_id, i64::try_from(gone).unwrap_or(i64::MAX)],
            )?;
        }
        let seq = first_int(&query(
            super::events::INSERT_EVENT,
            params![&w.customer, &w.ticket, &w.session_id, kind, w.at_ms],
        )?);
        seqs.push(Some(seq));
    }
    tx.commit()?;
    Ok(seqs)
}

/// [`Store::record_transcript`] on PostgreSQL: one transaction holding the live-event
/// lock from its start (see [`Store::insert_event`]; taken before any row lock, so two
/// writers never wait for each other the other way round) and announcing the last new
/// event before it commits.
async fn record_postgres(
    db: &super::postgres::Postgres,
    w: &TranscriptWrite,
) -> Result<Vec<Option<i64>>, StoreError> {
    let mut client = db.client().await?;
    let tx = client.transaction().await?;
    let run = |sql: &'static str, params: Vec<Val>| {
        let tx = &tx;
        async move {
            let stmt = tx.prepare_cached(sql).await?;
            let refs = super::postgres::refs(&params);
            Ok::<_, StoreError>(tx.query(&stmt, &refs).await?)
        }
    };
    tx.execute(
        "SELECT pg_advisory_xact_lock($1)",
        &[&super::postgres::EVENT_LOCK],
    )
    .await?;
    for (sql, params) in &w.before {
        let stmt = tx.prepare_cached(sql).await?;
        tx.execute(&stmt, &super::postgres::refs(params)).await?;
    }
    let stmt = tx.prepare_cached(OPEN_CONVERSATION).await?;
    let p = params![
        &w.session_id,
        &w.customer,
        &w.customer_json,
        &w.ticket,
        w.at_ms
    ];
    tx.execute(&stmt, &super::postgres::refs(&p)).await?;
    let mut seqs = Vec::with_capacity(w.messages.len());
    for (m, kind) in &w.messages {
        let stmt = tx.prepare_cached(INSERT_MESSAGE).await?;
        let p = message_params(&w.session_id, &w.customer, &w.ticket, m);
        if tx.execute(&stmt, &super::postgres::refs(&p)).await? == 0 {
            seqs.push(None);
            continue;
        }
        let rows = run(COUNT_MESSAGE, params![&w.session_id, m.created_at]).await?;
        let messages: i64 = rows.first().map(|r| r.try_get(0)).transpose()?.unwrap_or(0);
        if messages > w.keep {
            let stmt = tx.prepare_cached(TRIM_MESSAGES).await?;
            let p = params![&w.customer, &w.ticket, messages - w.keep];
            let gone = tx.execute(&stmt, &super::postgres::refs(&p)).await?;
            let stmt = tx.prepare_cached(UNCOUNT_MESSAGES).await?;
            let p = params![&w.session_id, i64::try_from(gone).unwrap_or(i64::MAX)];
            tx.execute(&stmt, &super::postgres::refs(&p)).await?;
        }
        let rows = run(
            super::events::INSERT_EVENT,
            params![&w.customer, &w.ticket, &w.session_id, kind, w.at_ms],
        )
        .await?;
        let seq: i64 = rows
            .first()
            .map(|r| r.try_get(0))
            .transpose()?
            .ok_or_else(|| StoreError::Decode("event seq".into()))?;
        seqs.push(Some(seq));
    }
    if let Some(last) = seqs.iter().flatten().last() {
        tx.execute(
            "SELECT pg_notify($1, $2)",
            &[&db.channel, &last.to_string()],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(seqs)
}

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
    /// Writes one exchange's transcript in one transaction (see [`TranscriptWrite`]);
    /// per message, its live event's sequence number when it was appended, `None` when
    /// its id was there already (a retry). The caller publishes the events after the
    /// commit.
    pub async fn record_transcript(
        &self,
        w: TranscriptWrite,
    ) -> Result<Vec<Option<i64>>, StoreError> {
        match &*self.backend {
            Backend::Sqlite(db) => db.with_conn(move |conn| record_sqlite(conn, &w)).await,
            Backend::Postgres(db) => record_postgres(db, &w).await,
        }
    }

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
                INSERT_MESSAGE,
                message_params(session_id, customer, ticket, m),
            )
            .await?;
        if n == 0 {
            return Ok(false);
        }
        let counted = self
            .query_one(COUNT_MESSAGE, params![session_id, m.created_at])
            .await?;
        let messages = counted
            .and_then(|r| r.first().and_then(Val::int))
            .unwrap_or(0);
        if messages > keep {
            // Usually one message: the oldest leaves as each new one arrives.
            let extra = messages - keep;
            let gone = self
                .exec(TRIM_MESSAGES, params![customer, ticket, extra])
                .await?;
            self.exec(
                UNCOUNT_MESSAGES,
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
