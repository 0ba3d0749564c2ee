//! HTML escaping for text that came from users: article text, labels, file names.
//!
//! One function serves text nodes and quoted attribute values alike: it replaces the five
//! characters that can end a text run or an attribute (`&`, `<`, `>`, `"`, `'`), so input such as
//! `<script>` or `</style>` stays text. Control characters that HTML forbids (C0 controls other
//! than tab, line feed and carriage return; DEL and the C1 controls) become U+FFFD, as a browser
//! would show them anyway.

/// Append `s` to `out`, escaped for an HTML text node or a quoted attribute value.
///
/// ```
/// let mut out = String::new();
/// newsclass::html::push_escaped(&mut out, r#"<b>"Tom" & 'Jerry'</b>"#);
/// assert_eq!(out, "&lt;b&gt;&quot;Tom&quot; &amp; &#39;Jerry&#39;&lt;/b&gt;");
/// ```
pub fn push_escaped(out: &mut String, s: &str) {
    let mut rest = s;
    while let Some(i) = rest.find(needs_escape) {
        out.push_str(&rest[..i]);
        let c = rest[i..]
            .chars()
            .next()
            .expect("find returned a char boundary");
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push('\u{FFFD}'),
        }
        rest = &rest[i + c.len_utf8()..];
    }
    out.push_str(rest);
}

/// `s` escaped for an HTML text node or a quoted attribute value (see [`push_escaped`]).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    push_escaped(&mut out, s);
    out
}

fn needs_escape(c: char) -> bool {
    matches!(c, '&' | '<' | '>' | '"' | '\'')
        || (c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_characters_and_keeps_everything_else() {
        let cases = [
            ("", ""),
            ("plain text", "plain text"),
            ("a & b", "a &amp; b"),
            (
                "<script>alert(1)</script>",
                "&lt;script&gt;alert(1)&lt;/script&gt;",
            ),
            ("</style><b>", "&lt;/style&gt;&lt;b&gt;"),
            (
                r#"say "hi" & 'bye'"#,
                "say &quot;hi&quot; &amp; &#39;bye&#39;",
            ),
            ("&amp; stays escaped", "&amp;amp; stays escaped"),
            ("tab\tnew\nline\r", "tab\tnew\nline\r"),
            (
                "nul\u{0}bell\u{7}del\u{7f}c1\u{85}",
                "nul\u{FFFD}bell\u{FFFD}del\u{FFFD}c1\u{FFFD}",
            ),
            ("مرحبا & שלום", "مرحبا &amp; שלום"),
            ("“curly” ‘quotes’ — é 日本", "“curly” ‘quotes’ — é 日本"),
        ];
        for (input, want) in cases {
            assert_eq!(escape(input), want, "input {input:?}");
        }
    }

    #[test]
    fn escaped_text_has_no_markup_characters() {
        let nasty = "<>&\"'<!--x--><![CDATA[y]]>\u{0}";
        let out = escape(nasty);
        assert!(!out.contains(['<', '>', '"', '\'', '\u{0}']), "{out}");
        // Every `&` starts one of the five entities.
        for (i, _) in out.match_indices('&') {
            let tail = &out[i..];
            assert!(
                ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"]
                    .iter()
                    .any(|e| tail.starts_with(e)),
                "{tail}"
            );
        }
    }
}
