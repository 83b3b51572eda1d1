//! BM25 ranking with FTS5's formula and statistics from the FTS5 index.
//!
//! FTS5's `bm25()` recounts every query term's documents over the whole corpus on each
//! query (≈1 ms at 10k episodes), so candidates come from the owner index instead and the
//! same formula is applied here: k1 = 1.2, b = 0.75, IDF = ln((N − n + 0.5)/(n + 0.5))
//! floored at 1e-6, column weights subject 2 · summary 1 · episode 1, document length
//! over all columns. `n` (documents containing a term) is read from the index through an
//! `fts5vocab` table and cached until the next delete; terms without documents are not
//! cached (an insert would have to add them) and the cache holds at most `DF_CACHE_CAP`
//! terms.

use std::collections::{HashMap, HashSet};

use rusqlite::{Connection, OptionalExtension};

use crate::error::Error;
use crate::model::Episode;
use crate::text::tokens;

const K1: f64 = 1.2;
const B: f64 = 0.75;
/// Tokens the owner column adds to every FTS row.
const OWNER_TOKENS: i64 = 2;
/// Most terms whose document counts are kept.
const DF_CACHE_CAP: usize = 4096;

/// Corpus statistics kept between queries.
#[derive(Debug, Default)]
pub struct RankCache {
    /// (document count, total tokens), loaded lazily.
    stats: Option<(i64, i64)>,
    /// Documents containing each term (only terms with documents), loaded lazily per
    /// term, at most `DF_CACHE_CAP` entries.
    df: HashMap<String, i64>,
}

/// Token count of an episode's FTS row (what FTS5 calls the row size).
pub fn row_tokens(e: &Episode) -> i64 {
    let n = tokens(&e.subject).len() + tokens(&e.summary).len() + tokens(&e.episode).len();
    i64::try_from(n).unwrap_or(i64::MAX) + OWNER_TOKENS
}

impl RankCache {
    /// Forgets everything (after deletes and resets).
    pub fn clear(&mut self) {
        *self = Self::default();
    }

    /// Updates the statistics for a newly inserted episode.
    pub fn on_insert(&mut self, e: &Episode) {
        if let Some((n, total)) = self.stats.as_mut() {
            *n += 1;
            *total += row_tokens(e);
        }
        let distinct: HashSet<String> = [&e.subject, &e.summary, &e.episode]
            .iter()
            .flat_map(|t| tokens(t))
            .collect();
        for t in distinct {
            if let Some(df) = self.df.get_mut(&t) {
                *df += 1;
            }
        }
    }

    fn stats(&mut self, c: &Connection) -> Result<(i64, i64), Error> {
        if let Some(s) = self.stats {
            return Ok(s);
        }
        let s = c.query_row(
            "SELECT COUNT(*), COALESCE(SUM(tokens), 0) FROM episodes",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        self.stats = Some(s);
        Ok(s)
    }

    fn df(&mut self, c: &Connection, term: &str) -> Result<i64, Error> {
        if let Some(n) = self.df.get(term) {
            return Ok(*n);
        }
        let n: i64 = c
            .prepare_cached("SELECT doc FROM episodes_vocab WHERE term = ?1")?
            .query_row([term], |r| r.get(0))
            .optional()?
            .unwrap_or(0);
        if n > 0 {
            if self.df.len() >= DF_CACHE_CAP {
                // Full: drop an arbitrary entry; it is re-read from the index when needed.
                if let Some(old) = self.df.keys().next().cloned() {
                    self.df.remove(&old);
                }
            }
            self.df.insert(term.to_owned(), n);
        }
        Ok(n)
    }

    /// FTS5's IDF of each term.
    fn idf(&mut self, c: &Connection, terms: &[String]) -> Result<Vec<f64>, Error> {
        let (n, _) = self.stats(c)?;
        terms
            .iter()
            .map(|t| {
                let df = self.df(c, t)? as f64;
                let v = ((n as f64 - df + 0.5) / (df + 0.5)).ln();
                Ok(if v <= 0.0 { 1e-6 } else { v })
            })
            .collect()
    }

    /// The score no document reaches for `terms` (every term at unbounded frequency):
    /// Σ idf · (k1 + 1). A score divided by it is the IDF-weighted, saturated share of
    /// the query a document covers, in [0, 1) (see [`crate::recall::fusion`]).
    pub fn ceiling(&mut self, c: &Connection, terms: &[String]) -> Result<f64, Error> {
        Ok(self.idf(c, terms)?.iter().map(|idf| idf * (K1 + 1.0)).sum())
    }

    /// Scores candidates against `terms`; documents matching no term are dropped.
    pub fn score(
        &mut self,
        c: &Connection,
        candidates: Vec<Episode>,
        terms: &[String],
    ) -> Result<Vec<(Episode, f64)>, Error> {
        if candidates.is_empty() || terms.is_empty() {
            return Ok(Vec::new());
        }
        let (n, total) = self.stats(c)?;
        let avgdl = if n > 0 { total as f64 / n as f64 } else { 1.0 };
        let idf = self.idf(c, terms)?;
        let mut out = Vec::new();
        for e in candidates {
            let mut freq = vec![0.0f64; terms.len()];
            let mut dl = OWNER_TOKENS;
            for (text, weight) in [(&e.subject, 2.0), (&e.summary, 1.0), (&e.episode, 1.0)] {
                for tok in tokens(text) {
                    dl += 1;
                    if let Some(i) = terms.iter().position(|t| *t == tok) {
                        freq[i] += weight;
                    }
                }
            }
            let norm = K1 * (1.0 - B + B * dl as f64 / avgdl);
            let score: f64 = freq
                .iter()
                .zip(&idf)
                .filter(|(f, _)| **f > 0.0)
                .map(|(f, idf)| idf * (f * (K1 + 1.0)) / (f + norm))
                .sum();
            if score > 0.0 {
                out.push((e, score));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idf_floor_and_ranking_follow_fts5() {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(crate::store::SCHEMA).unwrap();
        let mk = |id: &str, text: &str| Episode {
            id: id.into(),
            user_id: "u".into(),
            group_id: "g".into(),
            session_id: "s".into(),
            timestamp_ms: 1,
            participants: vec![],
            subject: text.into(),
            summary: String::new(),
            episode: String::new(),
            parent_id: "p".into(),
            visible_ms: 0,
        };
        let docs = vec![
            mk("a", "refund refund router"),
            mk("b", "router wifi"),
            mk("c", "printer"),
        ];
        let tx = c.unchecked_transaction().unwrap();
        for d in &docs {
            crate::store::episodes::insert(&tx, d).unwrap();
        }
        tx.commit().unwrap();
        let mut cache = RankCache::default();
        let terms = vec!["refund".to_owned(), "router".to_owned()];
        let ranked = cache.score(&c, docs.clone(), &terms).unwrap();
        assert_eq!(ranked.len(), 2, "printer matches nothing");
        assert_eq!(ranked[0].0.id, "a");
        assert!(ranked[0].1 > ranked[1].1 && ranked[1].1 > 0.0);
        assert_eq!(cache.df(&c, "router").unwrap(), 2);
    }

    #[test]
    fn term_cache_skips_misses_and_is_bounded() {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(crate::store::SCHEMA).unwrap();
        let words: Vec<String> = (0..DF_CACHE_CAP + 50).map(|i| format!("w{i}")).collect();
        let doc = Episode {
            id: "a".into(),
            user_id: "u".into(),
            group_id: "g".into(),
            session_id: "s".into(),
            timestamp_ms: 1,
            participants: vec![],
            subject: words.join(" "),
            summary: String::new(),
            episode: String::new(),
            parent_id: "p".into(),
            visible_ms: 0,
        };
        let tx = c.unchecked_transaction().unwrap();
        crate::store::episodes::insert(&tx, &doc).unwrap();
        tx.commit().unwrap();
        let mut cache = RankCache::default();
        for i in 0..100 {
            assert_eq!(cache.df(&c, &format!("missing{i}")).unwrap(), 0);
        }
        assert!(cache.df.is_empty(), "terms without matches are not cached");
        for w in &words {
            assert_eq!(cache.df(&c, w).unwrap(), 1);
        }
        assert!(cache.df.len() <= DF_CACHE_CAP, "{}", cache.df.len());
        // Results stay the same with a full cache.
        let terms = vec!["w0".to_owned(), "missing".to_owned()];
        let ranked = cache.score(&c, vec![doc.clone()], &terms).unwrap();
        assert_eq!(ranked.len(), 1);
        let fresh = RankCache::default().score(&c, vec![doc], &terms).unwrap();
        assert_eq!(ranked[0].1, fresh[0].1);
    }
}
