//! The evaluation page: per head the scores, the per-class table, the confusion matrix as a
//! heatmap with counts, and the most confident errors with their text.
//!
//! Each part of a head's section is one function called from [`render_head`]; a new part (a
//! reliability diagram, a coverage–accuracy curve once [`crate::metrics`] reports them) is one
//! more function and one more call there.

use std::fmt::Write as _;

use super::escape::{escape, push_escaped};
use super::Document;
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::metrics::{HeadReport, Report};
use crate::pipeline::Pipeline;

/// A row the model labeled wrongly, with the probability it gave its (wrong) label.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfidentError {
    /// 1-based row number in the data.
    pub row: usize,
    /// The line of the data file where the row starts, when known.
    pub line: Option<u64>,
    /// The row's id, when the data has ids.
    pub id: Option<String>,
    /// The row's text.
    pub text: String,
    /// The gold label.
    pub gold: String,
    /// The predicted label.
    pub predicted: String,
    /// The predicted label's probability.
    pub prob: f32,
}

/// One head's evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct HeadEvalView {
    /// The head's name.
    pub name: String,
    /// Its scores and confusion matrix.
    pub report: HeadReport,
    /// The most confident errors, most probable first (ties: earlier rows first).
    pub errors: Vec<ConfidentError>,
    /// How many rows the head got wrong in all.
    pub n_errors: usize,
}

/// An evaluation ready to render: every head the data has, in the model's head order.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalView {
    /// Rows evaluated.
    pub n: usize,
    /// One entry per head.
    pub heads: Vec<HeadEvalView>,
}

impl EvalView {
    /// The view of `report` (made by `model.evaluate(data)`), with up to `max_errors` most
    /// confident errors per head (the rows are predicted again to find them).
    ///
    /// # Errors
    /// [`Error::UnknownHead`] when `report` names a head the model or the data does not have.
    pub fn new(
        model: &Pipeline,
        data: &Dataset,
        report: &Report,
        max_errors: usize,
    ) -> Result<EvalView> {
        let preds = model.predict(data.texts());
        let provenance = data.provenance();
        let mut heads = Vec::new();
        for name in report.heads.keys() {
            let unknown = || Error::UnknownHead {
                head: name.clone(),
                heads: model.heads().iter().map(|h| h.name.clone()).collect(),
            };
            model.head_index(name).ok_or_else(unknown)?;
            data.head(name).ok_or_else(unknown)?;
        }
        for (hi, head) in model.heads().iter().enumerate() {
            let (Some(hr), Some(gold)) = (report.heads.get(&head.name), data.head(&head.name))
            else {
                continue;
            };
            let mut errors: Vec<ConfidentError> = Vec::new();
            for (r, (p, g)) in preds.iter().zip(gold).enumerate() {
                let hp = p.get(hi).expect("head index of this model");
                if hp.label() == g {
                    continue;
                }
                errors.push(ConfidentError {
                    row: r + 1,
                    line: provenance.and_then(|p| p.lines.get(r).copied()),
                    id: provenance
                        .and_then(|p| p.ids.as_ref())
                        .and_then(|ids| ids.get(r).cloned()),
                    text: data.texts()[r].clone(),
                    gold: g.clone(),
                    predicted: hp.label().to_string(),
                    prob: hp.score(),
                });
            }
            let n_errors = errors.len();
            errors.sort_by(|a, b| b.prob.total_cmp(&a.prob).then(a.row.cmp(&b.row)));
            errors.truncate(max_errors);
            heads.push(HeadEvalView {
                name: head.name.clone(),
                report: hr.clone(),
                errors,
                n_errors,
            });
        }
        Ok(EvalView { n: report.n, heads })
    }
}

/// The evaluation page: heading (`title`, `meta`) and one section per head.
pub fn eval_page(title: &str, meta: &str, view: &EvalView) -> String {
    let mut doc = Document::new(title);
    doc.push_heading(title, meta);
    let mut body = String::from("<main class=\"page\">\n");
    if view.heads.len() > 1 {
        body.push_str("<nav aria-label=\"Heads\"><p class=\"meta\">Heads:");
        for (i, h) in view.heads.iter().enumerate() {
            let _ = write!(body, " <a href=\"#head-{i}\">{}</a>", escape(&h.name));
        }
        body.push_str("</p></nav>\n");
    }
    for (i, h) in view.heads.iter().enumerate() {
        render_head(&mut body, h, i);
    }
    body.push_str("</main>\n");
    doc.push_html(&body);
    doc.into_html()
}

/// One head's section: every part in order.
fn render_head(out: &mut String, h: &HeadEvalView, i: usize) {
    let _ = write!(
        out,
        "<section class=\"head\" id=\"head-{i}\" aria-labelledby=\"head-{i}-h\">\n<h2 id=\"head-{i}-h\">Head <bdi>{}</bdi></h2>\n",
        escape(&h.name)
    );
    scores(out, &h.report);
    out.push_str("<div class=\"grid2\">\n");
    per_class(out, &h.report);
    confusion(out, &h.report);
    out.push_str("</div>\n");
    errors(out, h);
    out.push_str("</section>\n");
}

fn pct(v: f64) -> String {
    format!("{:.1}%", v * 100.0)
}

fn opt(v: Option<f64>) -> String {
    v.map_or_else(|| "\u{2013}".to_string(), |x| format!("{x:.3}"))
}

fn scores(out: &mut String, r: &HeadReport) {
    let _ = writeln!(
        out,
        "<div class=\"cards\"><div class=\"card\"><b>{}</b><span>accuracy</span></div><div class=\"card\"><b>{:.3}</b><span>macro-F1</span></div><div class=\"card\"><b>{:.3}</b><span>weighted-F1</span></div><div class=\"card\"><b>{}</b><span>rows</span></div></div>",
        pct(r.accuracy),
        r.macro_f1,
        r.weighted_f1,
        r.confusion.n()
    );
}

fn per_class(out: &mut String, r: &HeadReport) {
    out.push_str("<div class=\"scroll\"><table class=\"pc\"><caption>Per class (\u{2013}: undefined)</caption>\n<thead><tr><th class=\"l\" scope=\"col\">label</th><th scope=\"col\">precision</th><th scope=\"col\">recall</th><th scope=\"col\">F1</th><th scope=\"col\">support</th></tr></thead>\n<tbody>\n");
    // The confusion matrix's label order: the model's labels, then gold-only labels.
    for l in &r.confusion.labels {
        let Some(c) = r.per_class.get(l) else {
            continue;
        };
        let _ = writeln!(
            out,
            "<tr><th class=\"l\" scope=\"row\"><bdi>{}</bdi></th><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(l),
            opt(c.precision),
            opt(c.recall),
            opt(c.f1),
            c.support
        );
    }
    out.push_str("</tbody></table></div>\n");
}

/// Background and text colors of a confusion cell: blue on the diagonal, orange off it, darker
/// for a larger share of the gold row.
fn cell_colors(count: u64, row_total: u64, diagonal: bool) -> (String, &'static str) {
    if count == 0 || row_total == 0 {
        return ("#f7f7f7".into(), "#8a8a8a");
    }
    let share = count as f64 / row_total as f64;
    let lightness = 95.0 - 57.0 * share;
    let hue = if diagonal { 207 } else { 22 };
    let sat = if diagonal { 62 } else { 80 };
    let ink = if lightness < 62.0 { "#fff" } else { "#1b1b1b" };
    (format!("hsl({hue} {sat}% {lightness:.0}%)"), ink)
}

fn confusion(out: &mut String, r: &HeadReport) {
    let cm = &r.confusion;
    out.push_str("<div class=\"scroll\"><table class=\"cm\"><caption>Confusion matrix: rows are gold labels, columns predicted; color by share of the row</caption>\n<thead><tr><th class=\"l corner\" scope=\"col\">gold \\ predicted</th>");
    for l in &cm.labels {
        let _ = write!(out, "<th scope=\"col\"><bdi>{}</bdi></th>", escape(l));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for (g, (l, row)) in cm.labels.iter().zip(&cm.matrix).enumerate() {
        let total: u64 = row.iter().sum();
        let _ = write!(
            out,
            "<tr><th class=\"l\" scope=\"row\"><bdi>{}</bdi></th>",
            escape(l)
        );
        for (p, &c) in row.iter().enumerate() {
            let (bg, ink) = cell_colors(c, total, g == p);
            let _ = write!(
                out,
                "<td style=\"background:{bg};color:{ink}\" title=\"gold {} \u{2192} predicted {}: {c}\">{c}",
                escape(l),
                escape(&cm.labels[p])
            );
            if total > 0 && c > 0 {
                let _ = write!(
                    out,
                    "<span class=\"pct\">{}</span>",
                    pct(c as f64 / total as f64)
                );
            }
            out.push_str("</td>");
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table></div>\n");
}

fn errors(out: &mut String, h: &HeadEvalView) {
    if h.n_errors == 0 {
        out.push_str("<h3>Errors</h3>\n<p class=\"none\">No errors.</p>\n");
        return;
    }
    let _ = writeln!(
        out,
        "<h3>{}</h3>",
        if h.errors.is_empty() {
            format!("{} errors (none listed)", h.n_errors)
        } else if h.errors.len() < h.n_errors {
            format!(
                "The {} most confident of {} errors",
                h.errors.len(),
                h.n_errors
            )
        } else {
            format!(
                "All {} error{}, most confident first",
                h.n_errors,
                if h.n_errors == 1 { "" } else { "s" }
            )
        }
    );
    if h.errors.is_empty() {
        return;
    }
    let with_id = h.errors.iter().any(|e| e.id.is_some());
    out.push_str("<div class=\"scroll\"><table class=\"errors\"><thead><tr><th scope=\"col\">p</th><th class=\"l\" scope=\"col\">predicted</th><th class=\"l\" scope=\"col\">gold</th><th class=\"l\" scope=\"col\">text</th><th scope=\"col\">line</th>");
    if with_id {
        out.push_str("<th class=\"l\" scope=\"col\">id</th>");
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for e in &h.errors {
        let _ = write!(
            out,
            "<tr><td class=\"pp\">{:.2}</td><td class=\"l pred\"><bdi>{}</bdi></td><td class=\"l gold\"><bdi>{}</bdi></td><td class=\"txt\" dir=\"auto\">",
            e.prob,
            escape(&e.predicted),
            escape(&e.gold)
        );
        push_escaped(out, &e.text);
        let _ = write!(
            out,
            "</td><td class=\"ln\">{}</td>",
            e.line
                .map_or_else(|| format!("row {}", e.row), |l| l.to_string())
        );
        if with_id {
            out.push_str("<td class=\"l\">");
            push_escaped(out, e.id.as_deref().unwrap_or(""));
            out.push_str("</td>");
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table></div>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PipelineParams;

    fn data() -> Dataset {
        Dataset::new([
            "Troops shelled the town.",
            "Envoys signed a truce.",
            "Rebels attacked a convoy.",
            "Ministers agreed to talks.",
            "Envoys shelled <the> talks & troops.",
        ])
        .unwrap()
        .with_head(
            "topic",
            ["security", "diplomacy", "security", "diplomacy", "weird"],
        )
        .unwrap()
    }

    #[test]
    fn eval_view_finds_errors_most_confident_first_and_renders_counts() {
        let d = data();
        let train = Dataset::new(d.texts()[..4].to_vec())
            .unwrap()
            .with_head("topic", d.head("topic").unwrap()[..4].to_vec())
            .unwrap();
        let model =
            Pipeline::fit(&PipelineParams::default().c(10.0).check().unwrap(), &train).unwrap();
        let report = model.evaluate(&d).unwrap();
        let view = EvalView::new(&model, &d, &report, 20).unwrap();
        assert_eq!(view.heads.len(), 1);
        let h = &view.heads[0];
        // The gold label unknown to the model is always an error.
        assert!(h.errors.iter().any(|e| e.gold == "weird" && e.row == 5));
        assert!(h.errors.windows(2).all(|w| w[0].prob >= w[1].prob));
        let html = eval_page("eval", "5 rows", &view);
        assert!(html.contains("&lt;the&gt; talks &amp; troops"));
        let cm = &report.heads["topic"].confusion;
        for (l, row) in cm.labels.iter().zip(&cm.matrix) {
            for (p, c) in cm.labels.iter().zip(row) {
                assert!(
                    html.contains(&format!(
                        "title=\"gold {l} \u{2192} predicted {p}: {c}\">{c}"
                    )),
                    "cell {l} {p}"
                );
            }
        }
        let view = EvalView::new(&model, &d, &report, 0).unwrap();
        assert!(view.heads[0].errors.is_empty() && view.heads[0].n_errors >= 1);
        assert!(eval_page("e", "", &view).contains("errors (none listed)"));
    }

    #[test]
    fn cells_darken_with_their_share() {
        let (bg_small, _) = cell_colors(1, 10, true);
        let (bg_big, ink) = cell_colors(10, 10, true);
        assert_ne!(bg_small, bg_big);
        assert_eq!(ink, "#fff");
        assert_eq!(cell_colors(0, 10, false).0, "#f7f7f7");
    }
}
