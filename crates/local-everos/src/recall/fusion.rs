//! Hybrid ranking: one score from an episode's meaning (cosine) and its words (BM25).
//!
//! `hybrid = W_MEANING · max(cosine, 0) + W_WORDS · coverage`, where `coverage` is the
//! BM25 score divided by the highest score the query could reach (every term matched
//! with unbounded frequency, [`crate::store::rank::RankCache::ceiling`]): the
//! IDF-weighted, saturated share of the query the episode contains, in [0, 1).
//!
//! Why not reciprocal-rank fusion: RRF only sees ranks, so an episode that shares one
//! stray word with the query is BM25's rank 1 however weak the match, while a paraphrase
//! that shares no word is absent from the BM25 list. With k = 60, the stray match scores
//! 1/61 + 1/(60 + its vector rank) and beats the paraphrase's lone 1/61 whenever it is
//! anywhere in the vector list, the exact failure recall by meaning must avoid. Why
//! not max-normalised BM25 (score / best score): the best match is 1.0 even when it only
//! shares "email" with an eight-word query. Coverage keeps a weak match weak: one stray
//! term of a four-term query adds at most `W_WORDS / 4` ≈ 0.08, usually half that after
//! saturation, less than the cosine gap between a paraphrase (0.4–0.8 for this model) and
//! an unrelated ticket (0–0.25); a ticket that contains most of the query's words still
//! gains up to ≈ 0.15, enough to order tickets whose meanings are equally close.

/// Weight of the cosine similarity.
pub const W_MEANING: f64 = 0.7;
/// Weight of the BM25 coverage.
pub const W_WORDS: f64 = 0.3;

/// The fused score in [0, 1]: `cosine` of the query and episode vectors (`None` when the
/// episode has no vector), `bm25` its BM25 score (0 when no term matches) and `ceiling`
/// the query's highest attainable BM25 score.
pub fn hybrid(cosine: Option<f64>, bm25: f64, ceiling: f64) -> f64 {
    let coverage = if ceiling > 0.0 {
        (bm25 / ceiling).clamp(0.0, 1.0)
    } else {
        0.0
    };
    W_MEANING * cosine.unwrap_or(0.0).clamp(0.0, 1.0) + W_WORDS * coverage
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stray_word_cannot_outvote_meaning() {
        // A paraphrase sharing no word vs. an unrelated ticket sharing one of four
        // equally rare terms at full saturation (the most one word can add).
        let paraphrase = hybrid(Some(0.55), 0.0, 8.0);
        let stray = hybrid(Some(0.2), 2.0, 8.0);
        assert!(paraphrase > stray, "{paraphrase} vs {stray}");
        // Between two equally close meanings, the words decide.
        assert!(hybrid(Some(0.5), 4.0, 8.0) > hybrid(Some(0.5), 1.0, 8.0));
    }

    #[test]
    fn scores_stay_in_range() {
        assert_eq!(hybrid(None, 0.0, 0.0), 0.0);
        assert!((hybrid(Some(1.0), 9.0, 8.0) - 1.0).abs() < 1e-12);
        assert_eq!(hybrid(Some(-0.3), 0.0, 8.0), 0.0);
    }
}
