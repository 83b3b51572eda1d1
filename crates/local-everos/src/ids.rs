//! Identifiers: ObjectId-like hex ids, request ids and the engine's md5-derived ids.

use std::sync::atomic::{AtomicU64, Ordering};

use md5::{Digest, Md5};

use crate::clock::now_ms;

/// Process-wide counter so ids made in the same second still differ and sort by creation.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A per-process random-ish 5-byte tag (pid and start time), like ObjectId's machine part.
fn process_tag() -> u64 {
    let seed = format!("{}-{}", std::process::id(), now_ms());
    let d = Md5::digest(seed.as_bytes());
    u64::from_be_bytes([0, 0, 0, d[0], d[1], d[2], d[3], d[4]])
}

/// A new 24-hex-char ObjectId-like id: 4 bytes of seconds, 5 of process tag, 3 of counter.
pub fn object_id() -> String {
    static TAG: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let tag = *TAG.get_or_init(process_tag);
    let secs = u32::try_from(now_ms() / 1000).unwrap_or(u32::MAX);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed) & 0x00ff_ffff;
    format!("{secs:08x}{tag:010x}{n:06x}")
}

/// A new 32-hex-char request id.
pub fn request_id() -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    md5_hex(&format!("{}-{}-{n}", std::process::id(), now_ms()))
}

/// Lower-case hex md5 of a string.
pub fn md5_hex(s: &str) -> String {
    Md5::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The personal group id the engine gives a user's memories: `gen_solo_<md5(user_id)[:12]>`.
pub fn solo_group_id(user_id: &str) -> String {
    format!("gen_solo_{}", &md5_hex(user_id)[..12])
}

/// The generated assistant sender id: `gen_sdr_<md5(user_id)[:12]>`.
pub fn assistant_sender_id(user_id: &str) -> String {
    format!("gen_sdr_{}", &md5_hex(user_id)[..12])
}

/// The engine's derived message id: `gen_msg_<md5(user_id + "_" + ts)[:12]>`.
pub fn message_id(user_id: &str, timestamp_ms: i64) -> String {
    format!(
        "gen_msg_{}",
        &md5_hex(&format!("{user_id}_{timestamp_ms}"))[..12]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_engine_shapes() {
        let id = object_id();
        assert_eq!(id.len(), 24);
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(object_id(), object_id());
        assert_eq!(solo_group_id("cust_8812").len(), "gen_solo_".len() + 12);
        assert_eq!(md5_hex("abc"), "900150983cd24fb0d6963f7d28e17f72");
    }
}
