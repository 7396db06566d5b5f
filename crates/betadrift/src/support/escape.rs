//! Safe printing of untrusted text.
//!
//! Commit messages, author names, file paths and branch names come from
//! whoever wrote the commits, and betadrift prints them on root's terminal, into
//! Markdown pasted into Phabricator, HTML pages and Prometheus label values.
//! Text is stored as it was read (bytes, possibly not UTF-8) and escaped here,
//! at the point where it is printed, once per output language.

use std::fmt::Write as _;

/// Makes bytes safe for a terminal: control characters, C1 controls, bidi
/// overrides and invalid UTF-8 become visible escapes such as `\x1b`.
pub fn terminal(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            push_visible(&mut out, c);
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

/// Like [`terminal`], then cut to at most `max` characters with an ellipsis.
pub fn terminal_short(bytes: &[u8], max: usize) -> String {
    truncate(&terminal(bytes), max)
}

/// Cuts a string to at most `max` characters, marking the cut with `…`.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let keep = max.saturating_sub(1);
    let mut out: String = s.chars().take(keep).collect();
    out.push('…');
    out
}

/// Decodes bytes as UTF-8 for machine output, replacing invalid sequences
/// with U+FFFD. Control characters stay; JSON encoders escape them.
pub fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Whether a character must never reach a terminal or a document as itself.
fn is_dangerous(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200b}'..='\u{200f}'   // zero-width and directional marks
            | '\u{2028}' | '\u{2029}' // line and paragraph separators
            | '\u{202a}'..='\u{202e}' // bidi embeddings and overrides
            | '\u{2066}'..='\u{2069}' // bidi isolates
            | '\u{feff}')
}

fn push_visible(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if (c as u32) < 0x80 && is_dangerous(c) => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c if is_dangerous(c) => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
        c => out.push(c),
    }
}

/// Escapes text for HTML element content and attribute values, after making
/// control characters visible.
pub fn html(bytes: &[u8]) -> String {
    html_str(&terminal(bytes))
}

/// Escapes an already safe string for HTML.
pub fn html_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes text for inline Markdown (a table cell or a list item): every
/// character with a meaning in CommonMark, GFM tables or Remarkup is
/// backslash-escaped, and HTML is neutralised.
pub fn markdown(bytes: &[u8]) -> String {
    markdown_str(&terminal(bytes))
}

/// Escapes an already safe string for inline Markdown.
pub fn markdown_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\\' | '`' | '*' | '_' | '{' | '}' | '[' | ']' | '(' | ')' | '#' | '+' | '-' | '!' | '|' | '~' | '@'
            | '=' | '^' | '$' | '%' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// Escapes an already safe string for one Markdown table cell. A `|` in
/// the data becomes `¦`: GFM would honour `\|`, but Phabricator's Remarkup
/// splits table cells on every `|`, escaped or not.
pub fn markdown_cell(s: &str) -> String {
    markdown_str(&s.replace('|', "\u{a6}"))
}

/// Escapes a Prometheus label value: backslash, double quote and newline,
/// after making other control characters visible.
pub fn prometheus_label(bytes: &[u8]) -> String {
    let visible = terminal(bytes);
    let mut out = String::with_capacity(visible.len());
    for c in visible.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            c => out.push(c),
        }
    }
    out
}

/// Quotes one argument for a POSIX-style shell so that pasting the line runs
/// exactly that argument: bare when it is all safe characters, in single
/// quotes when printable, else as bash's `$'…'` with `\xNN` escapes (so no
/// control character or invalid UTF-8 reaches the terminal or the document).
pub fn shell_quote(arg: &[u8]) -> String {
    let safe = |b: u8| b.is_ascii_alphanumeric() || b"_@%+=:,./-".contains(&b);
    if !arg.is_empty() && arg.iter().all(|&b| safe(b)) {
        return String::from_utf8_lossy(arg).into_owned();
    }
    let printable = std::str::from_utf8(arg).is_ok_and(|s| !s.chars().any(is_dangerous));
    if printable {
        return format!("'{}'", String::from_utf8_lossy(arg).replace('\'', r"'\''"));
    }
    let mut out = String::from("$'");
    for chunk in arg.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\'' | '\\' => {
                    out.push('\\');
                    out.push(c);
                }
                c if is_dangerous(c) => {
                    for b in c.to_string().bytes() {
                        let _ = write!(out, "\\x{b:02x}");
                    }
                }
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_escapes_controls_and_invalid_utf8() {
        assert_eq!(terminal(b"plain text"), "plain text");
        assert_eq!(terminal(b"\x1b[31mred\x1b[0m"), "\\x1b[31mred\\x1b[0m");
        assert_eq!(terminal(b"a\nb\tc\rd"), "a\\nb\\tc\\rd");
        assert_eq!(terminal(b"bad \xff\xfe bytes"), "bad \\xff\\xfe bytes");
        assert_eq!(terminal("c1 \u{9b}31m".as_bytes()), "c1 \\u{9b}31m");
        assert_eq!(terminal("rtl \u{202e}gnp.exe".as_bytes()), "rtl \\u{202e}gnp.exe");
        assert_eq!(terminal(b"del\x7f"), "del\\x7f");
        assert_eq!(terminal("Mühlenhoff".as_bytes()), "Mühlenhoff");
    }

    #[test]
    fn truncation_counts_characters_not_bytes() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("ééé", 3), "ééé");
        let long = vec![b'x'; 100_000];
        assert_eq!(terminal_short(&long, 80).chars().count(), 80);
    }

    #[test]
    fn html_escapes_markup() {
        assert_eq!(
            html(b"<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        assert_eq!(html(b"\x1b]8;;http://evil\x07"), "\\x1b]8;;http://evil\\x07");
    }

    #[test]
    fn markdown_escapes_table_and_inline_syntax() {
        assert_eq!(markdown(b"a|b"), "a\\|b");
        assert_eq!(markdown(b"`code` *bold* [link](x)"), "\\`code\\` \\*bold\\* \\[link\\]\\(x\\)");
        assert_eq!(markdown(b"<img src=x>"), "&lt;img src\\=x&gt;");
        assert_eq!(markdown(b"line\nbreak"), "line\\\\nbreak");
        assert_eq!(markdown_cell("a|b`c"), "a\u{a6}b\\`c");
    }

    #[test]
    fn prometheus_label_escapes_quotes_backslashes_newlines() {
        assert_eq!(prometheus_label(b"a\"b\\c\nd"), "a\\\"b\\\\c\\\\nd");
    }

    #[test]
    fn shell_quoting_round_trips_through_bash() {
        assert_eq!(shell_quote(b"/srv/git/operations/puppet"), "/srv/git/operations/puppet");
        assert_eq!(shell_quote(b""), "''");
        assert_eq!(shell_quote(b"it's here"), r"'it'\''s here'");
        assert_eq!(shell_quote(b"a\x1b[2Jb"), r"$'a\x1b[2Jb'");
        assert_eq!(shell_quote(b"q'\\\xff"), r"$'q\'\\\xff'");
        assert_eq!(shell_quote("rtl\u{202e}".as_bytes()), r"$'rtl\xe2\x80\xae'");
        for arg in
            [&b"plain"[..], b"sp ace", b"it's", b"$(rm -rf /)", b"`x`", b"a\nb\x1b\xff'\\", "é\u{202e}".as_bytes()]
        {
            let line = format!("printf %s {}", shell_quote(arg));
            let out = std::process::Command::new("bash").arg("-c").arg(&line).output().unwrap();
            assert_eq!(out.stdout, arg, "{line}");
        }
    }
}
