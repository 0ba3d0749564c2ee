//! Classified articles as HTML: the views a page is made from ([`ArticleView`],
//! [`SentenceView`], [`HeadView`]) and their rendering as running text with tinted, marked,
//! focusable sentences, plus a per-article summary chart.
//!
//! The views own their data (no borrow of the model), so a caller may build them from
//! [`Pipeline::classify_article`] ([`ArticleView::new`]) or from anything else that has labels
//! and probabilities, and fill the optional [`HeadView::top_terms`] when it has explanations.

use std::fmt::Write as _;

use super::chart;
use super::escape::{escape, push_escaped};
use super::theme::{glyph_html, Theme};
use crate::pipeline::{HeadPrediction, Pipeline, SentencePrediction, TermKind};

/// Most labels listed per head in a sentence's details; the rest are counted.
const MAX_LISTED_LABELS: usize = 6;

/// One term's part in a head's decision for a sentence: positive toward the predicted label,
/// negative against it. Shown in the sentence's details when a [`HeadView`] has them.
#[derive(Debug, Clone, PartialEq)]
pub struct TopTerm {
    /// The n-gram (word or character) as the model stores it.
    pub term: String,
    /// Its contribution (e.g. feature value × weight difference), in logits.
    pub weight: f64,
}

/// One head's prediction for a sentence.
#[derive(Debug, Clone, PartialEq)]
pub struct HeadView {
    /// The head's name (e.g. `topic`).
    pub name: String,
    /// The head's labels, in the model's order.
    pub labels: Vec<String>,
    /// One probability per label, in the same order.
    pub probs: Vec<f32>,
    /// The predicted label's position in `labels`.
    pub label: usize,
    /// The terms that weighed most, when an explanation was computed (`None`: not shown).
    pub top_terms: Option<Vec<TopTerm>>,
}

impl HeadView {
    /// A head's prediction as a view (without top terms).
    pub fn from_prediction(h: HeadPrediction<'_>) -> HeadView {
        HeadView {
            name: h.name().to_string(),
            labels: h.labels().to_vec(),
            probs: h.probs().to_vec(),
            label: h.label_id(),
            top_terms: None,
        }
    }

    /// The predicted label (empty if `label` is out of range).
    pub fn label_name(&self) -> &str {
        self.labels.get(self.label).map_or("", String::as_str)
    }

    /// The predicted label's probability (0 if `label` is out of range).
    pub fn score(&self) -> f32 {
        self.probs.get(self.label).copied().unwrap_or(0.0)
    }
}

/// One sentence of an article with its predictions.
#[derive(Debug, Clone, PartialEq)]
pub struct SentenceView {
    /// 1-based position in the article.
    pub index: usize,
    /// Offset of the first character, in chars from the article start.
    pub start: usize,
    /// Offset one past the last character, in chars.
    pub end: usize,
    /// The sentence text.
    pub text: String,
    /// True when a line break separates it from the sentence before (it starts a paragraph).
    pub new_paragraph: bool,
    /// Every head's prediction, in the model's head order.
    pub heads: Vec<HeadView>,
}

impl SentenceView {
    /// The prediction of the head called `name`.
    pub fn head(&self, name: &str) -> Option<&HeadView> {
        self.heads.iter().find(|h| h.name == name)
    }
}

/// A classified article: where it came from and its sentences.
#[derive(Debug, Clone, PartialEq)]
pub struct ArticleView {
    /// A name for the article (a file name, `standard input`, a title).
    pub source: String,
    /// Its sentences, in order.
    pub sentences: Vec<SentenceView>,
}

impl ArticleView {
    /// The view of `text` classified into `sentences` (as [`Pipeline::classify_article`] gives
    /// them; their offsets are chars into `text` and tell where paragraphs break).
    pub fn new(
        source: impl Into<String>,
        text: &str,
        sentences: &[SentencePrediction<'_>],
    ) -> ArticleView {
        let mut views = Vec::with_capacity(sentences.len());
        let mut chars = text.chars();
        let mut at = 0usize;
        for s in sentences {
            // Does the gap since the previous sentence hold a line break?
            let gap = s.start.saturating_sub(at);
            let mut broke = false;
            for c in chars.by_ref().take(gap) {
                broke |= c == '\n';
            }
            let len = s.end.saturating_sub(s.start.max(at));
            chars.by_ref().take(len).for_each(drop);
            at = s.end.max(at);
            views.push(SentenceView {
                index: s.index,
                start: s.start,
                end: s.end,
                text: s.text.clone(),
                new_paragraph: broke || views.is_empty(),
                heads: s
                    .prediction
                    .heads()
                    .map(HeadView::from_prediction)
                    .collect(),
            });
        }
        ArticleView {
            source: source.into(),
            sentences: views,
        }
    }

    /// Split and classify `text` with `model` and make its view.
    pub fn classify(model: &Pipeline, source: impl Into<String>, text: &str) -> ArticleView {
        ArticleView::new(source, text, &model.classify_article(text))
    }

    /// Fill every head's [`HeadView::top_terms`] with the `k` terms that pushed most toward its
    /// predicted label ([`Pipeline::explain`] of the sentence's text: `for_terms`), written as
    /// `predict --explain` writes them: word n-grams as they are, character n-grams in double
    /// quotes (so their spaces show). Heads the model does not have are left as they are.
    pub fn explain(&mut self, model: &Pipeline, k: usize) {
        let texts: Vec<&str> = self.sentences.iter().map(|s| s.text.as_str()).collect();
        let explained = model.explain_all(&texts, k);
        for (s, ex) in self.sentences.iter_mut().zip(explained) {
            for e in ex {
                let Some(h) = s.heads.iter_mut().find(|h| h.name == e.head) else {
                    continue;
                };
                h.top_terms = Some(
                    e.for_terms
                        .iter()
                        .map(|c| TopTerm {
                            term: display_term(&c.term, c.kind),
                            weight: c.weight,
                        })
                        .collect(),
                );
            }
        }
    }

    /// Sentences per label pair: `counts[t][m]` for tint label `t` and mark label `m` of
    /// `theme` (one column when there is no marking head). Sentences whose labels the theme does
    /// not know are not counted.
    pub fn counts(&self, theme: &Theme) -> Vec<Vec<usize>> {
        let n_marks = theme.mark.as_ref().map_or(1, |m| m.labels.len().max(1));
        let mut counts = vec![vec![0usize; n_marks]; theme.tint.labels.len()];
        for s in &self.sentences {
            let Some(t) = s
                .head(&theme.tint.head)
                .and_then(|h| theme.tint_index(h.label_name()))
            else {
                continue;
            };
            let m = match &theme.mark {
                None => Some(0),
                Some(m) => s
                    .head(&m.head)
                    .and_then(|h| theme.mark_index(h.label_name())),
            };
            if let Some(m) = m {
                counts[t][m] += 1;
            }
        }
        counts
    }
}

/// A term as `predict --explain` shows it: word n-grams as they are, character n-grams in
/// double quotes; line breaks and tabs become spaces.
fn display_term(term: &str, kind: TermKind) -> String {
    let t = term.replace(['\n', '\r', '\t'], " ");
    match kind {
        TermKind::Word | TermKind::Encoder => t,
        TermKind::Char => format!("\"{t}\""),
    }
}

/// True when a one-sentence first paragraph looks like a headline (no closing punctuation).
fn is_headline(article: &ArticleView) -> bool {
    let s = &article.sentences;
    let single = s.len() == 1 || s.get(1).is_some_and(|x| x.new_paragraph);
    single
        && s.first().is_some_and(|x| {
            let t = x.text.trim_end();
            x.text.chars().count() <= 200
                && !t.ends_with(['.', '!', '?', '…', '"', '\'', '”', '’', ':', ';', ')'])
        })
}

/// Append the HTML of one article to `out`: a heading, the running text and its summary chart.
/// `number` (from 1) keeps element ids unique when a page holds several articles.
pub fn render_article(out: &mut String, article: &ArticleView, number: usize, theme: &Theme) {
    let id = format!("a{number}");
    let n = article.sentences.len();
    let _ = write!(
        out,
        "<article class=\"doc\" id=\"{id}\" aria-labelledby=\"{id}-h\">\n<header class=\"doc-h\"><h2 id=\"{id}-h\" dir=\"auto\">{}</h2><p class=\"meta\">{n} sentence{}</p></header>\n<div class=\"doc-body\">\n<div class=\"text\">\n",
        escape(&article.source),
        if n == 1 { "" } else { "s" }
    );
    if article.sentences.is_empty() {
        out.push_str("<p class=\"empty\">No sentences: the article is empty.</p>\n");
    }
    let headline = is_headline(article);
    let mut open = false;
    for (i, s) in article.sentences.iter().enumerate() {
        if s.new_paragraph || !open {
            if open {
                out.push_str("</p>\n");
            }
            out.push_str(if i == 0 && headline {
                "<p class=\"headline\" dir=\"auto\">"
            } else {
                "<p dir=\"auto\">"
            });
            open = true;
        } else {
            out.push(' ');
        }
        render_sentence(out, s, &id, theme);
    }
    if open {
        out.push_str("</p>\n");
    }
    out.push_str("</div>\n<aside class=\"summary\">\n");
    chart::render_counts(out, &article.counts(theme), theme, &id);
    out.push_str("</aside>\n</div>\n</article>\n");
}

fn render_sentence(out: &mut String, s: &SentenceView, article_id: &str, theme: &Theme) {
    let sid = format!("{article_id}-s{}", s.index);
    let tint = s.head(&theme.tint.head);
    let t = tint.and_then(|h| theme.tint_index(h.label_name()));
    let mark = theme
        .mark
        .as_ref()
        .and_then(|m| s.head(&m.head).map(|h| (m, h)));
    let m = mark.and_then(|(_, h)| theme.mark_index(h.label_name()));
    out.push_str("<span class=\"s");
    if let Some(t) = t {
        let _ = write!(out, " t{t}");
    }
    if let Some(m) = m {
        let _ = write!(out, " m{m}");
    }
    let _ = write!(
        out,
        "\" tabindex=\"0\" id=\"{sid}\" aria-describedby=\"{sid}-d\""
    );
    if let Some(h) = tint {
        out.push_str(" data-tint=\"");
        push_escaped(out, h.label_name());
        out.push('"');
    }
    if let Some((_, h)) = mark {
        out.push_str(" data-mark=\"");
        push_escaped(out, h.label_name());
        out.push('"');
    }
    out.push_str(" data-tag=\"");
    let tag: Vec<&str> = s.heads.iter().map(HeadView::label_name).collect();
    push_escaped(out, &tag.join(" \u{b7} "));
    out.push_str("\"><span class=\"x\">");
    push_escaped(out, &s.text);
    out.push_str("</span>");
    if let (Some(m), Some((style, _))) = (m, mark) {
        out.push_str(&glyph_html(style.marks[m]));
    }
    let _ = write!(
        out,
        "<span class=\"tip\" role=\"tooltip\" id=\"{sid}-d\" dir=\"ltr\"><span class=\"tip-h\">Sentence {}</span>",
        s.index
    );
    for h in &s.heads {
        render_head_details(out, h);
    }
    out.push_str("</span></span>");
}

fn render_head_details(out: &mut String, h: &HeadView) {
    out.push_str("<span class=\"hd\"><span class=\"hn\">");
    push_escaped(out, &h.name);
    out.push_str("</span><span class=\"pl\">");
    let mut order: Vec<usize> = (0..h.labels.len().min(h.probs.len())).collect();
    // Most probable first; ties in label order.
    order.sort_by(|&a, &b| h.probs[b].total_cmp(&h.probs[a]).then(a.cmp(&b)));
    for &i in order.iter().take(MAX_LISTED_LABELS) {
        let p = h.probs[i].clamp(0.0, 1.0);
        let _ = write!(
            out,
            "<span class=\"pr{}\"><bdi>{}</bdi><span class=\"pb\"><span style=\"width:{:.1}%\"></span></span><span class=\"pv\">{p:.2}</span></span>",
            if i == h.label { " top" } else { "" },
            escape(&h.labels[i]),
            p * 100.0
        );
    }
    if order.len() > MAX_LISTED_LABELS {
        let _ = write!(
            out,
            "<span class=\"more\">and {} more</span>",
            order.len() - MAX_LISTED_LABELS
        );
    }
    out.push_str("</span>");
    if let Some(terms) = &h.top_terms {
        out.push_str("<span class=\"tt\">terms:");
        if terms.is_empty() {
            out.push_str(" none");
        }
        for t in terms {
            let _ = write!(
                out,
                " <span class=\"term {}\"><bdi>{}</bdi> {:+.2}</span>",
                if t.weight >= 0.0 { "pos" } else { "neg" },
                escape(&t.term),
                t.weight
            );
        }
        out.push_str("</span>");
    }
    out.push_str("</span>");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(name: &str, labels: &[&str], probs: &[f32], label: usize) -> HeadView {
        HeadView {
            name: name.into(),
            labels: labels.iter().map(|s| s.to_string()).collect(),
            probs: probs.to_vec(),
            label,
            top_terms: None,
        }
    }

    fn sentence(index: usize, text: &str, topic: usize, stance: usize, para: bool) -> SentenceView {
        let mut tp = [0.1f32; 4];
        tp[topic] = 0.7;
        let mut sp = [0.15f32; 3];
        sp[stance] = 0.7;
        SentenceView {
            index,
            start: 0,
            end: text.chars().count(),
            text: text.into(),
            new_paragraph: para,
            heads: vec![
                head(
                    "topic",
                    &["casualties", "diplomacy", "other", "security"],
                    &tp,
                    topic,
                ),
                head(
                    "stance",
                    &["critical", "neutral", "supportive"],
                    &sp,
                    stance,
                ),
            ],
        }
    }

    fn theme() -> Theme {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        Theme::for_heads(&[
            (
                "topic".into(),
                s(&["casualties", "diplomacy", "other", "security"]),
            ),
            ("stance".into(), s(&["critical", "neutral", "supportive"])),
        ])
    }

    #[test]
    fn sentences_carry_classes_data_and_details() {
        let a = ArticleView {
            source: "x.txt".into(),
            sentences: vec![
                sentence(1, "Talks resume", 1, 2, true),
                sentence(2, "Shelling went on.", 3, 1, true),
                sentence(3, "Nine died.", 0, 0, false),
            ],
        };
        let mut out = String::new();
        render_article(&mut out, &a, 4, &theme());
        assert!(out.contains("<p class=\"headline\" dir=\"auto\"><span class=\"s t1 m2\" tabindex=\"0\" id=\"a4-s1\""));
        assert!(out.contains(
            "data-tint=\"security\" data-mark=\"neutral\" data-tag=\"security \u{b7} neutral\""
        ));
        assert!(out.contains("Shelling went on.</span>"));
        assert_eq!(out.matches("<span class=\"s ").count(), 3);
        assert_eq!(
            out.matches(" dir=\"auto\"><span").count(),
            2,
            "two paragraphs"
        );
        assert!(out.contains("<span class=\"pr top\"><bdi>security</bdi>"));
        assert!(out.contains("<span class=\"g\" aria-hidden=\"true\">+</span>"));
        assert!(
            !out.contains("class=\"tt\""),
            "no terms without explanations"
        );
        assert!(out.contains("3 sentences"));
    }

    #[test]
    fn explain_fills_the_terms_toward_each_predicted_label() {
        use crate::{Dataset, PipelineParams};
        let data = Dataset::new([
            "Troops shelled the town.",
            "Envoys signed a truce.",
            "Rebels attacked a convoy.",
            "Ministers agreed to talks.",
        ])
        .unwrap()
        .with_head("topic", ["security", "diplomacy", "security", "diplomacy"])
        .unwrap();
        let model =
            Pipeline::fit(&PipelineParams::default().c(10.0).check().unwrap(), &data).unwrap();
        let text = "Troops shelled <the> convoy. Envoys signed talks.";
        let mut a = ArticleView::classify(&model, "t", text);
        assert!(a.sentences[0].heads[0].top_terms.is_none());
        a.explain(&model, 2);
        for s in &a.sentences {
            let e = &model.explain(&s.text, 2)[0];
            let terms = s.heads[0].top_terms.as_ref().unwrap();
            let want: Vec<(&str, f64)> = e
                .for_terms
                .iter()
                .map(|c| (c.term.as_str(), c.weight))
                .collect();
            let got: Vec<(&str, f64)> = terms.iter().map(|t| (t.term.as_str(), t.weight)).collect();
            assert_eq!(got, want);
            assert!(!got.is_empty() && got.len() <= 2);
        }
        assert_eq!(display_term("ion ", TermKind::Char), "\"ion \"");
        assert_eq!(display_term("a\tb", TermKind::Word), "a b");
    }

    #[test]
    fn top_terms_show_when_present() {
        let mut s = sentence(1, "Envoys met.", 1, 1, true);
        s.heads[0].top_terms = Some(vec![
            TopTerm {
                term: "envoys".into(),
                weight: 1.25,
            },
            TopTerm {
                term: "<met>".into(),
                weight: -0.5,
            },
        ]);
        let a = ArticleView {
            source: "a".into(),
            sentences: vec![s],
        };
        let mut out = String::new();
        render_article(&mut out, &a, 1, &theme());
        assert!(out.contains("<span class=\"term pos\"><bdi>envoys</bdi> +1.25</span>"));
        assert!(out.contains("<span class=\"term neg\"><bdi>&lt;met&gt;</bdi> -0.50</span>"));
    }

    #[test]
    fn counts_are_by_tint_and_mark_label() {
        let a = ArticleView {
            source: "a".into(),
            sentences: vec![
                sentence(1, "a", 3, 1, true),
                sentence(2, "b", 3, 1, false),
                sentence(3, "c", 1, 0, false),
            ],
        };
        let c = a.counts(&theme());
        assert_eq!(c[3][1], 2);
        assert_eq!(c[1][0], 1);
        assert_eq!(c.iter().flatten().sum::<usize>(), 3);
    }

    #[test]
    fn empty_articles_render_a_note() {
        let a = ArticleView {
            source: "empty".into(),
            sentences: vec![],
        };
        let mut out = String::new();
        render_article(&mut out, &a, 1, &theme());
        assert!(out.contains("No sentences"));
        assert!(out.contains("0 sentences"));
    }
}
