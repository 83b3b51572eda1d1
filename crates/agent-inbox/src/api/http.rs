//! The one place that calls `fetch` for JSON: bearer token, JSON body, a timeout
//! through `AbortController`, typed errors. Browser-only plumbing, kept thin.

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, Headers, RequestInit, Response};

use super::error::ApiError;

/// Abandon a request after this long, ms.
const TIMEOUT_MS: i32 = 30_000;

/// Turns a thrown JS value into a network error.
pub fn js_error(value: JsValue) -> ApiError {
    let text = value
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| value.as_string())
        .unwrap_or_else(|| "request failed".to_owned());
    ApiError::Network(text)
}

/// Request headers: JSON, and the bearer token when there is one.
pub fn headers(token: Option<&str>) -> Result<Headers, ApiError> {
    let headers = Headers::new().map_err(js_error)?;
    headers
        .set("Accept", "application/json")
        .map_err(js_error)?;
    if let Some(token) = token {
        headers
            .set("Authorization", &format!("Bearer {token}"))
            .map_err(js_error)?;
    }
    Ok(headers)
}

/// Sends one request (`POST` with a body, `GET` without) and returns the body text of a
/// 2xx answer (empty for 204), or the decoded error.
pub async fn send(
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> Result<String, ApiError> {
    let window = web_sys::window().ok_or_else(|| ApiError::Network("no window".into()))?;
    let headers = headers(token)?;
    let init = RequestInit::new();
    init.set_method(method);
    if let Some(body) = body {
        headers
            .set("Content-Type", "application/json")
            .map_err(js_error)?;
        init.set_body(&JsValue::from_str(body));
    }
    init.set_headers(&headers);
    let controller = AbortController::new().map_err(js_error)?;
    init.set_signal(Some(&controller.signal()));
    let abort = wasm_bindgen::closure::Closure::once_into_js(move || controller.abort());
    let timer = window
        .set_timeout_with_callback_and_timeout_and_arguments_0(abort.unchecked_ref(), TIMEOUT_MS)
        .ok();
    let outcome = async {
        let response: Response = JsFuture::from(window.fetch_with_str_and_init(url, &init))
            .await
            .map_err(js_error)?
            .unchecked_into();
        let promise = response.text().map_err(js_error)?;
        let text = JsFuture::from(promise)
            .await
            .map_err(js_error)?
            .as_string()
            .unwrap_or_default();
        if response.ok() {
            Ok(text)
        } else {
            Err(ApiError::from_response(response.status(), &text))
        }
    }
    .await;
    if let Some(timer) = timer {
        window.clear_timeout_with_handle(timer);
    }
    outcome
}
