//! `GET /` and `POST /`: the page where an analyst pastes an article and sees it labeled.
//!
//! One HTML page with no script: a form (a text area and a Classify button) that posts to `/`,
//! and, after a post, the article rendered by the shared HTML renderer of `newsclass report`
//! ([`newsclass::html`]): every sentence tinted by its topic and marked by its stance, its
//! probabilities and top terms on hover and keyboard focus, the legend and the per-topic ×
//! stance chart. The form posts `application/x-www-form-urlencoded` (what browsers send) with
//! the field `text`, and `token` when the server has one.

use newsclass::html::{escape, render_article, ArticleView, Document, Theme, STRICT_CSP};
use newsclass::Pipeline;

use super::server::ApiError;

/// Terms shown per head in a sentence's details, as in `newsclass report` (`predict
/// --explain=3`).
const TOP_TERMS: usize = 3;

/// The page's content security policy: the report's, but the form may post back here.
fn csp() -> String {
    STRICT_CSP.replace("form-action 'none'", "form-action 'self'")
}

/// What the page shows below the form.
pub(crate) enum Outcome {
    /// Nothing yet (`GET /`).
    Empty,
    /// The classified article.
    Article(ArticleView),
    /// An error, in words.
    Error(String),
}

/// The whole page.
pub(crate) fn page(
    theme: &Theme,
    model_name: &str,
    text: &str,
    needs_token: bool,
    outcome: &Outcome,
) -> String {
    let title = "newsclass: label an article";
    let mut doc = Document::new(title)
        .theme(theme)
        .content_security_policy(&csp());
    doc.push_heading(
        title,
        &format!(
            "Paste an article (one paragraph per line) and press Classify; every sentence is labeled by {model_name}."
        ),
    );
    let mut body = String::from("<main class=\"page\">\n");
    body.push_str(
        "<form class=\"paste\" method=\"post\" action=\"/\" accept-charset=\"utf-8\">\n<label for=\"text\">Article</label>\n<textarea id=\"text\" name=\"text\" rows=\"10\" required spellcheck=\"false\" dir=\"auto\">",
    );
    // A leading newline would be dropped by the parser: keep the text exact.
    if text.starts_with('\n') {
        body.push('\n');
    }
    body.push_str(&escape(text));
    body.push_str("</textarea>\n");
    if needs_token {
        body.push_str(
            "<label for=\"token\">Token</label>\n<input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"current-password\" required>\n",
        );
    }
    body.push_str("<button type=\"submit\">Classify</button>\n</form>\n");
    match outcome {
        Outcome::Empty => {}
        Outcome::Error(message) => {
            body.push_str("<p class=\"form-error\" role=\"alert\">");
            body.push_str(&escape(message));
            body.push_str("</p>\n");
        }
        Outcome::Article(article) => {
            body.push_str(&theme.legend_html());
            render_article(&mut body, article, 1, theme);
        }
    }
    body.push_str("</main>\n");
    doc.push_html(&body);
    doc.into_html()
}

/// Classify `text` for the page: the report's view, with the report's top terms.
pub(crate) fn classify(model: &Pipeline, text: &str) -> ArticleView {
    let mut article = ArticleView::classify(model, "Your article", text);
    article.explain(model, TOP_TERMS);
    article
}

/// The fields of a form post.
pub(crate) struct Form {
    pub text: String,
    pub token: Option<String>,
}

/// Decode an `application/x-www-form-urlencoded` body with the field `text` and, optionally,
/// `token`.
pub(crate) fn parse_form(body: &[u8]) -> Result<Form, ApiError> {
    let mut text = None;
    let mut token = None;
    for pair in body.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        let (k, v) = match pair.iter().position(|&b| b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &b""[..]),
        };
        let key = decode(k)?;
        let value = decode(v)?;
        let slot = match key.as_str() {
            "text" => &mut text,
            "token" => &mut token,
            other => {
                return Err(ApiError::unprocessable(
                    "unknown_field",
                    format!("unknown form field {other:?}; the form has the fields text and token"),
                ))
            }
        };
        if slot.replace(value).is_some() {
            return Err(ApiError::unprocessable(
                "invalid_request",
                format!("the form field {key:?} is given twice"),
            ));
        }
    }
    let text = text.ok_or_else(|| {
        ApiError::unprocessable(
            "invalid_request",
            "the form has no field text: paste an article into the text area",
        )
    })?;
    Ok(Form { text, token })
}

/// Percent-decode one form component (`+` is a space) into UTF-8 text.
fn decode(s: &[u8]) -> Result<String, ApiError> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = s
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| {
                        ApiError::bad_request(
                            "invalid_form",
                            format!(
                                "the form body has a % not followed by two hex digits (at byte {i})"
                            ),
                        )
                    })?;
                out.push(hex);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|e| {
        ApiError::bad_request(
            "invalid_utf8",
            format!(
                "the form field is not valid UTF-8 once decoded (at byte {}); send the form as UTF-8",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_decode_plus_and_percent_escapes() {
        let f = parse_form(b"text=Troops+shelled%20the+town%2E%0Aline+2&token=a%2Bb").unwrap();
        assert_eq!(f.text, "Troops shelled the town.\nline 2");
        assert_eq!(f.token.as_deref(), Some("a+b"));
        let f = parse_form("text=%E2%80%9Cquoted%E2%80%9D".as_bytes()).unwrap();
        assert_eq!(f.text, "\u{201c}quoted\u{201d}");
        assert_eq!(parse_form(b"text=").unwrap().text, "");
    }

    #[test]
    fn bad_forms_are_refused() {
        for bad in [
            &b"token=x"[..],
            b"text=a&text=b",
            b"text=a&other=1",
            b"text=%zz",
            b"text=%4",
            b"text=%FF",
        ] {
            assert!(
                parse_form(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
