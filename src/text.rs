//! Safe rich text for chat messages: a small, pure Markdown-like parser that turns an
//! agent's or customer's message into [`Block`]s of [`Inline`]s. Nothing here is HTML:
//! tags, entities and unsafe URLs stay literal text, and only `http(s)` links become
//! [`Inline::Link`]. Rendering lives in `crate::components::rich_text`.
//!
//! Supported subset: `**bold**`, `*italic*` / `_italic_`, `` `code` ``, `- ` / `* `
//! bullet lists, `1. ` ordered lists, blank-line paragraphs, single newlines as line
//! breaks, bare `http://` / `https://` URLs and `[text](https://…)` links. Emphasis
//! never spans lines, so one stray marker cannot swallow the rest of a message.

/// A block of a message: a paragraph or a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// Lines separated by [`Inline::LineBreak`].
    Paragraph(Vec<Inline>),
    /// A bullet (`- `, `* `) or numbered (`1. `) list.
    List {
        /// True for `1. ` lists.
        ordered: bool,
        /// One entry per list item.
        items: Vec<Vec<Inline>>,
    },
}

/// A run of text inside a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inline {
    /// Literal text, shown as is (never interpreted as HTML).
    Text(String),
    /// `**bold**`.
    Bold(Vec<Inline>),
    /// `*italic*` or `_italic_`.
    Italic(Vec<Inline>),
    /// `` `code` ``, shown verbatim.
    Code(String),
    /// A link whose `href` is always an `http://` or `https://` URL.
    Link {
        /// The target URL (checked by [`safe_href`]).
        href: String,
        /// The visible text.
        text: String,
    },
    /// A single newline inside a paragraph or list item.
    LineBreak,
}

/// How deep emphasis may nest before markers are shown literally.
const MAX_DEPTH: usize = 8;

/// Characters trimmed from the end of a bare URL (sentence punctuation).
const TRAILING_PUNCTUATION: &[char] = &['.', ',', ':', ';', '!', '?', '\'', '"', '*', '_'];

/// Parses a message into blocks. Pure and total: any input yields some blocks, and
/// nothing it yields can run script or load anything but an `http(s)` link.
pub fn parse(src: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut paragraph: Vec<Inline> = Vec::new();
    let mut list: Option<(bool, Vec<Vec<Inline>>)> = None;

    for raw in src.lines() {
        let line = raw.trim();
        if line.is_empty() {
            flush_paragraph(&mut paragraph, &mut blocks);
            flush_list(&mut list, &mut blocks);
            continue;
        }
        if let Some((ordered, item)) = list_item(line) {
            flush_paragraph(&mut paragraph, &mut blocks);
            let content = inlines(item.trim(), 0);
            match &mut list {
                Some((kind, items)) if *kind == ordered => items.push(content),
                _ => {
                    flush_list(&mut list, &mut blocks);
                    list = Some((ordered, vec![content]));
                }
            }
            continue;
        }
        // A plain line right after a list item continues that item.
        if let Some(last) = list.as_mut().and_then(|(_, items)| items.last_mut()) {
            last.push(Inline::LineBreak);
            last.extend(inlines(line, 0));
            continue;
        }
        if !paragraph.is_empty() {
            paragraph.push(Inline::LineBreak);
        }
        paragraph.extend(inlines(line, 0));
    }
    flush_paragraph(&mut paragraph, &mut blocks);
    flush_list(&mut list, &mut blocks);
    blocks
}

/// Returns `url` if it is an absolute `http://` or `https://` URL with a host and no
/// whitespace, control or quoting characters; `None` for anything else
/// (`javascript:`, `data:`, relative or protocol-relative URLs, …).
pub fn safe_href(url: &str) -> Option<&str> {
    let rest = strip_prefix_ignore_case(url, "https://")
        .or_else(|| strip_prefix_ignore_case(url, "http://"))?;
    let host_starts_well = rest
        .chars()
        .next()
        .is_some_and(|c| !matches!(c, '/' | '\\' | '?' | '#'));
    let clean = !url
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"' | '`' | '\\'));
    (host_starts_well && clean).then_some(url)
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

fn flush_paragraph(paragraph: &mut Vec<Inline>, blocks: &mut Vec<Block>) {
    if !paragraph.is_empty() {
        blocks.push(Block::Paragraph(std::mem::take(paragraph)));
    }
}

fn flush_list(list: &mut Option<(bool, Vec<Vec<Inline>>)>, blocks: &mut Vec<Block>) {
    if let Some((ordered, items)) = list.take() {
        blocks.push(Block::List { ordered, items });
    }
}

/// `- x`, `* x` → `(false, "x")`; `12. x` → `(true, "x")`. `line` is already trimmed.
fn list_item(line: &str) -> Option<(bool, &str)> {
    if let Some(rest) = line.strip_prefix("- ").or_else(|| line.strip_prefix("* ")) {
        return Some((false, rest));
    }
    let digits = line.bytes().take_while(u8::is_ascii_digit).count();
    if (1..=9).contains(&digits) {
        return line
            .get(digits..)?
            .strip_prefix(". ")
            .map(|rest| (true, rest));
    }
    None
}

/// Parses one line's inline markup.
fn inlines(src: &str, depth: usize) -> Vec<Inline> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut i = 0;
    while let Some(rest) = src.get(i..) {
        let Some(ch) = rest.chars().next() else { break };
        let prev = src[..i].chars().next_back();
        if let Some((node, used)) = special(rest, prev, depth) {
            if !text.is_empty() {
                out.push(Inline::Text(std::mem::take(&mut text)));
            }
            out.push(node);
            i += used;
        } else {
            text.push(ch);
            i += ch.len_utf8();
        }
    }
    if !text.is_empty() {
        out.push(Inline::Text(text));
    }
    out
}

/// Tries to read one marked-up node at the start of `rest`; returns it and the bytes
/// it used, or `None` to treat the first character literally.
fn special(rest: &str, prev: Option<char>, depth: usize) -> Option<(Inline, usize)> {
    match rest.as_bytes().first()? {
        b'`' => code(rest),
        b'*' if rest.starts_with("**") => bold(rest, depth),
        b'*' | b'_' => italic(rest, prev, depth),
        b'[' => markdown_link(rest),
        b'h' | b'H' => bare_url(rest, prev),
        _ => None,
    }
}

fn code(rest: &str) -> Option<(Inline, usize)> {
    let body = &rest[1..];
    let end = body.find('`').filter(|&end| end > 0)?;
    Some((Inline::Code(body[..end].to_owned()), end + 2))
}

fn bold(rest: &str, depth: usize) -> Option<(Inline, usize)> {
    if depth >= MAX_DEPTH {
        return None;
    }
    let body = &rest[2..];
    if body.starts_with(char::is_whitespace) {
        return None;
    }
    let (mut end, _) = body
        .match_indices("**")
        .find(|&(end, _)| end > 0 && !body[..end].ends_with(char::is_whitespace))?;
    // In a closing `***`, the last two close the bold and the first closes an italic.
    if body[end + 2..].starts_with('*') {
        end += 1;
    }
    Some((Inline::Bold(inlines(&body[..end], depth + 1)), end + 4))
}

fn italic(rest: &str, prev: Option<char>, depth: usize) -> Option<(Inline, usize)> {
    let marker = rest.chars().next()?;
    let body = &rest[1..];
    let first = body.chars().next()?;
    if depth >= MAX_DEPTH || first.is_whitespace() || first == marker {
        return None;
    }
    // `snake_case_names` stay literal: `_` only opens after a non-word character.
    if marker == '_' && prev.is_some_and(char::is_alphanumeric) {
        return None;
    }
    let mut j = first.len_utf8();
    while let Some(tail) = body.get(j..) {
        let c = tail.chars().next()?;
        if c == '`' {
            // Skip a code span so markers inside it do not close the emphasis.
            if let Some(close) = tail[1..].find('`') {
                j += close + 2;
                continue;
            }
        } else if marker == '*' && tail.starts_with("**") {
            j += 2;
            continue;
        } else if c == marker {
            let before_ok = !body[..j].ends_with(char::is_whitespace);
            let after_ok = marker != '_' || !tail[1..].starts_with(char::is_alphanumeric);
            if before_ok && after_ok {
                return Some((Inline::Italic(inlines(&body[..j], depth + 1)), j + 2));
            }
        }
        j += c.len_utf8();
    }
    None
}

/// `[text](http…)`. Anything else (other schemes, spaces, nesting) is not a link.
fn markdown_link(rest: &str) -> Option<(Inline, usize)> {
    let close = rest.find(']')?;
    let text = &rest[1..close];
    if text.contains('[') {
        return None;
    }
    let after = rest[close + 1..].strip_prefix('(')?;
    let mut depth = 0usize;
    let mut end = None;
    for (k, c) in after.char_indices() {
        match c {
            '(' => depth += 1,
            ')' if depth == 0 => {
                end = Some(k);
                break;
            }
            ')' => depth -= 1,
            c if c.is_whitespace() => return None,
            _ => {}
        }
    }
    let end = end?;
    let href = safe_href(&after[..end])?;
    let text = if text.trim().is_empty() { href } else { text };
    let used = close + 2 + end + 1;
    Some((
        Inline::Link {
            href: href.to_owned(),
            text: text.to_owned(),
        },
        used,
    ))
}

/// A bare `http(s)://…` URL, minus trailing sentence punctuation and unbalanced `)`.
fn bare_url(rest: &str, prev: Option<char>) -> Option<(Inline, usize)> {
    if prev.is_some_and(char::is_alphanumeric) {
        return None;
    }
    safe_href_prefix(rest)?;
    let len = rest
        .find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '`'))
        .unwrap_or(rest.len());
    let mut url = &rest[..len];
    loop {
        if let Some(trimmed) = url.strip_suffix(TRAILING_PUNCTUATION) {
            url = trimmed;
        } else if url.ends_with(')') && url.matches(')').count() > url.matches('(').count() {
            url = &url[..url.len() - 1];
        } else {
            break;
        }
    }
    let href = safe_href(url)?;
    Some((
        Inline::Link {
            href: href.to_owned(),
            text: href.to_owned(),
        },
        href.len(),
    ))
}

fn safe_href_prefix(rest: &str) -> Option<()> {
    strip_prefix_ignore_case(rest, "https://")
        .or_else(|| strip_prefix_ignore_case(rest, "http://"))
        .map(|_| ())
}

#[cfg(test)]
mod tests {
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
                !inlines.iter().any(
                    |i| matches!(i, Inline::Link { text, .. } if text == "x" || text == "click")
                ),
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
}
