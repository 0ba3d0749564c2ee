//! Inline SVG charts: the per-article bar chart of sentences per label pair.
//!
//! Bars take their color from the label's CSS class (`.t{i}` sets `--strong`), so the chart and
//! the text share one palette. Label text is escaped and long labels are shortened (the full
//! text stays in the chart's accessible title).

use std::fmt::Write as _;

use super::escape::escape;
use super::theme::Theme;

/// Width of the drawing, in SVG units (the chart scales to its box).
const WIDTH: f64 = 320.0;
/// Where bars start.
const BAR_X: f64 = 122.0;
/// Longest bar.
const BAR_MAX: f64 = 160.0;
/// Height of one row.
const ROW: f64 = 17.0;
/// Longest label drawn whole, in chars.
const MAX_LABEL: usize = 16;

fn short(label: &str) -> String {
    if label.chars().count() <= MAX_LABEL {
        label.to_string()
    } else {
        let mut s: String = label.chars().take(MAX_LABEL - 1).collect();
        s.push('\u{2026}');
        s
    }
}

/// Append a bar chart of `counts[t][m]` (see [`super::ArticleView::counts`]) to `out`: one
/// group per tint label, one bar per mark label in it (one bar per group without a marking
/// head), with the count at the end of each bar. `id` prefixes element ids.
pub fn render_counts(out: &mut String, counts: &[Vec<usize>], theme: &Theme, id: &str) {
    let marks = theme.mark.as_ref();
    let n_marks = marks.map_or(1, |m| m.labels.len().max(1));
    let max = counts.iter().flatten().copied().max().unwrap_or(0).max(1);
    let group_rows = if marks.is_some() { 1 + n_marks } else { 1 };
    let height = ROW * (counts.len() * group_rows) as f64 + 6.0 * counts.len() as f64 + 4.0;
    // Accessible summary: every count in words.
    let mut summary = format!("Sentences by {}", theme.tint.head);
    if let Some(m) = marks {
        let _ = write!(summary, " and {}", m.head);
    }
    summary.push_str(": ");
    let parts: Vec<String> = counts
        .iter()
        .zip(&theme.tint.labels)
        .map(|(row, t)| {
            let total: usize = row.iter().sum();
            match marks {
                Some(m) => {
                    let inner: Vec<String> = row
                        .iter()
                        .zip(&m.labels)
                        .filter(|(c, _)| **c > 0)
                        .map(|(c, l)| format!("{l} {c}"))
                        .collect();
                    if inner.is_empty() {
                        format!("{t} {total}")
                    } else {
                        format!("{t} {total} ({})", inner.join(", "))
                    }
                }
                None => format!("{t} {total}"),
            }
        })
        .collect();
    summary.push_str(&parts.join("; "));

    let _ = write!(
        out,
        "<h3 class=\"chart-h\">Sentences by {}{}</h3>\n<svg class=\"chart\" viewBox=\"0 0 {WIDTH} {height:.0}\" role=\"img\" aria-labelledby=\"{id}-ct\"><title id=\"{id}-ct\">{}</title>\n",
        escape(&theme.tint.head),
        marks.map_or(String::new(), |m| format!(" and {}", escape(&m.head))),
        escape(&summary)
    );
    let mut y = 2.0;
    for (t, (row, label)) in counts.iter().zip(&theme.tint.labels).enumerate() {
        let total: usize = row.iter().sum();
        let _ = write!(out, "<g class=\"t{t}\">");
        match marks {
            Some(m) => {
                let _ = write!(
                    out,
                    "<rect class=\"csw\" x=\"0\" y=\"{:.1}\" width=\"10\" height=\"10\" rx=\"2\"/><text class=\"gh\" x=\"15\" y=\"{:.1}\">{} <tspan class=\"n\">{total}</tspan></text>",
                    y + 3.0,
                    y + 12.0,
                    escape(&short(label))
                );
                y += ROW;
                for (mi, (c, ml)) in row.iter().zip(&m.labels).enumerate() {
                    if let Some(g) = m.marks[mi].glyph {
                        let _ = write!(
                            out,
                            "<text class=\"cg\" x=\"17\" y=\"{:.1}\">{}</text>",
                            y + 12.0,
                            escape(&g.to_string())
                        );
                    }
                    bar(out, y, &short(ml), *c, max, 28.0);
                    y += ROW;
                }
            }
            None => {
                let _ = write!(
                    out,
                    "<rect class=\"csw\" x=\"0\" y=\"{:.1}\" width=\"10\" height=\"10\" rx=\"2\"/>",
                    y + 3.0
                );
                bar(out, y, &short(label), total, max, 15.0);
                y += ROW;
            }
        }
        out.push_str("</g>\n");
        y += 6.0;
    }
    out.push_str("</svg>\n");
}

fn bar(out: &mut String, y: f64, label: &str, count: usize, max: usize, indent: f64) {
    let w = BAR_MAX * count as f64 / max as f64;
    let _ = write!(
        out,
        "<text class=\"bl\" x=\"{indent:.0}\" y=\"{:.1}\">{}</text><rect class=\"bar\" x=\"{BAR_X}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"11\" rx=\"2\"/><text class=\"bn{}\" x=\"{:.1}\" y=\"{:.1}\">{count}</text>",
        y + 12.0,
        escape(label),
        y + 3.0,
        if count == 0 { " zero" } else { "" },
        BAR_X + w + 4.0,
        y + 12.0
    );
}
