//! HTML pages of classified articles and of evaluations: one self-contained file each, with
//! the style sheet and charts inline and nothing fetched (no fonts, images or scripts).
//!
//! The pieces are separate so that another front end (the HTTP service's page) can reuse them
//! and look the same:
//!
//! * [`Theme`] derives every label's look from the model's label sets (a color per label of the
//!   tinting head, an underline and a sign per label of the marking head) and writes the CSS
//!   rules and the legend for it;
//! * [`ArticleView`] holds a classified article ([`ArticleView::classify`]) and
//!   [`render_article`] writes it as running text, each sentence a focusable, tinted and marked
//!   span whose details (every head's probabilities, and the top terms when a
//!   [`HeadView::top_terms`] is filled) show on hover or keyboard focus, plus a bar chart of
//!   sentences per label pair;
//! * [`EvalView`] holds an evaluation with its most confident errors and [`eval_page`] writes
//!   it;
//! * [`Document`] is the page around them: doctype, the shared style sheet ([`STYLE`]) and the
//!   theme's rules, a content security policy that forbids any fetch, and the body;
//! * [`escape()`] / [`push_escaped`] make any text safe to put in a page.
//!
//! ```
//! use newsclass::html::{articles_page, ArticleView, Theme};
//! use newsclass::{Dataset, Pipeline, PipelineParams};
//!
//! let data = Dataset::new(["Troops shelled the town.", "Envoys signed a truce.",
//!                          "Rebels attacked a convoy.", "Ministers agreed to talks."])?
//!     .with_head("topic", ["security", "diplomacy", "security", "diplomacy"])?;
//! let model = Pipeline::fit(&PipelineParams::default().c(10.0).check()?, &data)?;
//! let article = ArticleView::classify(&model, "wire.txt", "Gunmen attacked a post. The envoys met <again>.");
//! let html = articles_page("Today", "", &[article], &Theme::for_model(&model));
//! assert!(html.contains("&lt;again&gt;") && html.contains("data-tint=\"security\""));
//! # Ok::<(), newsclass::Error>(())
//! ```

mod article;
mod chart;
mod escape;
mod eval;
mod theme;

use std::path::Path;

pub use article::{render_article, ArticleView, HeadView, SentenceView, TopTerm};
pub use chart::render_counts;
pub use escape::{escape, push_escaped};
pub use eval::{eval_page, ConfidentError, EvalView, HeadEvalView};
pub use theme::{
    label_colors, label_marks, LabelColor, Mark, MarkStyle, Theme, TintStyle, Underline, MARK_HEAD,
    TINT_HEAD,
};

use crate::error::Result;

/// The style sheet every page shares (the theme's label rules follow it).
pub const STYLE: &str = include_str!("style.css");

/// The content security policy of a page unless changed: no scripts, no fetches of any kind,
/// only the inline style sheet and inline images.
pub const STRICT_CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

/// A whole HTML page: head (title, style sheet, theme rules, security policy) and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    title: String,
    css: String,
    csp: String,
    body: String,
}

impl Document {
    /// An empty page titled `title` (escaped), with the shared [`STYLE`] and [`STRICT_CSP`].
    pub fn new(title: &str) -> Document {
        Document {
            title: title.to_string(),
            css: String::new(),
            csp: STRICT_CSP.to_string(),
            body: String::new(),
        }
    }

    /// Add the label rules of `theme` to the style sheet.
    pub fn theme(mut self, theme: &Theme) -> Document {
        self.css.push_str(&theme.css());
        self
    }

    /// Replace the content security policy (a page with its own script needs a looser one).
    pub fn content_security_policy(mut self, csp: &str) -> Document {
        self.csp = csp.to_string();
        self
    }

    /// Append markup to the body. It is inserted as given: escape any text in it first.
    pub fn push_html(&mut self, html: &str) {
        self.body.push_str(html);
    }

    /// Append the page heading: `title` and, when not empty, a line of `meta` (both escaped).
    pub fn push_heading(&mut self, title: &str, meta: &str) {
        self.body
            .push_str("<header class=\"page\"><h1 dir=\"auto\">");
        push_escaped(&mut self.body, title);
        self.body.push_str("</h1>");
        if !meta.is_empty() {
            self.body.push_str("<p class=\"meta\" dir=\"auto\">");
            push_escaped(&mut self.body, meta);
            self.body.push_str("</p>");
        }
        self.body.push_str("</header>\n");
    }

    /// The page's HTML.
    pub fn into_html(self) -> String {
        let mut h = String::with_capacity(STYLE.len() + self.css.len() + self.body.len() + 1024);
        h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        h.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"");
        push_escaped(&mut h, &self.csp);
        h.push_str("\">\n");
        h.push_str(concat!(
            "<meta name=\"generator\" content=\"newsclass ",
            env!("CARGO_PKG_VERSION"),
            "\">\n<title>"
        ));
        push_escaped(&mut h, &self.title);
        h.push_str("</title>\n<style>\n");
        h.push_str(STYLE);
        h.push_str(&self.css);
        h.push_str("</style>\n</head>\n<body>\n");
        h.push_str(&self.body);
        h.push_str(concat!(
            "<footer class=\"page\">Made by newsclass ",
            env!("CARGO_PKG_VERSION"),
            ". This page is self-contained: it loads nothing from the network and runs no scripts.</footer>\n</body>\n</html>\n"
        ));
        h
    }
}

/// The report page of classified articles: heading (`title`, `meta`), legend, then each article.
pub fn articles_page(title: &str, meta: &str, articles: &[ArticleView], theme: &Theme) -> String {
    let mut doc = Document::new(title).theme(theme);
    doc.push_heading(title, meta);
    let mut body = String::from("<main class=\"page\">\n");
    body.push_str(&theme.legend_html());
    for (i, a) in articles.iter().enumerate() {
        render_article(&mut body, a, i + 1, theme);
    }
    body.push_str("</main>\n");
    doc.push_html(&body);
    doc.into_html()
}

/// Write a page to `path` atomically (a temporary file in the same folder, synced, renamed over
/// `path`), so that a failed write leaves an earlier file intact. A symbolic link at `path` is
/// written through.
///
/// # Errors
/// I/O errors; a `path` that exists and is not a regular file (a directory) is refused.
pub fn save(path: &Path, html: &str) -> Result<()> {
    crate::persist::write_atomic_as(path, html.as_bytes(), "output")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_complete_and_fetch_nothing() {
        let theme = Theme::for_heads(&[("topic".into(), vec!["a".into(), "b".into()])]);
        let mut d = Document::new("<T> & co").theme(&theme);
        d.push_heading("<T> & co", "meta \"x\"");
        let h = d.into_html();
        assert!(h.starts_with("<!DOCTYPE html>"));
        assert!(h.contains("<title>&lt;T&gt; &amp; co</title>"));
        assert!(h.contains("meta &quot;x&quot;"));
        assert!(h.contains(".t1{--tint:"));
        assert!(h.contains("content=\"default-src &#39;none&#39;; style-src"));
        assert!(!h.contains("http://") && !h.contains("https://"));
        assert!(!h.contains("<script") && !h.contains("url("));
        assert!(h.trim_end().ends_with("</html>"));
    }
}
