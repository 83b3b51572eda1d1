//! The live-event listener of a PostgreSQL replica: one connection of its own that
//! `LISTEN`s on the database's channel and hands every notification on. The connection
//! is driven by polling it (`poll_message`), which yields the notifications. When it
//! fails it is opened again with backoff (100 ms doubling to 5 s), and every
//! (re)connection is reported as [`Notice::Listening`] so the receiver catches up from
//! the table: nothing announced while it was away is lost. It stops when the receiver
//! is dropped.

use std::time::Duration;

use futures::StreamExt;
use tokio::sync::mpsc;
use tokio_postgres::{AsyncMessage, NoTls};

use super::{Backend, Store, StoreError};

/// What the listener reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// Listening (again): anything may have been missed before this.
    Listening,
    /// A notification's payload.
    Payload(String),
}

/// First wait before reconnecting.
const BACKOFF_MIN: Duration = Duration::from_millis(100);
/// Longest wait before reconnecting.
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// How often an idle listening connection is checked (a dead peer is noticed).
const PING_EVERY: Duration = Duration::from_secs(30);

impl Store {
    /// Starts listening for announcements of other replicas (PostgreSQL): `None` on
    /// SQLite, whose one process needs none.
    pub fn listen(&self) -> Option<mpsc::Receiver<Notice>> {
        let Backend::Postgres(db) = &*self.backend else {
            return None;
        };
        let (tx, rx) = mpsc::channel(1024);
        tokio::spawn(run((*db.config).clone(), db.channel.clone(), tx));
        Some(rx)
    }
}

async fn run(config: tokio_postgres::Config, channel: String, tx: mpsc::Sender<Notice>) {
    let mut backoff = BACKOFF_MIN;
    loop {
        match listen_once(&config, &channel, &tx, &mut backoff).await {
            Ok(()) => return,
            Err(e) => tracing::warn!(error = %e, "live-event listener lost; reconnecting"),
        }
        tokio::select! {
            () = tokio::time::sleep(backoff) => {}
            () = tx.closed() => return,
        }
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

/// Listens until the receiver is gone (`Ok`) or the connection fails (`Err`).
async fn listen_once(
    config: &tokio_postgres::Config,
    channel: &str,
    tx: &mpsc::Sender<Notice>,
    backoff: &mut Duration,
) -> Result<(), StoreError> {
    let (client, mut conn) = config.connect(NoTls).await?;
    let (payloads, mut incoming) = mpsc::unbounded_channel::<String>();
    let mut driver = tokio::spawn(async move {
        let mut messages = futures::stream::poll_fn(move |cx| conn.poll_message(cx));
        while let Some(m) = messages.next().await {
            if let AsyncMessage::Notification(n) = m? {
                if payloads.send(n.payload().to_owned()).is_err() {
                    break;
                }
            }
        }
        Ok::<(), tokio_postgres::Error>(())
    });
    let result = async {
        client.batch_execute(&format!("LISTEN {channel}")).await?;
        *backoff = BACKOFF_MIN;
        if tx.send(Notice::Listening).await.is_err() {
            return Ok(());
        }
        let mut ping = tokio::time::interval(PING_EVERY);
        ping.tick().await;
        loop {
            tokio::select! {
                p = incoming.recv() => match p {
                    Some(p) => {
                        if tx.send(Notice::Payload(p)).await.is_err() {
                            return Ok(());
                        }
                    }
                    None => return Err(StoreError::Task("listener connection closed".into())),
                },
                _ = ping.tick() => {
                    tokio::time::timeout(PING_EVERY, client.simple_query("SELECT 1"))
                        .await
                        .map_err(|_| StoreError::Task("listener ping timed out".into()))??;
                }
                () = tx.closed() => return Ok(()),
            }
        }
    }
    .await;
    driver.abort();
    if let Ok(Ok(Err(e))) = tokio::time::timeout(Duration::from_millis(50), &mut driver).await {
        return Err(e.into());
    }
    result
}

#[cfg(test)]
impl Store {
    /// Ends the database sessions listening on this schema's channel (the listeners
    /// then reconnect); how many. Tests only.
    pub(crate) async fn drop_listeners(&self) -> Result<usize, StoreError> {
        let Backend::Postgres(db) = &*self.backend else {
            return Ok(0);
        };
        let rows = self
            .query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                 WHERE query = $1 AND pid <> pg_backend_pid()",
                crate::params![format!("LISTEN {}", db.channel)],
            )
            .await?;
        Ok(rows.len())
    }
}
