//! The ids EverDesk uses inside EverOS: the session of a customer's ticket, the
//! `sender_id` of each turn, and the EverOS owner id a customer id maps to on v2.
//!
//! On EverOS v2 every `role: "user"` turn makes its `sender_id` an owner of the
//! session's episodes, and a session filter returns whoever's buffered messages are in
//! it (everos-v2.md §3). So a session must never hold two customers: the session id
//! binds the client-chosen ticket id to the customer's id, and the proxy only ever puts
//! such a bound id into a read filter.

use sha2::{Digest, Sha256};

/// `sender_id` of every bot turn: one fixed id that owns nothing (assistant turns never
/// confer ownership on v2).
pub const BOT_SENDER_ID: &str = "everdesk-assistant";

/// Hex digits of the customer digest in a session id (128 bits).
const CUSTOMER_DIGEST_HEX: usize = 32;

/// Prefix of owner ids that are digests of a customer id v2 cannot take as it is.
const DIGEST_OWNER_PREFIX: &str = "h.";

/// Longest `sender_id` / `user_id` EverOS v2 accepts.
const MAX_OWNER_LEN: usize = 128;

fn sha256_hex(domain: &str, value: &str) -> String {
    let mut h = Sha256::new();
    h.update(domain.as_bytes());
    h.update([0]);
    h.update(value.as_bytes());
    hex::encode(h.finalize())
}

/// The EverOS session of ticket `ticket_id` of customer `customer_id`:
/// `ticket_<ticket id>_<32 hex of SHA-256(customer id)>`. Ticket ids are
/// `[A-Za-z0-9_-]{1,64}` and the digest has a fixed length, so two different
/// (customer, ticket) pairs never give one session id (at most 104 characters; v2
/// allows 128). What the customer sees of the ticket id is unchanged.
pub fn session_id(customer_id: &str, ticket_id: &str) -> String {
    let digest = sha256_hex("everdesk-session", customer_id);
    format!("ticket_{ticket_id}_{}", &digest[..CUSTOMER_DIGEST_HEX])
}

/// Whether EverOS v2 takes `id` as a `sender_id` / `user_id` as it is
/// (`^[a-zA-Z0-9_.@+-]+$`, at most 128, not `.` or `..`).
fn v2_plain(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_OWNER_LEN
        && id != "."
        && id != ".."
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.@+-".contains(&b))
}

/// The EverOS v2 owner id of a customer: the customer id itself when v2 accepts it,
/// else `h.<SHA-256 hex>` (host user ids may hold `|`, spaces or 256 characters). Ids
/// that already start with `h.` are always digested, so no plain id can equal the
/// digest of another.
pub fn v2_owner(customer_id: &str) -> std::borrow::Cow<'_, str> {
    if v2_plain(customer_id) && !customer_id.starts_with(DIGEST_OWNER_PREFIX) {
        std::borrow::Cow::Borrowed(customer_id)
    } else {
        std::borrow::Cow::Owned(format!(
            "{DIGEST_OWNER_PREFIX}{}",
            sha256_hex("everdesk-owner", customer_id)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_customers_with_one_ticket_id_get_two_sessions() {
        let a = session_id("alice", "T-1");
        let b = session_id("bob", "T-1");
        assert_ne!(a, b);
        assert!(a.starts_with("ticket_T-1_"), "{a}");
        assert_eq!(a, session_id("alice", "T-1"), "stable");
        assert!(session_id(&"x".repeat(256), &"t".repeat(64)).len() <= 128);
    }

    #[test]
    fn ticket_ids_with_underscores_cannot_forge_another_session() {
        // The digest has a fixed length, so the ticket id is always recoverable.
        let a = session_id("alice", "a_b");
        let digest = &a[a.len() - CUSTOMER_DIGEST_HEX..];
        assert_eq!(&a[..a.len() - CUSTOMER_DIGEST_HEX - 1], "ticket_a_b");
        assert_ne!(session_id("bob", &format!("a_b_{digest}")), a);
    }

    #[test]
    fn owners_follow_the_v2_sender_rules() {
        assert_eq!(v2_owner("visitor_0a1b"), "visitor_0a1b");
        assert_eq!(v2_owner("dana@example.com"), "dana@example.com");
        let odd = v2_owner("auth0|1234 5");
        assert!(odd.starts_with("h.") && v2_plain(&odd), "{odd}");
        assert_ne!(
            v2_owner("h.abc"),
            "h.abc",
            "an id shaped like a digest is digested"
        );
        assert!(v2_plain(&v2_owner(&"é".repeat(200))));
        assert!(!v2_plain("..") && !v2_plain(""));
        assert!(v2_plain(BOT_SENDER_ID));
    }
}
