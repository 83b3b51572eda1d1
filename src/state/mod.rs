//! Pure models of the widget's state: tickets, messages and their delivery status,
//! the outbox of unsent messages, and the monotonic clock. Plain types with native
//! tests; the reactive wiring lives in `crate::actions`.

pub mod clock;
pub mod message;
pub mod outbox;
pub mod sort;
pub mod ticket;

pub use clock::MonotonicClock;
pub use message::{ChatMessage, Delivery};
pub use outbox::{Outbox, OutboxEntry};
pub use ticket::{TicketRecord, TicketSummary};
