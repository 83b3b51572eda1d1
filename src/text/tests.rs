//! Unit tests of `crate::text`, compiled only under `#[cfg(test)]` (see `mod.rs`).
use super::*;

fn text(s: &str) -> Inline {
    Inline::Text(s.to_owned())
}

fn link(href: &str, label: &str) -> Inline {
    Inline::Link {
        href: href.to_owned(),
        text: label.to_owned(),
    }
}

fn para(src: &str) -> Vec<Inline> {
    match parse(src).as_slice() {
        [Block::Paragraph(inlines)] => inlines.clone(),
        other => panic!("expected one paragraph, got {other:?}"),
    }
}

/// True if any link anywhere in the blocks has a non-http(s) href.
fn has_unsafe_link(blocks: &[Block]) -> bool {
    fn walk(inlines: &[Inline]) -> bool {
        inlines.iter().any(|i| match i {
            Inline::Link { href, .. } => safe_href(href).is_none(),
            Inline::Bold(c) | Inline::Italic(c) => walk(c),
            _ => false,
        })
    }
    blocks.iter().any(|b| match b {
        Block::Paragraph(i) => walk(i),
        Block::List { items, .. } => items.iter().any(|i| walk(i)),
    })
}

#[test]
fn plain_text_is_one_paragraph() {
    assert_eq!(para("Hello there"), vec![text("Hello there")]);
    assert_eq!(parse(""), vec![]);
    assert_eq!(parse("  \n\n \n"), vec![]);
}

#[test]
fn blank_lines_split_paragraphs_and_single_newlines_break() {
    assert_eq!(
        parse("one\ntwo\n\nthree\r\n"),
        vec![
            Block::Paragraph(vec![text("one"), Inline::LineBreak, text("two")]),
            Block::Paragraph(vec![text("three")]),
        ]
    );
}

#[test]
fn bold_italic_and_code() {
    assert_eq!(
        para("a **b** *c* _d_ `e`"),
        vec![
            text("a "),
            Inline::Bold(vec![text("b")]),
            text(" "),
            Inline::Italic(vec![text("c")]),
            text(" "),
            Inline::Italic(vec![text("d")]),
            text(" "),
            Inline::Code("e".into()),
        ]
    );
}

#[test]
fn emphasis_nests() {
    assert_eq!(
        para("**bold *and italic***"),
        vec![Inline::Bold(vec![
            text("bold "),
            Inline::Italic(vec![text("and italic")])
        ])]
    );
    assert_eq!(
        para("*it **bo** it*"),
        vec![Inline::Italic(vec![
            text("it "),
            Inline::Bold(vec![text("bo")]),
            text(" it"),
        ])]
    );
}

#[test]
fn code_is_verbatim() {
    assert_eq!(
        para("`**not bold** <b>`"),
        vec![Inline::Code("**not bold** <b>".into())]
    );
    assert_eq!(
        para("*a `*` b*"),
        vec![Inline::Italic(vec![
            text("a "),
            Inline::Code("*".into()),
            text(" b")
        ])]
    );
}

#[test]
fn unbalanced_markers_stay_literal() {
    assert_eq!(para("**not closed"), vec![text("**not closed")]);
    assert_eq!(para("*not closed"), vec![text("*not closed")]);
    assert_eq!(para("`open code"), vec![text("`open code")]);
    assert_eq!(para("2 * 3 * 4"), vec![text("2 * 3 * 4")]);
    assert_eq!(para("** spaced **"), vec![text("** spaced **")]);
    assert_eq!(para("a ** b"), vec![text("a ** b")]);
    assert_eq!(para("``"), vec![text("``")]);
    assert_eq!(para("[just brackets]"), vec![text("[just brackets]")]);
}

#[test]
fn emphasis_does_not_span_lines() {
    assert_eq!(
        para("**start\nend**"),
        vec![text("**start"), Inline::LineBreak, text("end**")]
    );
}

#[test]
fn snake_case_is_not_italic() {
    assert_eq!(
        para("call my_func_name now"),
        vec![text("call my_func_name now")]
    );
}

#[test]
fn bullet_and_ordered_lists() {
    assert_eq!(
        parse("Steps:\n1. Open **settings**\n2. Click save\n\n- a\n* b"),
        vec![
            Block::Paragraph(vec![text("Steps:")]),
            Block::List {
                ordered: true,
                items: vec![
                    vec![text("Open "), Inline::Bold(vec![text("settings")])],
                    vec![text("Click save")],
                ],
            },
            Block::List {
                ordered: false,
                items: vec![vec![text("a")], vec![text("b")]]
            },
        ]
    );
}

#[test]
fn list_kind_change_starts_a_new_list_and_lines_continue_items() {
    assert_eq!(
        parse("- a\nmore\n1. b"),
        vec![
            Block::List {
                ordered: false,
                items: vec![vec![text("a"), Inline::LineBreak, text("more")]]
            },
            Block::List {
                ordered: true,
                items: vec![vec![text("b")]]
            },
        ]
    );
    // Not list markers: no space, or a number without a dot.
    assert_eq!(para("-a"), vec![text("-a")]);
    assert_eq!(para("2024 was good"), vec![text("2024 was good")]);
    assert_eq!(
        para("*emph* start"),
        vec![Inline::Italic(vec![text("emph")]), text(" start")]
    );
}

#[test]
fn bare_urls_become_links_without_trailing_punctuation() {
    assert_eq!(
        para("See https://example.com/a?b=1, then http://x.io."),
        vec![
            text("See "),
            link("https://example.com/a?b=1", "https://example.com/a?b=1"),
            text(", then "),
            link("http://x.io", "http://x.io"),
            text("."),
        ]
    );
    assert_eq!(
        para("(docs: https://example.com/help)"),
        vec![
            text("(docs: "),
            link("https://example.com/help", "https://example.com/help"),
            text(")")
        ]
    );
    assert_eq!(
        para("https://en.wikipedia.org/wiki/Rust_(language)!"),
        vec![
            link(
                "https://en.wikipedia.org/wiki/Rust_(language)",
                "https://en.wikipedia.org/wiki/Rust_(language)"
            ),
            text("!"),
        ]
    );
    assert_eq!(
        para("HTTPS://EXAMPLE.COM"),
        vec![link("HTTPS://EXAMPLE.COM", "HTTPS://EXAMPLE.COM")]
    );
}

#[test]
fn only_http_urls_autolink() {
    for src in [
        "ftp://x.com",
        "www.example.com",
        "https://",
        "http:///x",
        "xhttps://a.b",
    ] {
        assert_eq!(para(src), vec![text(src)], "{src}");
    }
}

#[test]
fn markdown_links_need_http() {
    assert_eq!(
        para("Read [the guide](https://example.com/g) now"),
        vec![
            text("Read "),
            link("https://example.com/g", "the guide"),
            text(" now")
        ]
    );
    assert_eq!(
        para("[](https://a.io)"),
        vec![link("https://a.io", "https://a.io")]
    );
    assert_eq!(para("[x](/relative)"), vec![text("[x](/relative)")]);
    assert_eq!(
        para("[x](https://a b)"),
        vec![text("[x]("), link("https://a", "https://a"), text(" b)")]
    );
}

#[test]
fn xss_payloads_stay_literal_text() {
    for src in [
        "<img src=x onerror=alert(1)>",
        "<script>alert(1)</script>",
        "javascript:alert(1)",
        "&lt;b&gt; &amp; &#x3C;",
        "<a href=\"javascript:alert(1)\">x</a>",
        "data:text/html;base64,PHNjcmlwdD4=",
    ] {
        assert_eq!(para(src), vec![text(src)], "{src}");
    }
}

#[test]
fn unsafe_markdown_links_are_not_links() {
    for src in [
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x](data:text/html,<script>alert(1)</script>)",
        "[x](vbscript:msgbox)",
        "[x](//evil.example)",
        "[x](https://evil.example\"onmouseover=alert(1))",
        "[click](javascript:https://example.com)",
    ] {
        let blocks = parse(src);
        assert!(!has_unsafe_link(&blocks), "{src}: {blocks:?}");
        let Block::Paragraph(inlines) = &blocks[0] else {
            panic!("{src}")
        };
        assert!(
            !inlines
                .iter()
                .any(|i| matches!(i, Inline::Link { text, .. } if text == "x" || text == "click")),
            "{src}: {inlines:?}"
        );
    }
    assert_eq!(
        para("[x](javascript:alert(1))"),
        vec![text("[x](javascript:alert(1))")]
    );
}

#[test]
fn urls_cannot_smuggle_markup() {
    assert_eq!(
        para("https://a.io/<script>"),
        vec![link("https://a.io/", "https://a.io/"), text("<script>")]
    );
    assert_eq!(
        para("https://a.io/\"onclick=x"),
        vec![link("https://a.io/", "https://a.io/"), text("\"onclick=x")]
    );
}

#[test]
fn safe_href_accepts_only_http() {
    assert_eq!(safe_href("https://a.io/x?y#z"), Some("https://a.io/x?y#z"));
    assert_eq!(safe_href("http://a.io"), Some("http://a.io"));
    for bad in [
        "javascript:alert(1)",
        "data:x",
        "//a.io",
        "/x",
        "https://",
        "https:// a.io",
        "https://a.io\n",
    ] {
        assert_eq!(safe_href(bad), None, "{bad}");
    }
}

#[test]
fn unicode_and_rtl_text_survive() {
    assert_eq!(
        para("héllo **wörld** 👋🏽 *日本語*"),
        vec![
            text("héllo "),
            Inline::Bold(vec![text("wörld")]),
            text(" 👋🏽 "),
            Inline::Italic(vec![text("日本語")]),
        ]
    );
    assert_eq!(
        para("مرحبا **بالعالم** https://example.com/عربي"),
        vec![
            text("مرحبا "),
            Inline::Bold(vec![text("بالعالم")]),
            text(" "),
            link("https://example.com/عربي", "https://example.com/عربي"),
        ]
    );
    // Bidi control characters are kept as text, never dropped silently.
    assert_eq!(para("\u{202E}abc"), vec![text("\u{202E}abc")]);
    assert_eq!(para("_ü_"), vec![Inline::Italic(vec![text("ü")])]);
}

#[test]
fn every_short_combination_parses_without_panic_or_unsafe_links() {
    const PIECES: &[&str] = &[
        "*",
        "_",
        "`",
        "[",
        "](",
        ")",
        "https://a.io",
        "javascript:",
        " ",
        "\n",
        "é",
        "- ",
        "1. ",
        "x",
    ];
    for a in PIECES {
        for b in PIECES {
            for c in PIECES {
                for d in PIECES {
                    let src = [*a, *b, *c, *d].concat();
                    let blocks = parse(&src);
                    assert!(!has_unsafe_link(&blocks), "{src:?}: {blocks:?}");
                }
            }
        }
    }
}

#[test]
fn deep_nesting_is_bounded() {
    let deep = "*_".repeat(50) + "x" + &"_*".repeat(50);
    let blocks = parse(&deep);
    assert_eq!(blocks.len(), 1);
    let long = "*a **b `c [d](e ".repeat(500);
    assert_eq!(parse(&long).len(), 1);
}
