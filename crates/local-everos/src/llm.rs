//! Optional OpenAI-compatible extraction: one chat call returning subject, summary,
//! episode and profile facts as JSON. Any failure falls back to deterministic extraction.

use std::time::Duration;

use serde::Deserialize;
use serde_json::json;

use crate::config::LlmConfig;
use crate::extract::Extraction;
use crate::model::{BufferedMessage, ItemType, ProfileFact};

/// Why an LLM call could not be used.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    /// Transport or HTTP status failure.
    #[error("llm request failed: {0}")]
    Http(#[from] reqwest::Error),
    /// The answer was not the JSON we asked for.
    #[error("llm answer unusable: {0}")]
    Shape(String),
}

/// A configured client.
#[derive(Debug, Clone)]
pub struct Llm {
    http: reqwest::Client,
    config: LlmConfig,
}

/// The text from the first `{` to the last `}` after it (models wrap JSON in prose or
/// code fences); an error when there is no such pair, e.g. `}` only before `{`.
fn json_object(content: &str) -> Result<&str, LlmError> {
    let none = || LlmError::Shape("no JSON object".into());
    let start = content.find('{').ok_or_else(none)?;
    let rest = content.get(start..).ok_or_else(none)?;
    let end = rest.rfind('}').ok_or_else(none)?;
    rest.get(..=end).ok_or_else(none)
}

#[derive(Debug, Deserialize)]
struct Answer {
    subject: String,
    summary: String,
    episode: String,
    #[serde(default)]
    profile: Vec<AnswerFact>,
}

#[derive(Debug, Deserialize)]
struct AnswerFact {
    item_type: String,
    label: String,
    value: String,
}

const PROMPT: &str = "You turn a customer-support conversation into memory. Answer ONLY a JSON object: \
{\"subject\": short title, \"summary\": 2-3 sentences with the customer's problem and what support answered, \
\"episode\": third-person narrative, \"profile\": [{\"item_type\": \"explicit_info\" or \"implicit_trait\", \
\"label\": category such as Name, Email, Plan, Product/device, Preference, \"value\": the fact}]}. \
Profile facts come ONLY from the customer's own messages.";

impl Llm {
    /// Builds a client with a 20 s timeout.
    pub fn new(config: LlmConfig) -> Result<Self, LlmError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()?;
        Ok(Self { http, config })
    }

    /// Extracts an episode and profile facts from a cell.
    pub async fn extract(
        &self,
        user_id: &str,
        msgs: &[BufferedMessage],
    ) -> Result<(Extraction, Vec<ProfileFact>), LlmError> {
        let transcript: String = msgs
            .iter()
            .map(|m| {
                format!(
                    "{} ({}): {}\n",
                    if m.role == "user" {
                        "customer"
                    } else {
                        "support"
                    },
                    m.sender_id,
                    m.text
                )
            })
            .collect();
        let url = format!(
            "{}/chat/completions",
            self.config.base_url.trim_end_matches('/')
        );
        let body = json!({
            "model": self.config.model,
            "temperature": 0,
            "response_format": {"type": "json_object"},
            "messages": [
                {"role": "system", "content": PROMPT},
                {"role": "user", "content": format!("Customer id: {user_id}\n\n{transcript}")},
            ],
        });
        let res: serde_json::Value = self
            .http
            .post(url)
            .bearer_auth(&self.config.api_key)
            .json(&body)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let content = res["choices"][0]["message"]["content"]
            .as_str()
            .ok_or_else(|| LlmError::Shape("no choices[0].message.content".into()))?;
        let answer: Answer = serde_json::from_str(json_object(content)?)
            .map_err(|e| LlmError::Shape(e.to_string()))?;
        if answer.subject.trim().is_empty() || answer.summary.trim().is_empty() {
            return Err(LlmError::Shape("empty subject or summary".into()));
        }
        let facts = answer
            .profile
            .into_iter()
            .filter_map(|f| {
                let item_type = ItemType::parse(&f.item_type)?;
                let key = match f.label.to_lowercase().as_str() {
                    "preference" => format!("pref:{}", f.value.to_lowercase()),
                    other => other.to_owned(),
                };
                (!f.value.trim().is_empty()).then_some(ProfileFact {
                    item_type,
                    key,
                    label: f.label,
                    value: f.value,
                })
            })
            .collect();
        Ok((
            Extraction {
                subject: answer.subject,
                summary: answer.summary,
                episode: answer.episode,
            },
            facts,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_object_needs_an_opening_brace_before_a_closing_one() {
        assert_eq!(json_object("x {\"a\": {}} y").unwrap(), "{\"a\": {}}");
        for bad in ["} no object {", "}{", "}", "{", "none"] {
            assert!(json_object(bad).is_err(), "{bad}");
        }
    }
}
