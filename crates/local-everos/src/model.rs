//! Stored records (buffered message, episode, profile item) and their wire JSON views.

use serde_json::{json, Value};

use crate::clock::iso;

/// A message waiting in a `(user_id, session_id)` buffer; not a memory yet. v2 adds are
/// unattributed until a cut, so their rows have an empty `user_id` and `group_id` and the
/// buffer is the session's.
#[derive(Debug, Clone, PartialEq)]
pub struct BufferedMessage {
    /// ObjectId-like row id.
    pub id: String,
    /// The add request that brought it.
    pub request_id: String,
    /// Owner (empty for a v2 row: the session's buffer).
    pub user_id: String,
    /// Session (`"-1"` when the add had none).
    pub session_id: String,
    /// `gen_solo_…` of the owner.
    pub group_id: String,
    /// `user` or `assistant`.
    pub role: String,
    /// Sender (the user id for user turns).
    pub sender_id: String,
    /// Optional display name.
    pub sender_name: Option<String>,
    /// Given or derived (`gen_msg_…`) message id.
    pub message_id: String,
    /// The content items as sent (a string is stored as one text item).
    pub content_items: Value,
    /// The text of all text items, joined.
    pub text: String,
    /// Event time, epoch ms.
    pub timestamp_ms: i64,
    /// Arrival time, epoch ms.
    pub created_ms: i64,
}

impl BufferedMessage {
    /// Rough token count (chars / 4) for the hard buffer limit.
    pub fn tokens(&self) -> i64 {
        i64::try_from(self.text.chars().count().div_ceil(4)).unwrap_or(i64::MAX)
    }

    /// The `RawMessageDto` wire shape.
    pub fn to_raw_dto(&self) -> Value {
        json!({
            "id": self.id, "request_id": self.request_id, "message_id": self.message_id,
            "group_id": self.group_id, "session_id": self.session_id, "sender_id": self.sender_id,
            "sender_name": self.sender_name, "content_items": self.content_items,
            "timestamp": iso(self.timestamp_ms), "created_at": iso(self.created_ms),
            "updated_at": iso(self.created_ms),
        })
    }
}

/// An extracted episode (one per cut memory cell).
#[derive(Debug, Clone, PartialEq)]
pub struct Episode {
    /// ObjectId-like id.
    pub id: String,
    /// Owner.
    pub user_id: String,
    /// `gen_solo_…`.
    pub group_id: String,
    /// Session it came from.
    pub session_id: String,
    /// Latest message time, epoch ms.
    pub timestamp_ms: i64,
    /// Sender ids in order of first appearance.
    pub participants: Vec<String>,
    /// Title.
    pub subject: String,
    /// A few sentences: the problem and what was answered.
    pub summary: String,
    /// Third-person narrative.
    pub episode: String,
    /// The memcell id.
    pub parent_id: String,
    /// When search may see it, epoch ms (index lag).
    pub visible_ms: i64,
}

impl Episode {
    fn base_json(&self) -> serde_json::Map<String, Value> {
        let v = json!({
            "id": self.id, "user_id": self.user_id, "group_id": self.group_id,
            "session_id": self.session_id, "timestamp": iso(self.timestamp_ms),
            "participants": self.participants, "subject": self.subject, "summary": self.summary,
            "episode": self.episode, "type": "Conversation", "parent_type": "memcell",
            "parent_id": self.parent_id,
        });
        match v {
            Value::Object(m) => m,
            _ => serde_json::Map::new(),
        }
    }

    /// The search-hit shape (with `score` and `atomic_facts`).
    pub fn to_search_hit(&self, score: f64) -> Value {
        let mut m = self.base_json();
        m.insert("score".into(), json!(score));
        m.insert("atomic_facts".into(), json!([]));
        Value::Object(m)
    }

    /// The `get` shape (`EpisodeItem`: no score, plus `sender_ids`).
    pub fn to_item(&self) -> Value {
        let mut m = self.base_json();
        m.insert("sender_ids".into(), json!(self.participants));
        Value::Object(m)
    }
}

/// Profile item kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemType {
    /// Stated facts (name, email, plan, device).
    ExplicitInfo,
    /// Inferred traits and preferences.
    ImplicitTrait,
}

impl ItemType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ExplicitInfo => "explicit_info",
            Self::ImplicitTrait => "implicit_trait",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "explicit_info" => Some(Self::ExplicitInfo),
            "implicit_trait" => Some(Self::ImplicitTrait),
            _ => None,
        }
    }
}

/// One fact about a user, keyed so later facts replace earlier ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileFact {
    /// Kind.
    pub item_type: ItemType,
    /// Upsert key (`name`, `email`, `pref:<text>` …).
    pub key: String,
    /// Display label (`Name`, `Email`, `Preference` …).
    pub label: String,
    /// The value text.
    pub value: String,
}

impl ProfileFact {
    /// The v2 `category`/`trait` name: the upsert key for stated facts (`name`, `email`,
    /// `plan`, `device`), `preference` for preferences.
    pub fn key_category(&self) -> &str {
        match self.key.split_once(':') {
            Some(("pref", _)) => "preference",
            _ => &self.key,
        }
    }

    /// `"<label>: <value>"`, the item's `embed_text`.
    pub fn embed_text(&self) -> String {
        format!("{}: {}", self.label, self.value)
    }
}

/// A stored, visible profile item.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileItem {
    /// ObjectId-like id.
    pub id: String,
    /// Owner.
    pub user_id: String,
    /// `gen_solo_…`.
    pub group_id: String,
    /// The fact.
    pub fact: ProfileFact,
    /// One sentence grounding the fact in the conversation (empty for old rows).
    pub evidence: String,
    /// The time of the episode the fact came from, epoch ms (0 for old rows).
    pub source_ts_ms: i64,
}
