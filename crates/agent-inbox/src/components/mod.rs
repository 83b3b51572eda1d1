//! The inbox's views, one per file; each reads the [`crate::Inbox`] it is given and
//! calls its actions (no component builds a URL or calls fetch).

pub mod app;
pub mod handoff_card;
pub mod memory;
pub mod queue;
pub mod reply_box;
pub mod sign_in;
pub mod ticket;
pub mod time;
pub mod transcript;
