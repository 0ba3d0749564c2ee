//! How labels look: a color per label of the tinting head, an underline style and a glyph per
//! label of the marking head.
//!
//! Labels come from the training data, so the look is derived from the label set, always the
//! same for the same labels. The default heads' labels have hand-picked colors and marks (the
//! Okabe–Ito palette, distinguishable with the common color-vision deficiencies, as light tints
//! behind black text); any other label takes the next free color of a fixed list in sorted
//! label order, then evenly spread hues.

use std::fmt::Write as _;

use super::escape::escape;

/// The head whose label tints a sentence, by preference.
pub const TINT_HEAD: &str = "topic";
/// The head whose label marks a sentence, by preference.
pub const MARK_HEAD: &str = "stance";

/// A label's colors: `strong` for swatches and bars, `tint` behind text (dark text stays
/// readable on it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelColor {
    /// CSS color for bars, swatches and outlines.
    pub strong: String,
    /// CSS color for the background of a sentence.
    pub tint: String,
}

/// How a sentence's text is underlined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Underline {
    /// No underline.
    None,
    /// A solid line.
    Solid,
    /// A wavy line.
    Wavy,
    /// A dashed line.
    Dashed,
    /// A dotted line.
    Dotted,
    /// Two lines.
    Double,
}

impl Underline {
    fn css(self) -> &'static str {
        match self {
            Underline::None => "none",
            Underline::Solid => "solid",
            Underline::Wavy => "wavy",
            Underline::Dashed => "dashed",
            Underline::Dotted => "dotted",
            Underline::Double => "double",
        }
    }
}

/// A label's mark: an underline style and an optional glyph after the sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    /// Underline of the sentence text.
    pub underline: Underline,
    /// A small glyph after the sentence (`None`: nothing).
    pub glyph: Option<char>,
}

/// The colors of one head's labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TintStyle {
    /// The head's name.
    pub head: String,
    /// Its labels, in the model's (sorted) order.
    pub labels: Vec<String>,
    /// One color per label.
    pub colors: Vec<LabelColor>,
}

/// The marks of one head's labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkStyle {
    /// The head's name.
    pub head: String,
    /// Its labels, in the model's (sorted) order.
    pub labels: Vec<String>,
    /// One mark per label.
    pub marks: Vec<Mark>,
}

/// The look of every label: which head tints sentences and which marks them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Theme {
    /// The head that tints sentences.
    pub tint: TintStyle,
    /// The head that underlines and marks sentences, if the model has a second head.
    pub mark: Option<MarkStyle>,
}

/// Hand-picked colors of the default topics: (label, strong, tint).
const DEFAULT_COLORS: [(&str, &str, &str); 4] = [
    ("security", "#d55e00", "#fbdcc8"),
    ("diplomacy", "#0072b2", "#d2e6f4"),
    ("casualties", "#cc79a7", "#f6dcea"),
    ("other", "#6b6b6b", "#e6e6e6"),
];

/// Colors for other labels, in order of use: (strong, tint).
const SPARE_COLORS: [(&str, &str); 4] = [
    ("#e69f00", "#fcebc4"),
    ("#009e73", "#cdeee2"),
    ("#56b4e9", "#dcf0fb"),
    ("#b8a600", "#f6f0bd"),
];

/// Hand-picked marks of the default stances.
const DEFAULT_MARKS: [(&str, Mark); 3] = [
    (
        "supportive",
        Mark {
            underline: Underline::Solid,
            glyph: Some('+'),
        },
    ),
    (
        "critical",
        Mark {
            underline: Underline::Wavy,
            glyph: Some('\u{2212}'),
        },
    ),
    (
        "neutral",
        Mark {
            underline: Underline::None,
            glyph: None,
        },
    ),
];

/// Marks for other labels, in order of use.
const SPARE_MARKS: [Mark; 6] = [
    Mark {
        underline: Underline::Solid,
        glyph: Some('\u{25b2}'),
    },
    Mark {
        underline: Underline::Wavy,
        glyph: Some('\u{25cf}'),
    },
    Mark {
        underline: Underline::Dashed,
        glyph: Some('\u{25a0}'),
    },
    Mark {
        underline: Underline::Dotted,
        glyph: Some('\u{25c6}'),
    },
    Mark {
        underline: Underline::Double,
        glyph: Some('\u{2605}'),
    },
    Mark {
        underline: Underline::None,
        glyph: Some('\u{25cb}'),
    },
];

/// The colors of `labels`: hand-picked for the default topics, then the spare list in label
/// order, then hues spread by the golden angle.
pub fn label_colors(labels: &[String]) -> Vec<LabelColor> {
    let mut spare = 0usize;
    labels
        .iter()
        .map(|l| {
            if let Some((_, strong, tint)) = DEFAULT_COLORS.iter().find(|(n, _, _)| n == l) {
                return LabelColor {
                    strong: (*strong).into(),
                    tint: (*tint).into(),
                };
            }
            let i = spare;
            spare += 1;
            match SPARE_COLORS.get(i) {
                Some((strong, tint)) => LabelColor {
                    strong: (*strong).into(),
                    tint: (*tint).into(),
                },
                None => {
                    // 137.5° apart, starting away from the hand-picked hues.
                    let hue = (50.0 + 137.508 * (i - SPARE_COLORS.len()) as f64) % 360.0;
                    LabelColor {
                        strong: format!("hsl({hue:.0} 60% 38%)"),
                        tint: format!("hsl({hue:.0} 70% 88%)"),
                    }
                }
            }
        })
        .collect()
}

/// The marks of `labels`: hand-picked for the default stances, then the spare list in label
/// order (repeating, with the glyph told apart by the label's number, past its end).
pub fn label_marks(labels: &[String]) -> Vec<Mark> {
    let mut spare = 0usize;
    labels
        .iter()
        .map(|l| {
            if let Some((_, m)) = DEFAULT_MARKS.iter().find(|(n, _)| n == l) {
                return *m;
            }
            let i = spare;
            spare += 1;
            let mut m = SPARE_MARKS[i % SPARE_MARKS.len()];
            if i >= SPARE_MARKS.len() {
                m.glyph = char::from_digit((i % 10) as u32, 10);
            }
            m
        })
        .collect()
}

impl Theme {
    /// The look for a model with these heads (`(name, sorted labels)`, in the model's order):
    /// the head named [`TINT_HEAD`] (else the first) tints, the head named [`MARK_HEAD`] (else
    /// the first other head, if any) marks. Without heads (never for a fitted or loaded
    /// model) nothing is tinted or marked.
    pub fn for_heads(heads: &[(String, Vec<String>)]) -> Theme {
        if heads.is_empty() {
            return Theme {
                tint: TintStyle {
                    head: String::new(),
                    labels: Vec::new(),
                    colors: Vec::new(),
                },
                mark: None,
            };
        }
        let tint_i = heads.iter().position(|h| h.0 == TINT_HEAD).unwrap_or(0);
        let mark_i = heads
            .iter()
            .position(|h| h.0 == MARK_HEAD)
            .filter(|&i| i != tint_i)
            .or_else(|| (0..heads.len()).find(|&i| i != tint_i));
        let (name, labels) = &heads[tint_i];
        Theme {
            tint: TintStyle {
                head: name.clone(),
                labels: labels.clone(),
                colors: label_colors(labels),
            },
            mark: mark_i.map(|i| {
                let (name, labels) = &heads[i];
                MarkStyle {
                    head: name.clone(),
                    labels: labels.clone(),
                    marks: label_marks(labels),
                }
            }),
        }
    }

    /// The look for a fitted pipeline's heads (see [`Theme::for_heads`]).
    pub fn for_model(model: &crate::Pipeline) -> Theme {
        let heads: Vec<(String, Vec<String>)> = model
            .heads()
            .iter()
            .map(|h| (h.name.clone(), h.model.labels().names().to_vec()))
            .collect();
        Theme::for_heads(&heads)
    }

    /// The number of the tinting head's label `label`, if it has it.
    pub fn tint_index(&self, label: &str) -> Option<usize> {
        self.tint.labels.iter().position(|l| l == label)
    }

    /// The number of the marking head's label `label`, if there is a marking head with it.
    pub fn mark_index(&self, label: &str) -> Option<usize> {
        self.mark.as_ref()?.labels.iter().position(|l| l == label)
    }

    /// The style sheet rules of the labels: `.t{i}` sets the colors of tint label `i`, `.m{i}`
    /// the underline of mark label `i`.
    pub fn css(&self) -> String {
        let mut css = String::new();
        for (i, c) in self.tint.colors.iter().enumerate() {
            let _ = writeln!(css, ".t{i}{{--tint:{};--strong:{}}}", c.tint, c.strong);
        }
        if let Some(m) = &self.mark {
            for (i, mark) in m.marks.iter().enumerate() {
                let _ = writeln!(
                    css,
                    ".m{i} .x{{text-decoration-line:{};text-decoration-style:{}}}",
                    if mark.underline == Underline::None {
                        "none"
                    } else {
                        "underline"
                    },
                    match mark.underline {
                        Underline::None => Underline::Solid.css(),
                        u => u.css(),
                    }
                );
            }
        }
        css
    }

    /// The legend: a swatch per tint label and a sample per mark label, with a line on how to
    /// see the probabilities.
    pub fn legend_html(&self) -> String {
        let mut h = String::new();
        h.push_str("<section class=\"legend\" aria-label=\"Legend\">\n<div class=\"lg\"><span class=\"lg-h\">");
        h.push_str(&escape(&self.tint.head));
        h.push_str(" (color)</span><ul>");
        for (i, l) in self.tint.labels.iter().enumerate() {
            let _ = write!(
                h,
                "<li><span class=\"sw t{i}\" aria-hidden=\"true\"></span><bdi>{}</bdi></li>",
                escape(l)
            );
        }
        h.push_str("</ul></div>\n");
        if let Some(m) = &self.mark {
            h.push_str("<div class=\"lg\"><span class=\"lg-h\">");
            h.push_str(&escape(&m.head));
            h.push_str(" (underline and sign)</span><ul>");
            for (i, (l, mark)) in m.labels.iter().zip(&m.marks).enumerate() {
                let _ = write!(
                    h,
                    "<li><span class=\"m{i} sample\" aria-hidden=\"true\"><span class=\"x\">text</span>{}</span><bdi>{}</bdi>{}</li>",
                    glyph_html(*mark),
                    escape(l),
                    if mark.underline == Underline::None && mark.glyph.is_none() {
                        " <span class=\"note\">(no mark)</span>"
                    } else {
                        ""
                    }
                );
            }
            h.push_str("</ul></div>\n");
        }
        h.push_str("<p class=\"hint\">Point at a sentence, or move to it with Tab, to see every head&#39;s probabilities.</p>\n</section>\n");
        h
    }
}

/// The glyph element after a marked sentence (empty without a glyph).
pub(crate) fn glyph_html(mark: Mark) -> String {
    match mark.glyph {
        Some(g) => format!(
            "<span class=\"g\" aria-hidden=\"true\">{}</span>",
            escape(&g.to_string())
        ),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn default_topics_get_their_hand_picked_colors_in_any_label_set() {
        let a = label_colors(&s(&["casualties", "diplomacy", "other", "security"]));
        let b = label_colors(&s(&["alpha", "security", "zulu"]));
        assert_eq!(a[3].strong, "#d55e00");
        assert_eq!(b[1], a[3]);
        // Other labels take the spare colors in order, all distinct.
        assert_eq!(b[0].strong, SPARE_COLORS[0].0);
        assert_eq!(b[2].strong, SPARE_COLORS[1].0);
    }

    #[test]
    fn colors_are_distinct_and_deterministic_for_many_labels() {
        let labels: Vec<String> = (0..20).map(|i| format!("label{i:02}")).collect();
        let c = label_colors(&labels);
        assert_eq!(c, label_colors(&labels));
        let mut strong: Vec<&str> = c.iter().map(|x| x.strong.as_str()).collect();
        strong.sort();
        strong.dedup();
        assert_eq!(strong.len(), 20);
    }

    #[test]
    fn marks_of_default_stances_and_others() {
        let m = label_marks(&s(&["critical", "neutral", "supportive"]));
        assert_eq!(m[0].underline, Underline::Wavy);
        assert_eq!(
            m[1],
            Mark {
                underline: Underline::None,
                glyph: None
            }
        );
        assert_eq!(m[2].glyph, Some('+'));
        let many: Vec<String> = (0..8).map(|i| format!("s{i}")).collect();
        let m = label_marks(&many);
        let glyphs: std::collections::BTreeSet<char> = m.iter().filter_map(|x| x.glyph).collect();
        assert_eq!(glyphs.len(), 8, "every label has its own glyph");
    }

    #[test]
    fn theme_prefers_topic_and_stance_heads_and_falls_back_to_order() {
        let heads = vec![
            ("stance".to_string(), s(&["critical", "neutral"])),
            ("topic".to_string(), s(&["a", "b"])),
        ];
        let t = Theme::for_heads(&heads);
        assert_eq!(t.tint.head, "topic");
        assert_eq!(t.mark.as_ref().unwrap().head, "stance");
        let t = Theme::for_heads(&[("label".to_string(), s(&["x", "y"]))]);
        assert_eq!(t.tint.head, "label");
        assert!(t.mark.is_none());
        let t = Theme::for_heads(&[
            ("a".to_string(), s(&["x", "y"])),
            ("b".to_string(), s(&["u", "v"])),
        ]);
        assert_eq!(
            (t.tint.head.as_str(), t.mark.unwrap().head.as_str()),
            ("a", "b")
        );
    }

    #[test]
    fn legend_escapes_labels() {
        let t = Theme::for_heads(&[
            ("<h>".to_string(), s(&["<script>", "b&c"])),
            ("st".to_string(), s(&["\"q\"", "r"])),
        ]);
        let h = t.legend_html();
        assert!(!h.contains("<script>") && !h.contains("<h>"));
        assert!(
            h.contains("&lt;script&gt;") && h.contains("b&amp;c") && h.contains("&quot;q&quot;")
        );
    }
}
