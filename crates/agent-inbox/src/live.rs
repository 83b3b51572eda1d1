//! The agents' live event stream, `GET /v1/agent/events`: read with `fetch()` and the
//! body's `ReadableStream` (EventSource cannot send the Authorization header, and no
//! token may travel in a URL), parsed by [`crate::sse`], resumed with `Last-Event-ID`,
//! reconnected with backoff. One stream per page; [`stop`] aborts it.

use std::{cell::RefCell, rc::Rc};

use everdesk_api::{routes, LiveEvent};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, ReadableStreamDefaultReader, RequestCache, RequestInit, Response};

use crate::{
    api::{http, ApiError},
    sse::SseParser,
};

/// Where the stream stands, shown in the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveStatus {
    /// Not signed in.
    Off,
    /// Connecting (the first time or again).
    Connecting,
    /// Receiving.
    Live,
    /// Lost; waiting to reconnect.
    Reconnecting,
}

/// What the stream reports to the app.
pub struct Hooks {
    /// Whether this stream is still wanted (the same agent is signed in).
    pub current: Box<dyn Fn() -> bool>,
    /// The stream (re)opened: refetch what may have been missed.
    pub opened: Box<dyn Fn()>,
    /// One event.
    pub event: Box<dyn Fn(LiveEvent)>,
    /// The status changed.
    pub status: Box<dyn Fn(LiveStatus)>,
}

thread_local! {
    static ACTIVE: RefCell<Option<AbortController>> = const { RefCell::new(None) };
}

/// Aborts the stream's request in flight (sign-out).
pub fn stop() {
    if let Some(c) = ACTIVE.with(|a| a.borrow_mut().take()) {
        c.abort();
    }
}

/// Waits `ms`.
pub async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = JsFuture::from(promise).await;
}

/// Keeps the stream open for as long as `hooks.current()` holds; returns the error
/// that ended it for good (the token was refused), or `Ok` when it was stopped.
pub async fn run(token: String, hooks: Hooks) -> Result<(), ApiError> {
    let hooks = Rc::new(hooks);
    let mut last_id: Option<String> = None;
    let mut backoff = 1_000;
    loop {
        if !(hooks.current)() {
            return Ok(());
        }
        (hooks.status)(LiveStatus::Connecting);
        let mut opened = false;
        let outcome = connect(&token, &mut last_id, &hooks, &mut opened).await;
        if !(hooks.current)() {
            return Ok(());
        }
        if let Err(e) = outcome {
            if e.is_unauthorized() {
                return Err(e);
            }
        }
        if opened {
            backoff = 1_000;
        }
        (hooks.status)(LiveStatus::Reconnecting);
        sleep(backoff).await;
        backoff = (backoff * 2).min(30_000);
    }
}

/// One connection: returns when the server ends the stream or it fails.
async fn connect(
    token: &str,
    last_id: &mut Option<String>,
    hooks: &Hooks,
    opened: &mut bool,
) -> Result<(), ApiError> {
    let window = web_sys::window().ok_or_else(|| ApiError::Network("no window".into()))?;
    let headers = http::headers(Some(token))?;
    headers
        .set("Accept", "text/event-stream")
        .map_err(http::js_error)?;
    if let Some(id) = last_id.as_deref() {
        headers.set("Last-Event-ID", id).map_err(http::js_error)?;
    }
    let init = RequestInit::new();
    init.set_method("GET");
    init.set_headers(&headers);
    init.set_cache(RequestCache::NoStore);
    let controller = AbortController::new().map_err(http::js_error)?;
    init.set_signal(Some(&controller.signal()));
    if let Some(old) = ACTIVE.with(|a| a.borrow_mut().replace(controller)) {
        old.abort();
    }
    let response: Response =
        JsFuture::from(window.fetch_with_str_and_init(routes::AGENT_EVENTS, &init))
            .await
            .map_err(http::js_error)?
            .unchecked_into();
    if !response.ok() {
        let text = match response.text() {
            Ok(p) => JsFuture::from(p)
                .await
                .ok()
                .and_then(|v| v.as_string())
                .unwrap_or_default(),
            Err(_) => String::new(),
        };
        return Err(ApiError::from_response(response.status(), &text));
    }
    let body = response
        .body()
        .ok_or_else(|| ApiError::Decode("no body".into()))?;
    let reader: ReadableStreamDefaultReader = body.get_reader().unchecked_into();
    *opened = true;
    (hooks.status)(LiveStatus::Live);
    (hooks.opened)();
    let mut parser = SseParser::new(last_id.clone());
    loop {
        let chunk = JsFuture::from(reader.read())
            .await
            .map_err(http::js_error)?;
        let done = js_sys::Reflect::get(&chunk, &"done".into())
            .map(|v| v.is_truthy())
            .unwrap_or(true);
        if done {
            return Ok(());
        }
        let bytes = js_sys::Reflect::get(&chunk, &"value".into())
            .ok()
            .and_then(|v| v.dyn_into::<js_sys::Uint8Array>().ok())
            .map(|a| a.to_vec())
            .unwrap_or_default();
        for frame in parser.feed(&bytes) {
            if !(hooks.current)() {
                let _ = reader.cancel();
                return Ok(());
            }
            match serde_json::from_str::<LiveEvent>(&frame.data) {
                Ok(event) => (hooks.event)(event),
                // An event type this inbox does not know yet: skipped, not fatal.
                Err(e) => web_sys::console::warn_1(
                    &format!(
                        "EverDesk inbox: skipped a live event ({}): {e}",
                        frame.event
                    )
                    .into(),
                ),
            }
            *last_id = frame.id;
        }
    }
}
