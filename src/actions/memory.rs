//! What the proxy remembers for the customer: recalled past tickets, profile
//! facts, and forget-me. Nothing is asked before the customer has a ticket and the
//! panel is open, so a first visit, or a page view with the widget only preloaded,
//! makes no request and writes nothing.

use everdesk_api::{HistoryResponse, ProfileResponse};
use leptos::prelude::*;

use super::{Chat, Remote, View};
use crate::api::{decode, Endpoint};

impl Chat {
    /// Loads recalled history for the list screen (once; again after a close), when
    /// the panel is open and the host has configured the proxy.
    pub fn load_history(self) {
        let idle = self
            .history
            .with_untracked(|h| matches!(h, Remote::Idle | Remote::Failed(_)));
        if !idle
            || !self.panel_open.get_untracked()
            || self.api().is_err()
            || self.tickets.with_untracked(Vec::is_empty)
        {
            return;
        }
        self.history.set(Remote::Loading);
        // Bound to the customer: another customer's answer is never shown.
        self.spawn_for_customer(Box::pin(async move {
            let result = self
                .authed(Endpoint::history(None, Some(5)))
                .await
                .and_then(|text| decode::<HistoryResponse>(&text));
            self.history.set(match result {
                Ok(h) => Remote::Ready(h.episodes),
                Err(e) => Remote::Failed(self.failed(&e)),
            });
        }));
    }

    /// Shows what we remember.
    pub fn show_memory(self) {
        self.error.set(None);
        self.notice.set(None);
        self.view.set(View::Memory);
        if self.tickets.with_untracked(Vec::is_empty) {
            self.profile.set(Remote::Ready(Vec::new()));
            return;
        }
        self.profile.set(Remote::Loading);
        self.spawn_for_customer(Box::pin(async move {
            let result = self
                .authed(Endpoint::profile())
                .await
                .and_then(|text| decode::<ProfileResponse>(&text));
            self.profile.set(match result {
                Ok(p) => Remote::Ready(p.facts),
                Err(e) => Remote::Failed(self.failed(&e)),
            });
        }));
    }

    /// Deletes the customer's memory on the proxy, then everything local.
    /// On success the home screen says so; on failure the memory screen shows why.
    pub fn forget_me(self) {
        self.busy.set(true);
        self.error.set(None);
        // Bound to the customer: once their data is gone from this tab (another
        // identity, a wipe elsewhere) the answer changes nothing.
        self.spawn_for_customer(Box::pin(async move {
            let result = self.authed(Endpoint::forget_me()).await.map(drop);
            self.busy.set(false);
            match result {
                Ok(()) => {
                    self.wipe_local();
                    self.notice.set(Some(self.strings().forgotten));
                }
                Err(e) => self.error.set(Some(self.failed(&e))),
            }
        }));
    }
}
