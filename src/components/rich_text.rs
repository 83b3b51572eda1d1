//! `RichText`: renders a message parsed by [`crate::text::parse`] as real DOM nodes
//! (`<p>`, lists, `<strong>`, `<em>`, `<code>`, `<br>`, `<a>`). Text always goes in
//! as text nodes and `href`s are `http(s)` only, so no markup in a message can run.
//!
//! The nested inline tree is first flattened into runs (text with its bold/italic
//! state, code, link, line break), so rendering needs no recursive, type-erased
//! views: that keeps the wasm small.

use leptos::either::{EitherOf3, EitherOf7};
use leptos::prelude::*;

use crate::text::{parse, Block, Inline};

/// One flat piece of formatted text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Run {
    /// Text, possibly bold and/or italic.
    Text {
        /// The text.
        text: String,
        /// Inside `**…**`.
        bold: bool,
        /// Inside `*…*` or `_…_`.
        italic: bool,
    },
    /// Inline code.
    Code(String),
    /// A safe http(s) link.
    Link {
        /// Target.
        href: String,
        /// Label.
        text: String,
    },
    /// A line break.
    Break,
}

/// Flattens inlines into runs, carrying the bold/italic state down.
pub fn runs(inlines: Vec<Inline>) -> Vec<Run> {
    fn walk(inlines: Vec<Inline>, bold: bool, italic: bool, out: &mut Vec<Run>) {
        for inline in inlines {
            match inline {
                Inline::Text(text) => out.push(Run::Text { text, bold, italic }),
                Inline::Bold(children) => walk(children, true, italic, out),
                Inline::Italic(children) => walk(children, bold, true, out),
                Inline::Code(code) => out.push(Run::Code(code)),
                Inline::Link { href, text } => out.push(Run::Link { href, text }),
                Inline::LineBreak => out.push(Run::Break),
            }
        }
    }
    let mut out = Vec::new();
    walk(inlines, false, false, &mut out);
    out
}

/// A chat message body with safe formatting; links open in a new tab without
/// giving it access to this frame.
#[component]
pub fn RichText(
    /// The raw message text.
    #[prop(into)]
    text: String,
) -> impl IntoView {
    let blocks: Vec<_> = parse(&text).into_iter().map(block_view).collect();
    view! { <div class="ed-rich-text">{blocks}</div> }
}

fn block_view(block: Block) -> impl IntoView {
    match block {
        Block::Paragraph(inlines) => EitherOf3::A(view! { <p>{runs_view(inlines)}</p> }),
        Block::List {
            ordered: true,
            items,
        } => EitherOf3::B(view! { <ol>{items_view(items)}</ol> }),
        Block::List {
            ordered: false,
            items,
        } => EitherOf3::C(view! { <ul>{items_view(items)}</ul> }),
    }
}

fn items_view(items: Vec<Vec<Inline>>) -> Vec<impl IntoView> {
    items
        .into_iter()
        .map(|item| view! { <li>{runs_view(item)}</li> })
        .collect()
}

fn runs_view(inlines: Vec<Inline>) -> Vec<impl IntoView> {
    runs(inlines).into_iter().map(run_view).collect()
}

fn run_view(run: Run) -> impl IntoView {
    match run {
        Run::Text {
            text,
            bold: false,
            italic: false,
        } => EitherOf7::A(text),
        Run::Text {
            text,
            bold: true,
            italic: false,
        } => EitherOf7::B(view! { <strong>{text}</strong> }),
        Run::Text {
            text,
            bold: false,
            italic: true,
        } => EitherOf7::C(view! { <em>{text}</em> }),
        Run::Text { text, .. } => EitherOf7::D(view! { <strong><em>{text}</em></strong> }),
        Run::Code(code) => EitherOf7::E(view! { <code>{code}</code> }),
        Run::Link { href, text } => EitherOf7::F(view! {
            <a href=href rel="noopener noreferrer" target="_blank">{text}</a>
        }),
        Run::Break => EitherOf7::G(view! { <br /> }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_formatting_flattens_with_its_state() {
        let flat = runs(vec![
            Inline::Text("a".into()),
            Inline::Bold(vec![
                Inline::Text("b".into()),
                Inline::Italic(vec![Inline::Text("c".into())]),
            ]),
            Inline::LineBreak,
            Inline::Code("d".into()),
        ]);
        let t = |text: &str, bold, italic| Run::Text {
            text: text.into(),
            bold,
            italic,
        };
        assert_eq!(
            flat,
            vec![
                t("a", false, false),
                t("b", true, false),
                t("c", true, true),
                Run::Break,
                Run::Code("d".into())
            ]
        );
    }
}
