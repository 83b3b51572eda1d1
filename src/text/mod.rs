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
mod tests;
