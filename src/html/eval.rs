//! The evaluation page: per head the scores, the per-class table, the confusion matrix as a
//! heatmap with counts, and the most confident errors with their text.
//!
//! When the report has probabilities (as [`Pipeline::evaluate`] makes it) a head's section also
//! shows the log-loss, Brier score and expected calibration error, the reliability diagram and
//! the coverage–accuracy curve, both inline SVG with a visually hidden table of their numbers.
//!
//! Each part of a head's section is one function called from [`render_head`].

use std::fmt::Write as _;

use super::escape::{escape, push_escaped};
use super::Document;
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::metrics::{Calibration, HeadReport, Report, SelectiveRow};
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
    if h.report.calibration.is_some() || !h.report.selective.is_empty() {
        out.push_str("<div class=\"grid2\">\n");
        if let Some(c) = &h.report.calibration {
            reliability(out, c, i);
        }
        if !h.report.selective.is_empty() {
            coverage_curve(out, &h.report.selective, i);
        }
        out.push_str("</div>\n");
    }
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
    if let Some(c) = &r.calibration {
        let _ = writeln!(
            out,
            "<div class=\"cards\"><div class=\"card\"><b>{:.3}</b><span>log-loss</span></div><div class=\"card\"><b>{:.3}</b><span>Brier score</span></div><div class=\"card\"><b>{:.3}</b><span>calibration error (ECE)</span></div></div>",
            c.log_loss, c.brier, c.ece
        );
    }
}

// Geometry of the two plots (SVG user units): the plot area is a square of side `PLOT` at
// (`LEFT`, `TOP`), 0..1 on both axes.
const LEFT: f64 = 46.0;
const TOP: f64 = 14.0;
const PLOT: f64 = 220.0;
const SVG_W: f64 = LEFT + PLOT + 16.0;
const SVG_H: f64 = TOP + PLOT + 42.0;

fn px(v: f64) -> f64 {
    LEFT + v.clamp(0.0, 1.0) * PLOT
}

fn py(v: f64) -> f64 {
    TOP + (1.0 - v.clamp(0.0, 1.0)) * PLOT
}

/// The frame of a plot: grid lines and ticks at 0, 0.25, …, 1 on both axes, and the axis titles.
fn axes(out: &mut String, x_title: &str, y_title: &str) {
    for k in 0..=4 {
        let v = f64::from(k) / 4.0;
        let _ = write!(
            out,
            "<line class=\"grid\" x1=\"{x:.1}\" y1=\"{TOP:.1}\" x2=\"{x:.1}\" y2=\"{b:.1}\"/><line class=\"grid\" x1=\"{LEFT:.1}\" y1=\"{y:.1}\" x2=\"{r:.1}\" y2=\"{y:.1}\"/><text class=\"tk\" x=\"{x:.1}\" y=\"{ty:.1}\" text-anchor=\"middle\">{v}</text><text class=\"tk\" x=\"{tx:.1}\" y=\"{yy:.1}\" text-anchor=\"end\">{v}</text>",
            x = px(v),
            y = py(v),
            b = TOP + PLOT,
            r = LEFT + PLOT,
            ty = TOP + PLOT + 14.0,
            tx = LEFT - 5.0,
            yy = py(v) + 4.0,
        );
    }
    let _ = write!(
        out,
        "<rect class=\"frame\" x=\"{LEFT}\" y=\"{TOP}\" width=\"{PLOT}\" height=\"{PLOT}\"/><text class=\"ax\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text><text class=\"ax\" transform=\"translate(12 {:.1}) rotate(-90)\" text-anchor=\"middle\">{}</text>",
        LEFT + PLOT / 2.0,
        TOP + PLOT + 32.0,
        escape(x_title),
        TOP + PLOT / 2.0,
        escape(y_title)
    );
}

/// The reliability diagram: per non-empty confidence bin a dot at (mean confidence, accuracy)
/// labeled with its count, a bar of the bin's accuracy over the bin's range, and the diagonal of
/// perfect calibration; the numbers follow in a visually hidden table.
fn reliability(out: &mut String, c: &Calibration, i: usize) {
    let bins: Vec<_> = c
        .reliability
        .iter()
        .filter_map(|b| Some((b, b.mean_confidence?, b.accuracy?)))
        .filter(|(b, _, _)| b.count > 0)
        .collect();
    let id = format!("head-{i}-rel");
    let _ = write!(
        out,
        "<figure class=\"plot\"><figcaption>Reliability: accuracy against confidence</figcaption>\n<svg class=\"plot\" viewBox=\"0 0 {SVG_W} {SVG_H}\" role=\"img\" aria-labelledby=\"{id}-t {id}-d\"><title id=\"{id}-t\">Reliability diagram</title><desc id=\"{id}-d\">For each of {} non-empty confidence bins of width 0.1, the share of correct predictions against their mean confidence; points on the diagonal are perfectly calibrated. Expected calibration error {:.3}. The numbers are in the table that follows.</desc>",
        bins.len(),
        c.ece
    );
    axes(out, "mean confidence (top probability)", "accuracy");
    let _ = write!(
        out,
        "<line class=\"diag\" x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\"/>",
        px(0.0),
        py(0.0),
        px(1.0),
        py(1.0)
    );
    for (b, conf, acc) in &bins {
        let (x0, x1) = (px(b.lower) + 1.0, px(b.upper) - 1.0);
        let _ = write!(
            out,
            "<g><title>confidence {:.1}\u{2013}{:.1}: {} rows, mean confidence {conf:.3}, accuracy {acc:.3}</title><rect class=\"rbar\" x=\"{x0:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\"/><circle class=\"dot\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"3.5\"/><text class=\"cnt\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text></g>",
            b.lower,
            b.upper,
            b.count,
            py(*acc),
            (x1 - x0).max(0.0),
            py(0.0) - py(*acc),
            px(*conf),
            py(*acc),
            px(*conf),
            (py(*acc) - 7.0).max(TOP + 9.0),
            b.count
        );
    }
    out.push_str("</svg>\n");
    let _ = write!(
        out,
        "<table class=\"vh\"><caption>Reliability table (non-empty bins)</caption><thead><tr><th scope=\"col\">confidence bin</th><th scope=\"col\">rows</th><th scope=\"col\">mean confidence</th><th scope=\"col\">accuracy</th></tr></thead><tbody>"
    );
    for (b, conf, acc) in &bins {
        let _ = write!(
            out,
            "<tr><th scope=\"row\">{:.1}\u{2013}{:.1}</th><td>{}</td><td>{conf:.3}</td><td>{acc:.3}</td></tr>",
            b.lower, b.upper, b.count
        );
    }
    out.push_str("</tbody></table></figure>\n");
}

/// The coverage–accuracy curve: for each threshold of the selective-prediction table, accuracy
/// (solid) and macro-F1 (dashed) on the rows kept against the share kept; accuracy points are
/// labeled with their threshold where the labels do not overlap, and the numbers follow in a
/// visually hidden table.
fn coverage_curve(out: &mut String, rows: &[SelectiveRow], i: usize) {
    let id = format!("head-{i}-cov");
    let _ = write!(
        out,
        "<figure class=\"plot\"><figcaption>Abstention: accuracy (solid) and macro-F1 (dashed) against coverage</figcaption>\n<svg class=\"plot\" viewBox=\"0 0 {SVG_W} {SVG_H}\" role=\"img\" aria-labelledby=\"{id}-t {id}-d\"><title id=\"{id}-t\">Coverage\u{2013}accuracy curve</title><desc id=\"{id}-d\">For each of {} thresholds from {:.2} to {:.2}: the share of rows whose top probability reaches it (coverage) and the accuracy (solid line) and macro-F1 (dashed line) on them. The numbers are in the table that follows.</desc>",
        rows.len(),
        rows.first().map_or(0.0, |r| r.threshold),
        rows.last().map_or(0.0, |r| r.threshold)
    );
    axes(out, "coverage (share of rows kept)", "accuracy / macro-F1");
    let line = |class: &str, pick: &dyn Fn(&SelectiveRow) -> Option<f64>| {
        let pts: Vec<String> = rows
            .iter()
            .filter_map(|r| pick(r).map(|v| format!("{:.1},{:.1}", px(r.coverage), py(v))))
            .collect();
        format!("<polyline class=\"{class}\" points=\"{}\"/>", pts.join(" "))
    };
    out.push_str(&line("acc", &|r| r.accuracy));
    out.push_str(&line("f1", &|r| r.macro_f1));
    let mut last_label: Option<(f64, f64)> = None;
    for r in rows {
        let Some(acc) = r.accuracy else { continue };
        let (x, y) = (px(r.coverage), py(acc));
        let _ = write!(
            out,
            "<g><title>threshold {:.2}: coverage {:.3} ({} rows), accuracy {acc:.3}{}</title><circle class=\"dot\" cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3\"/>",
            r.threshold,
            r.coverage,
            r.kept,
            r.macro_f1
                .map_or(String::new(), |f| format!(", macro-F1 {f:.3}"))
        );
        if last_label.is_none_or(|(lx, ly)| (lx - x).abs() >= 24.0 || (ly - y).abs() >= 12.0) {
            let _ = write!(
                out,
                "<text class=\"cnt\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{:.2}</text>",
                x,
                (y - 7.0).max(TOP + 9.0),
                r.threshold
            );
            last_label = Some((x, y));
        }
        out.push_str("</g>");
    }
    out.push_str("</svg>\n<table class=\"vh\"><caption>Selective prediction</caption><thead><tr><th scope=\"col\">threshold</th><th scope=\"col\">rows kept</th><th scope=\"col\">coverage</th><th scope=\"col\">accuracy</th><th scope=\"col\">macro-F1</th></tr></thead><tbody>");
    for r in rows {
        let _ = write!(
            out,
            "<tr><th scope=\"row\">{:.2}</th><td>{}</td><td>{:.3}</td><td>{}</td><td>{}</td></tr>",
            r.threshold,
            r.kept,
            r.coverage,
            opt(r.accuracy),
            opt(r.macro_f1)
        );
    }
    out.push_str("</tbody></table></figure>\n");
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
        // Calibration cards, reliability bins (non-empty only) and every threshold.
        let hr = &report.heads["topic"];
        let c = hr.calibration.as_ref().unwrap();
        assert!(html.contains(&format!("<b>{:.3}</b><span>log-loss</span>", c.log_loss)));
        for b in &c.reliability {
            let row = format!(
                "<th scope=\"row\">{:.1}\u{2013}{:.1}</th><td>{}</td>",
                b.lower, b.upper, b.count
            );
            assert_eq!(html.contains(&row), b.count > 0, "{row}");
        }
        assert_eq!(hr.selective.len(), 14);
        for r in &hr.selective {
            assert!(html.contains(&format!(
                "<th scope=\"row\">{:.2}</th><td>{}</td>",
                r.threshold, r.kept
            )));
        }
        assert!(html.contains("<line class=\"diag\""));
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
