//! What the proxy recalls for a customer: profile facts and past-ticket episodes
//! (`GET /v1/profile`, `GET /v1/history`, and `context` of a message reply).

use serde::{Deserialize, Serialize};

use crate::json_struct;

/// One remembered fact about the customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileFact {
    /// The fact as text.
    pub text: String,
    /// `explicit_info` or `implicit_trait`, when EverOS says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// One past interaction (an EverOS episode) of this customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEpisode {
    /// EverOS episode id.
    pub id: String,
    /// EverOS session (`ticket_<ticket id>_<digest of the customer>`, bound to one customer).
    pub session_id: String,
    /// Title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Short summary.
    pub summary: String,
    /// When it happened, epoch ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<i64>,
    /// Relevance score (scale depends on the search method).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
}

/// Query string of `GET /v1/history`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryQuery {
    /// What to look for; absent → past problems in general.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// How many episodes, 1..=100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// `200` body of `GET /v1/history`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryResponse {
    /// Matching episodes, most relevant first.
    pub episodes: Vec<HistoryEpisode>,
}

/// `200` body of `GET /v1/profile`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileResponse {
    /// Remembered facts.
    pub facts: Vec<ProfileFact>,
}

// The widget's codec (see `crate::json`), member for member the serde shapes above.
json_struct!(ProfileFact { text, kind: opt });
json_struct!(HistoryEpisode {
    id,
    session_id,
    subject: opt,
    summary,
    at: opt,
    score: opt
});
json_struct!(HistoryQuery {
    query: opt,
    limit: opt
});
json_struct!(HistoryResponse { episodes });
json_struct!(ProfileResponse { facts });

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn history_episode_omits_absent_fields_and_round_trips() {
        let ep = HistoryEpisode {
            id: "e1".into(),
            session_id: "ticket_1".into(),
            subject: None,
            summary: "Charged twice".into(),
            at: Some(5),
            score: None,
        };
        let v = serde_json::to_value(&ep).unwrap();
        assert_eq!(
            v,
            json!({"id": "e1", "session_id": "ticket_1", "summary": "Charged twice", "at": 5})
        );
        assert_eq!(serde_json::from_value::<HistoryEpisode>(v).unwrap(), ep);
    }

    #[test]
    fn profile_fact_kind_is_optional() {
        let f: ProfileFact = serde_json::from_value(json!({"text": "Name: Ada"})).unwrap();
        assert_eq!(f.kind, None);
    }
}
