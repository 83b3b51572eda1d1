//! `RichText`: renders a message parsed by [`crate::text::parse`] as real DOM nodes
//! (`<p>`, lists, `<strong>`, `<em>`, `<code>`, `<br>`, `<a>`). Text always goes in
//! as text nodes and `href`s are `http(s)` only, so no markup in a message can run.

use leptos::prelude::*;

use crate::text::{parse, Block, Inline};

/// A chat message body with safe formatting; links open in a new tab without
/// giving it access to this frame.
#[component]
pub fn RichText(
    /// The raw message text.
    #[prop(into)]
    text: String,
) -> impl IntoView {
    let blocks: Vec<AnyView> = parse(&text).into_iter().map(block_view).collect();
    view! { <div class="ed-rich-text">{blocks}</div> }
}

fn block_view(block: Block) -> AnyView {
    match block {
        Block::Paragraph(inlines) => view! { <p>{inlines_view(inlines)}</p> }.into_any(),
        Block::List {
            ordered: true,
            items,
        } => view! { <ol>{items_view(items)}</ol> }.into_any(),
        Block::List {
            ordered: false,
            items,
        } => view! { <ul>{items_view(items)}</ul> }.into_any(),
    }
}

fn items_view(items: Vec<Vec<Inline>>) -> Vec<AnyView> {
    items
        .into_iter()
        .map(|item| view! { <li>{inlines_view(item)}</li> }.into_any())
        .collect()
}

fn inlines_view(inlines: Vec<Inline>) -> Vec<AnyView> {
    inlines.into_iter().map(inline_view).collect()
}

fn inline_view(inline: Inline) -> AnyView {
    match inline {
        Inline::Text(text) => text.into_any(),
        Inline::Bold(children) => view! { <strong>{inlines_view(children)}</strong> }.into_any(),
        Inline::Italic(children) => view! { <em>{inlines_view(children)}</em> }.into_any(),
        Inline::Code(code) => view! { <code>{code}</code> }.into_any(),
        Inline::Link { href, text } => view! {
            <a href=href rel="noopener noreferrer" target="_blank">{text}</a>
        }
        .into_any(),
        Inline::LineBreak => view! { <br /> }.into_any(),
    }
}
