//! The one place that calls `fetch`: JSON in, JSON out, typed errors, a timeout
//! through `AbortController`. Browser-only plumbing, kept thin.

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, Headers, RequestInit, Response};

use super::error::ApiError;

/// Abandon a request after this long, ms.
pub const TIMEOUT_MS: i32 = 30_000;

/// HTTP methods the API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET.
    Get,
    /// POST.
    Post,
    /// DELETE.
    Delete,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Delete => "DELETE",
        }
    }
}

fn js_error(value: JsValue) -> ApiError {
    let text = value
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| value.as_string())
        .unwrap_or_else(|| "request failed".to_owned());
    ApiError::Network(text)
}

/// The request's method, headers (`Accept`, the bearer token, and the JSON content
/// type when there is a body) and body. Shared by [`send`] and [`open_stream`].
fn request_init(
    method: Method,
    token: Option<&str>,
    body: Option<&str>,
    accept: &str,
) -> Result<RequestInit, ApiError> {
    let headers = Headers::new().map_err(js_error)?;
    headers.set("Accept", accept).map_err(js_error)?;
    if let Some(token) = token {
        headers
            .set("Authorization", &format!("Bearer {token}"))
            .map_err(js_error)?;
    }
    let init = RequestInit::new();
    init.set_method(method.as_str());
    if let Some(body) = body {
        headers
            .set("Content-Type", "application/json")
            .map_err(js_error)?;
        init.set_body(&JsValue::from_str(body));
    }
    init.set_headers(&headers);
    Ok(init)
}

fn window() -> Result<web_sys::Window, ApiError> {
    web_sys::window().ok_or_else(|| ApiError::Network("no window".into()))
}

/// Sends one request and returns the body text of a 2xx response (empty for 204),
/// or the decoded error. Not generic: one copy of the fetch plumbing in the wasm.
pub async fn send(
    method: Method,
    url: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> Result<String, ApiError> {
    let window = window()?;
    let init = request_init(method, token, body, "application/json")?;
    let controller = AbortController::new().ok();
    let timer = controller.as_ref().and_then(|c| {
        init.set_signal(Some(&c.signal()));
        let abort = wasm_bindgen::closure::Closure::once_into_js({
            let c = c.clone();
            move || c.abort()
        });
        window
            .set_timeout_with_callback_and_timeout_and_arguments_0(
                abort.unchecked_ref(),
                TIMEOUT_MS,
            )
            .ok()
    });
    let result = JsFuture::from(window.fetch_with_str_and_init(url, &init)).await;
    let response: Result<Response, ApiError> = result.map(JsCast::unchecked_into).map_err(js_error);
    let outcome = match response {
        Ok(response) => {
            let text = text(&response).await;
            match (response.ok(), text) {
                (true, text) => text,
                (false, text) => Err(refused(&response, &text.unwrap_or_default())),
            }
        }
        Err(e) => Err(e),
    };
    if let Some(timer) = timer {
        window.clear_timeout_with_handle(timer);
    }
    outcome
}

async fn text(response: &Response) -> Result<String, ApiError> {
    let promise = response.text().map_err(js_error)?;
    let value = JsFuture::from(promise).await.map_err(js_error)?;
    value
        .as_string()
        .ok_or_else(|| ApiError::Decode("body is not text".into()))
}

/// The error of a non-2xx response with body `text`.
fn refused(response: &Response, text: &str) -> ApiError {
    let retry_after = response
        .headers()
        .get("Retry-After")
        .ok()
        .flatten()
        .and_then(|v| v.trim().parse().ok());
    ApiError::from_response(response.status(), text, retry_after)
}

/// A streamed response body, read chunk by chunk.
#[derive(Debug)]
pub struct ByteStream {
    reader: web_sys::ReadableStreamDefaultReader,
}

impl ByteStream {
    /// The next chunk; `None` when the body ended. A network error or an abort of the
    /// request's signal ends it with an error.
    pub async fn next(&self) -> Result<Option<Vec<u8>>, ApiError> {
        let result = JsFuture::from(self.reader.read()).await.map_err(js_error)?;
        let done = js_sys::Reflect::get(&result, &JsValue::from_str("done"))
            .map_err(js_error)?
            .is_truthy();
        if done {
            return Ok(None);
        }
        let value = js_sys::Reflect::get(&result, &JsValue::from_str("value")).map_err(js_error)?;
        Ok(Some(js_sys::Uint8Array::new(&value).to_vec()))
    }
}

/// Opens a `text/event-stream` GET with the bearer token in the header (never in the
/// URL) and `Last-Event-ID` when resuming; aborted through `signal`. No timeout: the
/// stream stays open while the proxy sends (it sends keep-alive comments).
pub async fn open_stream(
    url: &str,
    token: &str,
    last_event_id: Option<i64>,
    signal: &web_sys::AbortSignal,
) -> Result<ByteStream, ApiError> {
    let init = request_init(Method::Get, Some(token), None, "text/event-stream")?;
    if let Some(id) = last_event_id {
        let headers: Headers = init.get_headers().unchecked_into();
        headers
            .set("Last-Event-ID", &id.to_string())
            .map_err(js_error)?;
    }
    init.set_signal(Some(signal));
    init.set_cache(web_sys::RequestCache::NoStore);
    let response: Response = JsFuture::from(window()?.fetch_with_str_and_init(url, &init))
        .await
        .map_err(js_error)?
        .unchecked_into();
    if !response.ok() {
        let text = text(&response).await.unwrap_or_default();
        return Err(refused(&response, &text));
    }
    let body = response
        .body()
        .ok_or_else(|| ApiError::Decode("no body".into()))?;
    Ok(ByteStream {
        reader: body.get_reader().unchecked_into(),
    })
}
