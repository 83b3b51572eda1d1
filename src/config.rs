//! `WidgetConfig`: what the host page configured (via the loader's `data-*`
//! attributes), typed, defaulted and validated. Raw values arrive in [`HostConfig`];
//! [`WidgetConfig::from_host`] never fails as a whole: each bad field falls back to
//! its default and is reported, so one typo on a host page cannot break the widget.

use everdesk_api::json_struct;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::origin::parse_origin;

/// Raw settings as the loader read them from the script tag; every field optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostConfig {
    /// `data-proxy-url`: base URL of the EverDesk proxy.
    #[serde(default)]
    pub proxy_url: Option<String>,
    /// `data-title`: panel heading.
    #[serde(default)]
    pub title: Option<String>,
    /// `data-color`: brand colour, `#rgb` or `#rrggbb`.
    #[serde(default)]
    pub color: Option<String>,
    /// `data-theme`: `light`, `dark` or `auto`.
    #[serde(default)]
    pub theme: Option<String>,
    /// `data-locale`: BCP 47 tag such as `en` or `ar-EG`.
    #[serde(default)]
    pub locale: Option<String>,
}
// How the frame reads it (see `crate::bridge`): the same members, all optional.
json_struct!(HostConfig {
    proxy_url: opt,
    title: opt,
    color: opt,
    theme: opt,
    locale: opt
});

/// Colour scheme of the panel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Theme {
    /// Follow `prefers-color-scheme`.
    #[default]
    Auto,
    /// Always light.
    Light,
    /// Always dark.
    Dark,
}

impl Theme {
    /// The value of the `data-theme` attribute on the root element.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Light => "light",
            Self::Dark => "dark",
        }
    }
}

/// A field of [`HostConfig`] that was present but unusable.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConfigError {
    /// `proxy_url` is not an absolute http(s) URL.
    #[error("data-proxy-url must be an absolute http(s) URL")]
    ProxyUrl,
    /// `color` is not a hex colour.
    #[error("data-color must be a hex colour like #1f6feb")]
    Color,
    /// `theme` is not light/dark/auto.
    #[error("data-theme must be light, dark or auto")]
    Theme,
    /// `locale` is not a plausible language tag.
    #[error("data-locale must be a language tag like en or ar-EG")]
    Locale,
}

/// Validated widget settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WidgetConfig {
    /// Proxy base URL without a trailing slash; `None` until the host sends it.
    pub proxy_url: Option<String>,
    /// Panel heading set by the host; `None` shows the localized default
    /// ([`crate::i18n::Strings::support`]).
    pub title: Option<String>,
    /// Brand colour (validated hex), if the host set one.
    pub color: Option<String>,
    /// Colour scheme.
    pub theme: Theme,
    /// Language tag, lower-case primary subtag first.
    pub locale: String,
}

/// Longest heading kept, in characters.
pub const MAX_TITLE_CHARS: usize = 60;

impl Default for WidgetConfig {
    fn default() -> Self {
        Self {
            proxy_url: None,
            title: None,
            color: None,
            theme: Theme::Auto,
            locale: "en".to_owned(),
        }
    }
}

impl WidgetConfig {
    /// Validates raw host settings; unusable fields keep their defaults and are
    /// returned as errors to report.
    pub fn from_host(raw: &HostConfig) -> (Self, Vec<ConfigError>) {
        let mut config = Self::default();
        let mut errors = Vec::new();
        if let Some(url) = &raw.proxy_url {
            match proxy_url(url) {
                Some(url) => config.proxy_url = Some(url),
                None => errors.push(ConfigError::ProxyUrl),
            }
        }
        if let Some(title) = raw
            .title
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            config.title = Some(title.chars().take(MAX_TITLE_CHARS).collect());
        }
        if let Some(color) = &raw.color {
            match is_hex_color(color) {
                true => config.color = Some(color.to_ascii_lowercase()),
                false => errors.push(ConfigError::Color),
            }
        }
        if let Some(theme) = &raw.theme {
            match theme.as_str() {
                "auto" => config.theme = Theme::Auto,
                "light" => config.theme = Theme::Light,
                "dark" => config.theme = Theme::Dark,
                _ => errors.push(ConfigError::Theme),
            }
        }
        if let Some(locale) = &raw.locale {
            match normalize_locale(locale) {
                Some(locale) => config.locale = locale,
                None => errors.push(ConfigError::Locale),
            }
        }
        (config, errors)
    }
}

/// An absolute http(s) URL with an optional path, trailing slash removed.
fn proxy_url(url: &str) -> Option<String> {
    let url = url.trim().trim_end_matches('/');
    let scheme_end = url.find("://")? + 3;
    let (origin, path) = match url[scheme_end..].find('/') {
        Some(i) => url.split_at(scheme_end + i),
        None => (url, ""),
    };
    parse_origin(origin).ok()?;
    let path_ok = path
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/-._~".contains(c));
    path_ok.then(|| url.to_owned())
}

/// `#rgb` or `#rrggbb`: the only colours we put into a CSS custom property.
fn is_hex_color(s: &str) -> bool {
    s.strip_prefix('#')
        .is_some_and(|hex| matches!(hex.len(), 3 | 6) && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The text colour to put on the brand colour: white, or near-black when white would
/// not reach the WCAG AA contrast of 4.5:1 (a light brand colour such as yellow).
pub fn on_brand(color: &str) -> &'static str {
    let hex = color.trim_start_matches('#');
    let channel = |i: usize| -> f64 {
        let v = match hex.len() {
            3 => hex
                .get(i..=i)
                .and_then(|h| u8::from_str_radix(&h.repeat(2), 16).ok()),
            _ => hex
                .get(2 * i..2 * i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok()),
        };
        let c = f64::from(v.unwrap_or(0)) / 255.0;
        if c <= 0.04045 {
            c / 12.92
        } else {
            pow((c + 0.055) / 1.055, 2.4)
        }
    };
    let luminance = 0.2126 * channel(0) + 0.7152 * channel(1) + 0.0722 * channel(2);
    let contrast_with_white = 1.05 / (luminance + 0.05);
    if contrast_with_white >= 4.5 {
        "#ffffff"
    } else {
        "#111111"
    }
}

/// `base` to the power `exp`: the JS engine's `Math.pow` in the browser (Rust's `powf`
/// would add its own implementation to the wasm), Rust's elsewhere.
fn pow(base: f64, exp: f64) -> f64 {
    #[cfg(target_arch = "wasm32")]
    return js_sys::Math::pow(base, exp);
    #[cfg(not(target_arch = "wasm32"))]
    return base.powf(exp);
}

/// `en`, `ar-EG`, `pt_BR` → `en`, `ar-eg`, `pt-br`; `None` for anything else.
fn normalize_locale(s: &str) -> Option<String> {
    let s = s.trim().replace('_', "-").to_ascii_lowercase();
    let mut parts = s.split('-');
    let primary = parts.next()?;
    let primary_ok =
        (2..=3).contains(&primary.len()) && primary.bytes().all(|b| b.is_ascii_lowercase());
    let rest_ok =
        parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()));
    (primary_ok && rest_ok).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(f: impl FnOnce(&mut HostConfig)) -> HostConfig {
        let mut raw = HostConfig::default();
        f(&mut raw);
        raw
    }

    #[test]
    fn empty_host_config_gives_defaults_without_errors() {
        let (config, errors) = WidgetConfig::from_host(&HostConfig::default());
        assert_eq!(config, WidgetConfig::default());
        assert!(errors.is_empty());
    }

    #[test]
    fn valid_fields_are_taken() {
        let (config, errors) = WidgetConfig::from_host(&host(|h| {
            h.proxy_url = Some("https://desk.example.com/support/".into());
            h.title = Some("  Acme help  ".into());
            h.color = Some("#1F6FEB".into());
            h.theme = Some("dark".into());
            h.locale = Some("ar_EG".into());
        }));
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            config.proxy_url.as_deref(),
            Some("https://desk.example.com/support")
        );
        assert_eq!(config.title.as_deref(), Some("Acme help"));
        assert_eq!(config.color.as_deref(), Some("#1f6feb"));
        assert_eq!(config.theme, Theme::Dark);
        assert_eq!(config.locale, "ar-eg");
    }

    #[test]
    fn bad_fields_fall_back_and_are_reported() {
        let (config, errors) = WidgetConfig::from_host(&host(|h| {
            h.proxy_url = Some("javascript:alert(1)".into());
            h.color = Some("red;}body{display:none".into());
            h.theme = Some("neon".into());
            h.locale = Some("<script>".into());
        }));
        assert_eq!(config, WidgetConfig::default());
        assert_eq!(
            errors,
            vec![
                ConfigError::ProxyUrl,
                ConfigError::Color,
                ConfigError::Theme,
                ConfigError::Locale
            ]
        );
    }

    #[test]
    fn text_on_the_brand_colour_keeps_aa_contrast() {
        assert_eq!(on_brand("#1f5fd1"), "#ffffff");
        assert_eq!(on_brand("#000"), "#ffffff");
        assert_eq!(on_brand("#ffeb3b"), "#111111");
        assert_eq!(on_brand("#fff"), "#111111");
        // #767676 is the classic 4.54:1 grey on white: still white text.
        assert_eq!(on_brand("#767676"), "#ffffff");
        assert_eq!(on_brand("#808080"), "#111111");
    }

    #[test]
    fn long_titles_are_cut_and_blank_titles_ignored() {
        let (config, _) = WidgetConfig::from_host(&host(|h| h.title = Some("x".repeat(200))));
        assert_eq!(
            config.title.unwrap_or_default().chars().count(),
            MAX_TITLE_CHARS
        );
        let (config, _) = WidgetConfig::from_host(&host(|h| h.title = Some("   ".into())));
        assert_eq!(config.title, None);
    }

    #[test]
    fn proxy_urls_with_queries_or_credentials_are_refused() {
        assert_eq!(
            proxy_url("http://127.0.0.1:8787"),
            Some("http://127.0.0.1:8787".into())
        );
        assert_eq!(proxy_url("https://a.com/x?y=1"), None);
        assert_eq!(proxy_url("https://u:p@a.com"), None);
        assert_eq!(proxy_url("//a.com"), None);
    }
}
