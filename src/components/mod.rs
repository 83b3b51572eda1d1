//! View components, one per file. They read state through the `Chat` handle and
//! act through its methods; no component builds a URL or touches storage.

pub mod app;
pub mod close_form;
pub mod composer;
pub mod controls;
pub mod conversation;
pub mod handoff_card;
pub mod history_list;
pub mod keyed;
pub mod memory_view;
pub mod message_item;
pub mod new_ticket;
pub mod reactive;
pub mod rich_text;
pub mod ticket_list;
