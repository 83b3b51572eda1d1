//! Agent sign-in: a person proves they are an agent with an HS256 JWT the host's backend
//! minted (`role: "agent"`, `sub`, `name`); an integration with the agent API key. Either
//! way the proxy answers with its own agent token (`typ: "agent"`), which only the agent
//! routes accept, as customer session tokens (`typ: "session"`) are accepted only by the
//! customer routes.

use everdesk_api::{Agent, AgentSessionRequest, AgentSessionResponse};
use subtle::ConstantTimeEq;

use super::{jwt, now_ms, tokens::AgentClaims, Identity};
use crate::error::ProxyError;

/// The agent id of integrations signed in with the API key.
pub const INTEGRATION_ID: &str = "integration";
/// Longest agent name, characters.
const MAX_NAME_CHARS: usize = 80;

fn refused(why: &str) -> ProxyError {
    ProxyError::InvalidIdentity(why.to_owned())
}

fn clean_name(name: &str) -> Result<String, ProxyError> {
    let name = name.trim();
    if name.is_empty()
        || name.chars().count() > MAX_NAME_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(refused("agent name must be 1-80 printable characters"));
    }
    Ok(name.to_owned())
}

impl Identity {
    /// Exchanges an agent proof for an agent token.
    pub fn open_agent_session(
        &self,
        req: AgentSessionRequest,
    ) -> Result<AgentSessionResponse, ProxyError> {
        let agent = match req {
            AgentSessionRequest::Jwt { jwt } => {
                let secret = self.jwt_secret()?;
                let claims = jwt::verify(secret, &jwt, now_ms() / 1000)
                    .map_err(|e| refused(&format!("JWT refused: {e}")))?;
                if claims.role.as_deref() != Some("agent") {
                    return Err(refused("not an agent: the JWT needs role \"agent\""));
                }
                let name = clean_name(claims.name.as_deref().unwrap_or(&claims.sub))?;
                Agent {
                    id: claims.sub,
                    name,
                }
            }
            AgentSessionRequest::ApiKey { api_key, name } => {
                let Some(key) = &self.agent_api_key else {
                    return Err(refused("no agent API key is configured on this proxy"));
                };
                if !bool::from(key.as_slice().ct_eq(api_key.as_bytes())) {
                    return Err(refused("agent API key does not match"));
                }
                Agent {
                    id: INTEGRATION_ID.to_owned(),
                    name: clean_name(&name)?,
                }
            }
        };
        let expires_at = now_ms().saturating_add(self.session_ttl_ms);
        let token = self.signer.sign(&AgentClaims {
            typ: "agent".into(),
            sub: agent.id.clone(),
            name: agent.name.clone(),
            exp: expires_at,
        });
        Ok(AgentSessionResponse {
            token,
            expires_at,
            agent,
        })
    }

    /// The agent of a valid, unexpired agent token.
    pub fn verify_agent(&self, token: &str) -> Result<Agent, ProxyError> {
        let claims = self
            .signer
            .verify_agent(token, now_ms())
            .ok_or(ProxyError::Unauthorized)?;
        Ok(Agent {
            id: claims.sub,
            name: claims.name,
        })
    }
}
