//! One line of the ledger journal: a message's key, content hash and first-seen time, and
//! how far it got — the full response once finished, else the steps of a message whose
//! EverOS add was sent (stored, or outcome unknown) so a retry resumes instead of re-adding.

use everdesk_api::{Context, SendMessageResponse};
use serde::{Deserialize, Serialize};

use super::{Progress, Step};

/// What the journal remembers about one message id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The customer (EverOS `user_id`).
    pub customer: String,
    /// The ticket id.
    pub ticket: String,
    /// The client's message id.
    pub message_id: String,
    /// Lowercase hex SHA-256 of the trimmed content: a retry with other content conflicts.
    pub content_sha256: String,
    /// When the ledger first saw the id, epoch ms; the age bound counts from here.
    pub born_ms: i64,
    /// How far the message got.
    pub state: Saved,
}

/// How far a message got, as journaled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Saved {
    /// Every step done: retries replay this answer.
    Done(SendMessageResponse),
    /// Unfinished after an add was sent: retries resume from these steps.
    Partial {
        /// The customer turn (never `Pending` here).
        user: Step,
        /// The generated reply and its context, when there is one.
        reply: Option<(String, Context)>,
        /// The assistant turn.
        assistant: Step,
    },
}

impl Saved {
    /// The part of `p` worth keeping; `None` while no EverOS add can have happened.
    pub fn of(p: &Progress) -> Option<Self> {
        if let Some(done) = &p.response {
            return Some(Self::Done(done.clone()));
        }
        if p.user == Step::Pending {
            return None;
        }
        Some(Self::Partial {
            user: p.user,
            reply: p.reply.clone(),
            assistant: p.assistant,
        })
    }

    /// The progress a retry resumes from.
    pub fn into_progress(self) -> Progress {
        match self {
            Self::Done(done) => Progress {
                user: Step::Done(done.message.created_at),
                reply: None,
                // No assistant turn when a person handles the ticket (no reply).
                assistant: done
                    .reply
                    .as_ref()
                    .map_or(Step::Pending, |r| Step::Done(r.created_at)),
                response: Some(done),
            },
            Self::Partial {
                user,
                reply,
                assistant,
            } => Progress {
                user,
                reply,
                assistant,
                response: None,
            },
        }
    }
}

/// The identity of a record: newer lines with the same key replace older ones.
pub type RecordKey = (String, String, String);

impl Record {
    /// A record for this message.
    pub fn new(
        customer: String,
        ticket: String,
        message_id: String,
        content: &[u8; 32],
        born_ms: i64,
        state: Saved,
    ) -> Self {
        Self {
            customer,
            ticket,
            message_id,
            content_sha256: hex::encode(content),
            born_ms,
            state,
        }
    }

    /// The content hash, or `None` when the line holds no valid one.
    pub fn content(&self) -> Option<[u8; 32]> {
        hex::decode(&self.content_sha256).ok()?.try_into().ok()
    }

    /// (customer, ticket, message id).
    pub fn key(&self) -> RecordKey {
        (
            self.customer.clone(),
            self.ticket.clone(),
            self.message_id.clone(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use everdesk_api::{Message, Role};

    fn response() -> SendMessageResponse {
        let msg = |id: &str, role, at| Message {
            id: id.into(),
            role,
            content: "hi".into(),
            created_at: at,
        };
        SendMessageResponse {
            message: msg("m", Role::User, 10),
            reply: Some(msg("re_m", Role::Assistant, 11)),
            context: Context::default(),
            handled_by: None,
        }
    }

    #[test]
    fn nothing_is_kept_before_an_add_was_sent() {
        assert_eq!(Saved::of(&Progress::default()), None);
    }

    #[test]
    fn unknown_and_done_steps_survive_as_progress() {
        let p = Progress {
            user: Step::Unknown(7),
            ..Progress::default()
        };
        let back = Saved::of(&p).unwrap().into_progress();
        assert_eq!(
            (back.user, back.assistant),
            (Step::Unknown(7), Step::Pending)
        );
        assert!(back.response.is_none());

        let p = Progress {
            response: Some(response()),
            ..Progress::default()
        };
        let back = Saved::of(&p).unwrap().into_progress();
        assert_eq!(back.response, Some(response()));
        assert_eq!(
            (back.user, back.assistant),
            (Step::Done(10), Step::Done(11))
        );
    }

    #[test]
    fn an_answer_a_person_handles_survives_the_journal() {
        let handled = SendMessageResponse {
            reply: None,
            handled_by: Some(everdesk_api::Agent {
                id: "ann".into(),
                name: "Ann".into(),
            }),
            ..response()
        };
        let line = serde_json::to_string(&Saved::Done(handled.clone())).unwrap();
        let back: Saved = serde_json::from_str(&line).unwrap();
        let p = back.into_progress();
        assert_eq!(p.response, Some(handled));
        assert_eq!((p.user, p.assistant), (Step::Done(10), Step::Pending));
    }

    #[test]
    fn the_content_hash_must_be_32_hex_bytes() {
        let mut r = Record::new(
            "u".into(),
            "t".into(),
            "m".into(),
            &[7; 32],
            1,
            Saved::Done(response()),
        );
        assert_eq!(r.content(), Some([7; 32]));
        r.content_sha256 = "abcd".into();
        assert_eq!(r.content(), None);
    }
}
