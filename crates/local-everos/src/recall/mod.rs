//! Ranking for search: BM25 (`keyword`), cosine over sentence vectors (`vector`) and
//! their fusion (`hybrid`, also used for `agentic`), for episodes and profile items,
//! plus the vectors the write path stores with each cut.
//!
//! A search is prepared outside the database lock ([`Recall::prepare`]: embed the query,
//! give any of the owners' rows that lack a vector one), then ranked inside it
//! ([`Recall::episodes`], [`Recall::profiles`]). Without a model (or when embedding the
//! query fails) every method ranks episodes by BM25 and profile items by token overlap,
//! as before embeddings existed.

pub mod fusion;

use std::collections::HashSet;

use rusqlite::{Connection, Transaction};

use crate::embed::{cosine, Embedder};
use crate::error::Error;
use crate::model::{Episode, ProfileFact, ProfileItem};
use crate::state::AppState;
use crate::store::{episodes, vectors, Db};
use crate::text::{query_terms, tokens};

/// How a search ranks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// BM25 only.
    Keyword,
    /// Cosine similarity of sentence vectors only.
    Vector,
    /// Both, fused ([`fusion::hybrid`]).
    Hybrid,
}

impl Method {
    /// The wire name's method (`agentic` ranks as `hybrid`; unknown names too).
    pub fn from_wire(name: &str) -> Self {
        match name {
            "keyword" => Self::Keyword,
            "vector" => Self::Vector,
            _ => Self::Hybrid,
        }
    }
}

/// A prepared search: the query's terms and, when ranking by meaning, its vector.
#[derive(Debug, Clone)]
pub struct Recall {
    terms: Vec<String>,
    method: Method,
    vector: Option<Vec<f32>>,
    radius: Option<f64>,
}

impl Recall {
    /// Prepares a search of the named owners for `query` by `method` (a wire name);
    /// `radius` is the similarity floor of the vector methods. Embeds the query and
    /// backfills missing vectors when embeddings are on and the method uses them.
    pub async fn prepare(
        state: &AppState,
        query: &str,
        method: &str,
        radius: Option<f64>,
        users: &[String],
        groups: &[String],
    ) -> Result<Self, Error> {
        let method = Method::from_wire(method);
        let mut vector = None;
        if let (Some(embedder), true) = (state.embedder(), method != Method::Keyword) {
            backfill(state, embedder, users, groups).await?;
            match embedder.embed_one(query).await {
                Ok(v) => vector = Some(v),
                Err(err) => tracing::warn!(%err, "embedding the query failed; ranking by BM25"),
            }
        }
        Ok(Self {
            terms: query_terms(query),
            method,
            vector,
            radius,
        })
    }

    /// Whether this search ranks by meaning (a model and a non-keyword method).
    pub fn by_meaning(&self) -> bool {
        self.vector.is_some()
    }

    /// The named owners' visible episodes that match, with their scores (higher is
    /// better, unsorted): BM25 for `keyword` or without a query vector; the cosine for
    /// `vector` (every episode with a vector, at least `radius`); the fused score in
    /// [0, 1] for `hybrid` (every episode with a vector or a matching term, at least
    /// `radius`).
    pub fn episodes(
        &self,
        db: &mut Db,
        users: &[String],
        groups: &[String],
        now_ms: i64,
    ) -> Result<Vec<(Episode, f64)>, Error> {
        let Some(query) = self.vector.as_deref() else {
            return episodes::search(db, users, groups, &self.terms, now_ms);
        };
        let floor = self.radius.unwrap_or(f64::NEG_INFINITY);
        let mut candidates = episodes::list_owned(&db.conn, users, groups)?;
        candidates.retain(|e| e.visible_ms <= now_ms);
        let vectors = vectors::episodes_of(&db.conn, users, groups)?;
        let similarity = |e: &Episode| vectors.get(&e.id).map(|v| cosine(query, v));
        if self.method == Method::Vector {
            return Ok(candidates
                .into_iter()
                .filter_map(|e| similarity(&e).map(|s| (e, s)))
                .filter(|(_, s)| *s >= floor)
                .collect());
        }
        let ceiling = db.rank.ceiling(&db.conn, &self.terms)?;
        let bm25: std::collections::HashMap<String, f64> = db
            .rank
            .score(&db.conn, candidates.clone(), &self.terms)?
            .into_iter()
            .map(|(e, s)| (e.id, s))
            .collect();
        Ok(candidates
            .into_iter()
            .filter_map(|e| {
                let words = bm25.get(&e.id).copied().unwrap_or(0.0);
                let meaning = similarity(&e);
                if meaning.is_none() && words <= 0.0 {
                    return None;
                }
                let s = fusion::hybrid(meaning, words, ceiling);
                Some((e, s))
            })
            .filter(|(_, s)| *s > 0.0 && *s >= floor)
            .collect())
    }

    /// Scores a user's visible profile items (unsorted): the cosine to the query when
    /// ranking by meaning (items below `radius` dropped), else token overlap (positive
    /// even without overlap, so every item is returned).
    pub fn profiles(
        &self,
        c: &Connection,
        user_id: &str,
        items: Vec<ProfileItem>,
    ) -> Result<Vec<(ProfileItem, f64)>, Error> {
        let Some(query) = self.vector.as_deref() else {
            return Ok(items
                .into_iter()
                .map(|i| {
                    let s = overlap(&self.terms, &i);
                    (i, s)
                })
                .collect());
        };
        let floor = self.radius.unwrap_or(f64::NEG_INFINITY);
        let vectors = vectors::profiles_of(c, user_id)?;
        Ok(items
            .into_iter()
            .map(|i| {
                let s = vectors.get(&i.id).map_or(0.0, |v| cosine(query, v));
                (i, s)
            })
            .filter(|(_, s)| *s >= floor)
            .collect())
    }
}

/// Token-overlap score: positive even with no overlap, higher with more shared terms.
fn overlap(terms: &[String], item: &ProfileItem) -> f64 {
    let have: HashSet<String> = tokens(&item.fact.embed_text()).into_iter().collect();
    let shared = terms.iter().filter(|t| have.contains(*t)).count();
    (shared as f64 + 0.1) / (terms.len() as f64 + 0.1)
}

/// Gives the owners' episodes and profile rows that have no vector one (rows written
/// before embeddings were on, or whose embedding failed). A failure is logged and
/// leaves them without: they rank by words only until the next search retries.
async fn backfill(
    state: &AppState,
    embedder: &Embedder,
    users: &[String],
    groups: &[String],
) -> Result<(), Error> {
    let (u, g) = (users.to_vec(), groups.to_vec());
    let (eps, profs) = state
        .store()
        .call(move |c| vectors::missing(c, &u, &g))
        .await?;
    if eps.is_empty() && profs.is_empty() {
        return Ok(());
    }
    let texts: Vec<String> = eps.iter().chain(&profs).map(|(_, t)| t.clone()).collect();
    let vecs = match embedder.embed(texts).await {
        Ok(v) => v,
        Err(err) => {
            tracing::warn!(%err, "embedding stored rows failed; they rank by words for now");
            return Ok(());
        }
    };
    let mut vecs = vecs.into_iter();
    let ep: Vec<(i64, Vec<f32>)> = eps.iter().map(|(s, _)| *s).zip(vecs.by_ref()).collect();
    let pr: Vec<(i64, Vec<f32>)> = profs.iter().map(|(s, _)| *s).zip(vecs).collect();
    tracing::debug!(
        episodes = ep.len(),
        profile_items = pr.len(),
        "embedded stored rows"
    );
    state
        .store()
        .call(move |c| vectors::put_missing(c, &ep, &pr))
        .await
}

/// The vectors of one cut: its episode's and its profile facts'.
#[derive(Debug, Clone)]
pub struct CellVectors {
    episode: Vec<f32>,
    facts: Vec<Vec<f32>>,
}

impl CellVectors {
    /// Embeds an episode and its facts in one batch; `None` without a model or when
    /// embedding fails (logged: the rows get vectors at their owner's next search).
    pub async fn embed(state: &AppState, e: &Episode, facts: &[ProfileFact]) -> Option<Self> {
        let embedder = state.embedder()?;
        let mut texts = vec![vectors::episode_text(&e.subject, &e.summary, &e.episode)];
        texts.extend(facts.iter().map(ProfileFact::embed_text));
        match embedder.embed(texts).await {
            Ok(mut v) if v.len() == facts.len() + 1 => {
                let facts = v.split_off(1);
                Some(Self {
                    episode: v.pop()?,
                    facts,
                })
            }
            Ok(_) => None,
            Err(err) => {
                tracing::warn!(%err, "embedding a new episode failed; it gets a vector at the next search");
                None
            }
        }
    }

    /// Stores them in the transaction that inserted the episode and upserted the facts.
    pub fn store(
        &self,
        tx: &Transaction<'_>,
        episode_id: &str,
        user_id: &str,
        facts: &[ProfileFact],
    ) -> Result<(), Error> {
        vectors::put_episode_by_id(tx, episode_id, &self.episode)?;
        for (f, v) in facts.iter().zip(&self.facts) {
            vectors::put_profile_by_key(tx, user_id, &f.key, v)?;
        }
        Ok(())
    }
}
