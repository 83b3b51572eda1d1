//! The Intercom/Chatwoot-style user hash: `hex(HMAC-SHA256(identity secret, user_id))`,
//! compared in constant time.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Whether `user_hash` is the lowercase (or uppercase) hex HMAC of `user_id` under `secret`.
pub fn verify(secret: &[u8], user_id: &str, user_hash: &str) -> bool {
    let Ok(expected) = hex::decode(user_hash.trim()) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return false;
    };
    mac.update(user_id.as_bytes());
    mac.verify_slice(&expected).is_ok()
}

/// Computes the hash a host backend would send (used by tests and docs).
pub fn compute(secret: &[u8], user_id: &str) -> String {
    match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(mut mac) => {
            mac.update(user_id.as_bytes());
            hex::encode(mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_a_known_vector_and_refuses_forgeries() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let h = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        assert_eq!(compute(b"Jefe", "what do ya want for nothing?"), h);
        assert!(verify(b"Jefe", "what do ya want for nothing?", h));
        assert!(!verify(b"Jefe", "what do ya want for nothing!", h));
        assert!(!verify(b"Jefe", "what do ya want for nothing?", "zz"));
        assert!(!verify(b"Jefe", "what do ya want for nothing?", &h[..62]));
    }
}
