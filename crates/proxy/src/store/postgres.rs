//! The PostgreSQL backend: a `deadpool-postgres` pool of `tokio-postgres` connections
//! (plain TCP or a Unix socket; put TLS in front with the network, e.g. a sidecar).
//! Statements are prepared once per connection. Migrations run at connect under an
//! advisory lock, so replicas starting together apply each version once.

use std::error::Error;

use bytes::BytesMut;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::{
    types::{to_sql_checked, IsNull, ToSql, Type},
    NoTls,
};

use super::{migrate, Row, Statement, StoreError, Val};

/// Connections at most per replica.
const POOL_SIZE: usize = 16;
/// The advisory lock key migrations hold ("EVDK").
const MIGRATION_LOCK: i64 = 0x4556_444b;

/// The advisory lock key live-event inserts hold ("EVLV"; see `Store::insert_event`).
pub(super) const EVENT_LOCK: i64 = 0x4556_4c56;

/// The open pool.
pub struct Postgres {
    pool: Pool,
    /// How to open more connections (the live-event listener's).
    pub(super) config: Box<tokio_postgres::Config>,
    /// The NOTIFY channel of this database and schema (replicas on one schema share it;
    /// schemas side by side in one database do not hear each other).
    pub(super) channel: String,
}

impl ToSql for Val {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        match self {
            Val::Null => Ok(IsNull::Yes),
            Val::Int(i) => match *ty {
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                Type::FLOAT8 => (*i as f64).to_sql(ty, out),
                _ => i.to_sql(ty, out),
            },
            Val::Float(f) => f.to_sql(ty, out),
            Val::Text(t) => t.to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

fn pool_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Pool(e.to_string())
}

impl Postgres {
    /// Connects to `url`, every connection on `schema` when given (created if missing),
    /// and applies the migrations.
    pub async fn connect(url: &str, schema: Option<&str>) -> Result<Self, StoreError> {
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e: tokio_postgres::Error| StoreError::Url(e.to_string()))?;
        if let Some(schema) = schema {
            if !schema
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
            {
                return Err(StoreError::Url(format!("schema name {schema:?}")));
            }
            let (client, conn) = config.connect(NoTls).await?;
            let task = tokio::spawn(conn);
            client
                .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
                .await?;
            drop(client);
            let _ = task.await;
            config.options(format!("-c search_path={schema}"));
        }
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .build()
            .map_err(pool_err)?;
        let mut db = Self {
            pool,
            config: Box::new(config),
            channel: String::new(),
        };
        db.migrate().await?;
        let client = db.pool.get().await.map_err(pool_err)?;
        let schema: Option<String> = client
            .query_one("SELECT current_schema()", &[])
            .await?
            .try_get(0)?;
        db.channel = channel_for(schema.as_deref().unwrap_or(""));
        Ok(db)
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let mut client = self.pool.get().await.map_err(pool_err)?;
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await?;
        tx.batch_execute(migrate::CREATE_TABLE).await?;
        let applied: i64 = tx
            .query_one(
                "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                &[],
            )
            .await?
            .try_get(0)?;
        for m in migrate::MIGRATIONS.iter().filter(|m| m.version > applied) {
            tx.batch_execute(m.postgres).await?;
            let now = crate::clock::now_ms();
            tx.execute(migrate::RECORD, &[&m.version, &m.name, &now])
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A connection from the pool (for a transaction written out by the caller).
    pub(super) async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool.get().await.map_err(pool_err)
    }

    /// See [`super::Store::exec`].
    pub async fn exec(&self, sql: &'static str, params: Vec<Val>) -> Result<u64, StoreError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        let stmt = client.prepare_cached(sql).await?;
        Ok(client.execute(&stmt, &refs(&params)).await?)
    }

    /// See [`super::Store::query`].
    pub async fn query(&self, sql: &'static str, params: Vec<Val>) -> Result<Vec<Row>, StoreError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        let stmt = client.prepare_cached(sql).await?;
        let rows = client.query(&stmt, &refs(&params)).await?;
        rows.iter().map(row_values).collect()
    }

    /// See [`super::Store::batch`].
    pub async fn batch(&self, statements: Vec<Statement>) -> Result<(), StoreError> {
        let mut client = self.pool.get().await.map_err(pool_err)?;
        let tx = client.transaction().await?;
        for (sql, params) in &statements {
            let stmt = tx.prepare_cached(sql).await?;
            tx.execute(&stmt, &refs(params)).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// See `Store::insert_event`: serialised by an advisory lock held to the commit, and
    /// announced on the channel in the same transaction.
    pub async fn insert_event(&self, params: Vec<Val>) -> Result<i64, StoreError> {
        let mut client = self.pool.get().await.map_err(pool_err)?;
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&EVENT_LOCK])
            .await?;
        let stmt = tx.prepare_cached(super::events::INSERT_EVENT).await?;
        let seq: i64 = tx.query_one(&stmt, &refs(&params)).await?.try_get(0)?;
        tx.execute(
            "SELECT pg_notify($1, $2)",
            &[&self.channel, &seq.to_string()],
        )
        .await?;
        tx.commit().await?;
        Ok(seq)
    }

    /// `NOTIFY` on this database's channel.
    pub async fn announce(&self, payload: &str) -> Result<(), StoreError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        client
            .execute("SELECT pg_notify($1, $2)", &[&self.channel, &payload])
            .await?;
        Ok(())
    }
}

/// The channel name for `schema`: a fixed prefix and a hash (FNV-1a) of the schema name,
/// well within PostgreSQL's 63-byte identifiers and never needing quotes.
fn channel_for(schema: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in schema.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("everdesk_live_{h:016x}")
}

pub(super) fn refs(params: &[Val]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}

fn row_values(row: &tokio_postgres::Row) -> Result<Row, StoreError> {
    let mut out = Vec::with_capacity(row.len());
    for (i, column) in row.columns().iter().enumerate() {
        let v = match *column.type_() {
            Type::INT8 => row.try_get::<_, Option<i64>>(i)?.map(Val::Int),
            Type::INT4 => row
                .try_get::<_, Option<i32>>(i)?
                .map(|v| Val::Int(v.into())),
            Type::INT2 => row
                .try_get::<_, Option<i16>>(i)?
                .map(|v| Val::Int(v.into())),
            Type::FLOAT8 => row.try_get::<_, Option<f64>>(i)?.map(Val::Float),
            Type::FLOAT4 => row
                .try_get::<_, Option<f32>>(i)?
                .map(|v| Val::Float(v.into())),
            Type::BOOL => row
                .try_get::<_, Option<bool>>(i)?
                .map(|v| Val::Int(v.into())),
            _ => row.try_get::<_, Option<String>>(i)?.map(Val::Text),
        };
        out.push(v.unwrap_or(Val::Null));
    }
    Ok(out)
}
