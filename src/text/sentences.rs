//! Sentence splitting for English wire-service news.
//!
//! [`split_sentences`] cuts raw article text into [`Sentence`]s that carry
//! their position in the input as **char offsets** (Unicode scalar values, not
//! bytes), so `input.chars().skip(s.start).take(s.end - s.start)` is exactly
//! `s.text`. The splitter is infallible: it never panics and always returns a
//! (possibly empty) vector, whatever the input.
//!
//! # Rules
//!
//! **Lines.** Every line break ends a sentence: wire copy has one paragraph
//! per line, and a headline or byline without a final period stands on its own
//! line. `\n`, `\r\n`, a lone `\r`, vertical tab, form feed, NEL (U+0085) and
//! the Unicode line/paragraph separators (U+2028, U+2029) all count as line
//! breaks. Blank lines are paragraph breaks and produce nothing.
//!
//! **Trimming.** Every sentence is trimmed of surrounding whitespace (Unicode
//! `White_Space`, plus the byte-order mark U+FEFF and the zero-width space
//! U+200B, which often lead a file or a pasted paragraph). Segments that are
//! empty after trimming produce nothing. Anything else, even a lone `—` or a
//! NUL, is kept as a sentence of its own, so that no text is silently lost.
//!
//! **Within a line** the [`sentencex`] English segmenter proposes the
//! boundaries, and a set of news-specific rules then confirms or overrides
//! them at each *candidate*: a run of terminators (`.`, `!`, `?`, `…`, `...`,
//! `. . .` and a few non-Latin full stops), optionally followed by closing
//! quotes or brackets (`”`, `’`, `"`, `'`, `»`, `)`, `]`). In order:
//!
//! 1. **No space after the run** (`3.5`, `$1.2`, `www.un.org/en/News.Story`,
//!    `press@un.org`, `R-S.C.`): never a boundary when the surrounding token
//!    looks like a URL, a path or an email address (contains `/`, `@` or
//!    `www.`), or when a single letter and another period follow (the inside
//!    of an initialism); otherwise sentencex decides (it keeps `3.5` and
//!    `U.S.-led` together and splits the typo `million.He said`).
//! 2. **Next word starts with a lowercase letter** (after any opening quote or
//!    bracket): never a boundary. This keeps `“Why now?” asked Lavrov.`,
//!    `10:30 a.m. on Tuesday`, `etc. continued`, `… and nobody knows` and
//!    `the U.S.’ allies` whole; a new news sentence never begins in lowercase.
//! 3. **Terminator then a closing quote or bracket**, followed by a
//!    capitalised word: a boundary after the closer when the run contains a
//!    period or an ellipsis (`He said: “We will win.” Then he left.` is two
//!    sentences; `(The toll could not be verified.) Officials said…` too).
//!    After `!”` or `?”` a capitalised word may still be attribution
//!    (`“Why now?” Lavrov asked.`): the quote ends the sentence if the next
//!    word is a common sentence opener (`The`, `He`, `But`, …, or one of the
//!    plural news nouns listed under rule 4 such as `Protesters`), it does not
//!    if a reporting verb (`said`, `asked`, `told`, …) follows within four
//!    words, and otherwise it does. A comma inside the quote is no candidate
//!    at all, so `“The next months are critical,” said an official.` is one
//!    sentence.
//! 4. **A single period after an abbreviation**:
//!    - titles that always precede a name (`Mr.`, `Mrs.`, `Ms.`, `Dr.`,
//!      `Gen.`, `Lt.`, `Col.`, `Sgt.`, `Capt.`, `Gov.`, `Sen.`, `Rep.`,
//!      `Rev.`, `Prof.`, `Maj.`, `Adm.`, …) and `vs.`/`v.` never end a
//!      sentence (`Sgt. First Class Ray` stays whole);
//!    - ambiguous abbreviations can end a sentence or sit inside one:
//!      dotted initialisms (`U.S.`, `U.N.`, `U.K.`, `E.U.`, `D.C.`, `a.m.`,
//!      `p.m.`, `J.R.R.`), single-capital initials (`George W. Bush`),
//!      company suffixes (`Inc.`, `Corp.`, `Ltd.`, `Co.`), `Jr.`, `St.`,
//!      `No.`, `etc.`, months (`Jan.`, `Sept.`, …) and U.S. state
//!      abbreviations (`Calif.`, `Fla.`, …). Before a capitalised word they
//!      end the sentence only if that word is a common sentence opener
//!      (closed-class words such as `The`, `He`, `It`, `But`, `In`, plus a
//!      few plural nouns that open many wire sentences: `Officials`,
//!      `Police`, `Witnesses`, `Shares`, …). Otherwise the capitalised word
//!      is taken as part of a name and the sentence goes on.
//!
//!    **The genuinely ambiguous `U.S.` + capitalised word** therefore splits
//!    in `…imposed by the U.S. The measures take effect Monday.` and in
//!    `…by the U.S. Officials said…`, and stays whole in
//!    `The U.S. Embassy said…` and `U.S. President Joe Biden said…`.
//!    **`a.m.`/`p.m.` at a sentence end** follow the same rule:
//!    `…at 10:30 a.m. The shelling began…` splits, while wire-style
//!    `…at 10 a.m. Tuesday, officials said.` (a day name is no opener) and
//!    `…at 5 p.m. EST…` stay whole. A digit after the period (`No. 2`,
//!    `Jan. 5`) is left to sentencex, which keeps the sentence going.
//! 5. **An ellipsis** (`…`, `...`, `. . .`) followed by a capitalised word is
//!    a boundary, except before the pronoun `I` (`The talks are over… I think
//!    the war will go on.` stays whole, as sentencex does).
//! 6. Anything else (an ordinary period, `?`, `!`, a non-Latin full stop) is
//!    left to sentencex, which splits before capitals and keeps quoted or
//!    parenthesised multi-sentence passages (`“We will win. We will never
//!    surrender,” he said.`) together.
//!
//! # Robustness and cost
//!
//! The work is linear in the input: lines are split in one pass, each
//! candidate looks at a bounded neighbourhood, and char offsets are computed
//! with a cursor that only moves forward. Lines without any `.`, `!`, `?` or
//! non-ASCII character skip sentencex altogether. Should sentencex ever panic
//! on some input, the panic is caught and that line is split by the rules
//! above alone (every run followed by whitespace is proposed, and the rules
//! veto as usual); the default panic hook may still print a message. A line
//! longer than 16 KiB (never a real paragraph) is handed to sentencex in
//! pieces of about 8 KiB cut after a run followed by whitespace, because
//! sentencex is superlinear on some inputs (many unbalanced opening quotes);
//! at each piece edge the rules decide alone.
//!
//! # Known limitations
//!
//! - A single capital letter or an ambiguous abbreviation that really ends a
//!   sentence before a capitalised name stays attached (`…known as Plan B.
//!   Smith said…` is one sentence).
//! - After `!”`/`?”`, a capitalised name followed by a reporting verb is read
//!   as attribution even when it starts a new sentence.
//! - A sentence that continues across a line break (hard-wrapped text) is cut
//!   at the line break, by design.
//! - The abbreviation, opener, news-noun and reporting-verb lists are short
//!   closed lists tuned for English wire copy, not a full lexicon.

use serde::Serialize;

/// One sentence of an article.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sentence {
    /// Offset of the first character, counted in Unicode scalar values (chars) from the start of the input.
    pub start: usize,
    /// Offset one past the last character, in chars.
    pub end: usize,
    /// The sentence text, trimmed of surrounding whitespace: equals the input's chars[start..end].
    pub text: String,
}

/// Split `text` into sentences (see module docs for the rules).
///
/// Sentences come in input order, never overlap and are never empty. The
/// function never panics.
pub fn split_sentences(text: &str) -> Vec<Sentence> {
    let mut out = Vec::new();
    let mut cursor = CharCursor::default();
    let mut line_start = 0;
    for (i, c) in text.char_indices() {
        if is_line_break(c) {
            split_line(text, line_start, i, &mut cursor, &mut out);
            line_start = i + c.len_utf8();
        }
    }
    split_line(text, line_start, text.len(), &mut cursor, &mut out);
    out
}

/// Converts increasing byte offsets into char offsets without recounting
/// from the start of the input.
#[derive(Default)]
struct CharCursor {
    byte: usize,
    chars: usize,
}

impl CharCursor {
    /// Char offset of byte offset `byte`, which must be a char boundary.
    fn char_offset(&mut self, text: &str, byte: usize) -> usize {
        if byte < self.byte {
            // Offsets only ever grow; recount defensively if they do not.
            self.byte = 0;
            self.chars = 0;
        }
        let step = text.get(self.byte..byte).map_or(0, |s| s.chars().count());
        self.byte = byte;
        self.chars += step;
        self.chars
    }
}

fn is_line_break(c: char) -> bool {
    matches!(
        c,
        '\n' | '\r' | '\u{0B}' | '\u{0C}' | '\u{85}' | '\u{2028}' | '\u{2029}'
    )
}

/// Characters trimmed from both ends of a sentence.
fn is_trim(c: char) -> bool {
    c.is_whitespace() || c == '\u{FEFF}' || c == '\u{200B}'
}

fn is_terminator(c: char) -> bool {
    matches!(
        c,
        '.' | '!'
            | '?'
            | '…'
            | '‼'
            | '⁇'
            | '⁈'
            | '⁉'
            | '。'
            | '｡'
            | '？'
            | '！'
            | '؟'
            | '۔'
            | '।'
            | '॥'
    )
}

/// Closing quotes and brackets that may follow a sentence's final punctuation.
fn is_closer(c: char) -> bool {
    matches!(
        c,
        '"' | '\'' | '”' | '’' | '»' | '›' | ')' | ']' | '」' | '』' | '）'
    )
}

/// Opening quotes and brackets that may precede a sentence's first word.
fn is_opener(c: char) -> bool {
    matches!(
        c,
        '"' | '\''
            | '“'
            | '‘'
            | '„'
            | '‚'
            | '«'
            | '‹'
            | '('
            | '['
            | '¿'
            | '¡'
            | '「'
            | '『'
            | '（'
    )
}

/// Split one line (`text[start..end]`, without its line break) and push its
/// sentences onto `out`.
fn split_line(
    text: &str,
    start: usize,
    end: usize,
    cursor: &mut CharCursor,
    out: &mut Vec<Sentence>,
) {
    let Some(line) = text.get(start..end) else {
        return;
    };
    if line.trim_matches(is_trim).is_empty() {
        return;
    }
    let mut cuts = line_cut_points(line);
    cuts.push(line.len());
    let mut prev = 0;
    for cut in cuts {
        let Some(segment) = line.get(prev..cut) else {
            continue;
        };
        let trimmed = segment.trim_matches(is_trim);
        if !trimmed.is_empty() {
            let lead = segment.len() - segment.trim_start_matches(is_trim).len();
            let byte_start = start + prev + lead;
            let byte_end = byte_start + trimmed.len();
            let char_start = cursor.char_offset(text, byte_start);
            let char_end = cursor.char_offset(text, byte_end);
            out.push(Sentence {
                start: char_start,
                end: char_end,
                text: trimmed.to_owned(),
            });
        }
        prev = cut;
    }
}

/// A place inside a line where a sentence may end.
#[derive(Debug)]
struct Candidate {
    /// Byte offset of the first terminator of the run.
    run_start: usize,
    /// Byte offset just past the run and any closing quotes/brackets: the
    /// end of the sentence if this candidate is a boundary.
    end: usize,
    /// Byte offset of the next non-whitespace character (`== end` when the
    /// run is glued to the following text).
    next: usize,
    /// The run is exactly one `.` with no closer.
    single_period: bool,
    /// The run contains at least one `.` or `…`.
    has_period: bool,
    /// The run is an ellipsis (`…`, two or more dots, spaced dots).
    ellipsis: bool,
    /// A closing quote or bracket follows the terminators.
    closer: bool,
    /// sentencex put a boundary inside this candidate.
    sentencex_split: bool,
}

#[derive(Debug, PartialEq, Eq)]
enum Decision {
    Split,
    NoSplit,
    Defer,
}

/// Lines longer than this are handed to sentencex in pieces.
const SENTENCEX_MAX_INPUT: usize = 16 * 1024;
/// Target size of one piece of a long line.
const SENTENCEX_PIECE: usize = 8 * 1024;

/// Byte offsets (sorted, unique, inside the line) where the line is cut.
fn line_cut_points(line: &str) -> Vec<usize> {
    let worth_a_look = line
        .bytes()
        .any(|b| matches!(b, b'.' | b'!' | b'?') || b >= 0x80);
    if !worth_a_look {
        return Vec::new();
    }
    let mut candidates = scan_candidates(line);
    let mut urls = UrlCache::default();
    let mut cuts = Vec::new();
    for (piece_start, piece_end) in sentencex_pieces(line.len(), &candidates) {
        let Some(piece) = line.get(piece_start..piece_end) else {
            continue;
        };
        // Candidates that lie in this piece (the one whose `next` is the piece
        // start belongs to the previous piece, where it is the last run).
        let first = candidates.partition_point(|c| c.next <= piece_start);
        let last = candidates.partition_point(|c| c.next <= piece_end);
        let in_piece = &mut candidates[first..last];
        match sentencex_boundaries(piece) {
            Some(ends) => {
                // Both lists are sorted; attach each sentencex boundary to the
                // candidate whose run contains it, keep the others as cuts.
                let mut ci = 0;
                for s in ends.into_iter().map(|e| piece_start + e) {
                    while ci < in_piece.len() && in_piece[ci].end < s {
                        ci += 1;
                    }
                    match in_piece.get_mut(ci) {
                        Some(c) if c.run_start < s => c.sentencex_split = true,
                        _ => {
                            if keep_uncovered_boundary(line, s, &mut urls) {
                                cuts.push(s);
                            }
                        }
                    }
                }
            }
            None => {
                // sentencex panicked: propose every run followed by
                // whitespace and let the rules veto.
                for c in in_piece.iter_mut() {
                    c.sentencex_split = c.next > c.end;
                }
            }
        }
        // The run that ends a piece is at the end of sentencex's input, so
        // sentencex said nothing about it: propose a boundary and let the
        // rules veto it.
        if piece_end < line.len() {
            if let Some(c) = in_piece.last_mut() {
                c.sentencex_split = true;
            }
        }
    }
    for c in &candidates {
        let split = match decide(line, c, &mut urls) {
            Decision::Split => true,
            Decision::NoSplit => false,
            Decision::Defer => c.sentencex_split,
        };
        if split {
            cuts.push(c.end);
        }
    }
    cuts.sort_unstable();
    cuts.dedup();
    cuts.retain(|&c| c > 0 && c < line.len());
    cuts
}

/// Byte ranges of a line to hand to sentencex one at a time. Short lines (all
/// real paragraphs) go whole; a very long line is cut after the first
/// candidate followed by whitespace past every `SENTENCEX_PIECE` bytes. This
/// bounds sentencex's cost, which is superlinear on some inputs (many
/// unbalanced opening quotes on one line).
fn sentencex_pieces(len: usize, candidates: &[Candidate]) -> Vec<(usize, usize)> {
    if len <= SENTENCEX_MAX_INPUT {
        return vec![(0, len)];
    }
    let mut pieces = Vec::new();
    let mut start = 0;
    for c in candidates {
        // Cut only where whitespace follows the run, never inside a token.
        if c.next > c.end && c.next - start >= SENTENCEX_PIECE {
            pieces.push((start, c.next));
            start = c.next;
        }
    }
    pieces.push((start, len));
    pieces
}

/// Ends (trimmed, in bytes) of the sentences sentencex finds in `text`, except
/// the last one. `None` if sentencex panicked.
fn sentencex_boundaries(text: &str) -> Option<Vec<usize>> {
    let ends = std::panic::catch_unwind(|| {
        sentencex::get_sentence_boundaries("en", text)
            .iter()
            .filter(|b| !b.is_paragraph_break)
            .map(|b| b.start_byte.saturating_add(b.text.trim_end().len()))
            .collect::<Vec<usize>>()
    })
    .ok()?;
    let mut ends: Vec<usize> = ends
        .into_iter()
        .filter(|&e| {
            e > 0
                && text.is_char_boundary(e)
                && text
                    .get(e..)
                    .is_some_and(|rest| !rest.trim_start_matches(is_trim).is_empty())
        })
        .collect();
    ends.sort_unstable();
    ends.dedup();
    Some(ends)
}

/// Whether a sentencex boundary that is not at one of our candidates is kept.
fn keep_uncovered_boundary(line: &str, at: usize, urls: &mut UrlCache) -> bool {
    let rest = line.get(at..).unwrap_or("");
    let glued = !rest.starts_with(char::is_whitespace);
    if glued && urls.is_url_like(line, at) {
        return false;
    }
    let next = rest.trim_start().trim_start_matches(is_opener);
    !next.starts_with(char::is_lowercase)
}

/// Find every terminator run (plus closers) that is followed by more text.
fn scan_candidates(line: &str) -> Vec<Candidate> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(c) = line.get(i..).and_then(|s| s.chars().next()) {
        if !is_terminator(c) {
            i += c.len_utf8();
            continue;
        }
        let run_start = i;
        let mut j = i;
        let mut dots = 0usize;
        let mut terminators = 0usize;
        let mut has_ellipsis_char = false;
        let mut closer = false;
        while let Some(d) = line.get(j..).and_then(|s| s.chars().next()) {
            if is_terminator(d) {
                terminators += 1;
                match d {
                    '.' => dots += 1,
                    '…' => has_ellipsis_char = true,
                    _ => {}
                }
                j += d.len_utf8();
            } else if is_closer(d) {
                closer = true;
                j += d.len_utf8();
            } else if matches!(d, ' ' | '\t') && !closer && dots == terminators {
                // Spaced ellipsis: `. . .`
                let after = line.get(j..).unwrap_or("");
                let rest = after.trim_start_matches([' ', '\t']);
                if rest.starts_with('.') {
                    j += after.len() - rest.len();
                } else {
                    break;
                }
            } else {
                break;
            }
        }
        let end = j;
        let after = line.get(end..).unwrap_or("");
        let next = end + (after.len() - after.trim_start().len());
        if next < line.len() {
            out.push(Candidate {
                run_start,
                end,
                next,
                single_period: dots == 1 && terminators == 1 && !closer,
                has_period: dots > 0 || has_ellipsis_char,
                ellipsis: has_ellipsis_char || dots >= 2,
                closer,
                sentencex_split: false,
            });
        }
        i = end.max(i + c.len_utf8());
    }
    out
}

/// The news rules: confirm, veto or defer a boundary at `c`.
fn decide(line: &str, c: &Candidate, urls: &mut UrlCache) -> Decision {
    if c.next == c.end {
        // Glued to the next character: `3.5`, `www.un.org`, `a@b.org`, and
        // the inner periods of initialisms such as `R-S.C.`.
        let rest = line.get(c.end..).unwrap_or("");
        let mut chars = rest.chars();
        let initialism = matches!(
            (chars.next(), chars.next()),
            (Some(letter), Some('.')) if letter.is_alphabetic()
        );
        return if initialism || urls.is_url_like(line, c.end) {
            Decision::NoSplit
        } else {
            Decision::Defer
        };
    }
    let next = line
        .get(c.next..)
        .unwrap_or("")
        .trim_start_matches(is_opener);
    let Some(first) = next.chars().next() else {
        return Decision::Defer;
    };
    if first.is_lowercase() {
        return Decision::NoSplit;
    }
    let capitalised = first.is_uppercase();
    let word = leading_word(next);

    if c.closer {
        if !capitalised {
            return Decision::Defer;
        }
        if c.has_period || is_opener_word(word, next) || is_news_noun(word) {
            return Decision::Split;
        }
        // `!”` / `?”` before a capitalised word: attribution or a new sentence.
        return if reporting_verb_follows(next) {
            Decision::NoSplit
        } else {
            Decision::Split
        };
    }

    if c.single_period {
        // `R-S.C.`, `ex-Gov.`: the abbreviation is what follows the hyphen.
        let token = token_before(line, c.run_start);
        let token = token.rsplit('-').next().unwrap_or(token);
        if is_title(token) {
            return Decision::NoSplit;
        }
        if is_ambiguous_abbreviation(token) {
            if !capitalised {
                return Decision::Defer;
            }
            return if is_opener_word(word, next) || is_news_noun(word) {
                Decision::Split
            } else {
                Decision::NoSplit
            };
        }
        return Decision::Defer;
    }

    if c.ellipsis && capitalised {
        let pronoun_i = word == "I"
            && !next[word.len()..].starts_with(|ch: char| ch == '.' || ch.is_alphanumeric());
        return if pronoun_i {
            Decision::NoSplit
        } else {
            Decision::Split
        };
    }
    Decision::Defer
}

/// The leading run of letters of `s`.
fn leading_word(s: &str) -> &str {
    let len = s
        .char_indices()
        .find(|&(_, ch)| !ch.is_alphabetic())
        .map_or(s.len(), |(i, _)| i);
    &s[..len]
}

/// The word just before byte `at` (back to the previous whitespace), without
/// leading opening quotes or brackets.
fn token_before(line: &str, at: usize) -> &str {
    let head = line.get(..at).unwrap_or("");
    let start = head
        .char_indices()
        .rev()
        .find(|&(_, ch)| ch.is_whitespace())
        .map_or(0, |(i, ch)| i + ch.len_utf8());
    head[start..].trim_start_matches(is_opener)
}

/// Answers "does the whitespace-delimited token around this byte look like a
/// URL, a path or an email address?", remembering the last token so that the
/// many glued runs of one long token (`a.b.c.d…`) cost one scan in all.
#[derive(Default)]
struct UrlCache {
    /// Byte range of the last token looked at, and the answer for it.
    last: Option<(usize, usize, bool)>,
}

impl UrlCache {
    fn is_url_like(&mut self, line: &str, at: usize) -> bool {
        if let Some((start, end, answer)) = self.last {
            if start < at && at < end {
                return answer;
            }
        }
        let (Some(head), Some(tail)) = (line.get(..at), line.get(at..)) else {
            return false;
        };
        let start = head
            .char_indices()
            .rev()
            .find(|&(_, ch)| ch.is_whitespace())
            .map_or(0, |(i, ch)| i + ch.len_utf8());
        let end = at + tail.find(char::is_whitespace).unwrap_or(tail.len());
        let token = line.get(start..end).unwrap_or("");
        let answer = token.contains(['/', '@']) || token.contains("www.") || token.contains("WWW.");
        self.last = Some((start, end, answer));
        answer
    }
}

/// `word` is in `list`, exactly or as an all-capitals variant (`GEN`).
fn listed(list: &[&str], word: &str) -> bool {
    if word.is_empty() {
        return false;
    }
    let all_caps = word.chars().all(|ch| !ch.is_lowercase());
    list.iter()
        .any(|w| *w == word || (all_caps && w.eq_ignore_ascii_case(word)))
}

/// Abbreviations that always precede a name or another noun, never a sentence end.
fn is_title(token: &str) -> bool {
    const TITLES: &[&str] = &[
        "Mr", "Mrs", "Ms", "Mx", "Messrs", "Mmes", "Dr", "Drs", "Prof", "Gen", "Gens", "Lt", "Col",
        "Sgt", "Capt", "Cmdr", "Maj", "Adm", "Brig", "Cpl", "Pvt", "Pfc", "Spc", "Ens", "Gov",
        "Govs", "Sen", "Sens", "Rep", "Reps", "Rev", "Msgr", "Fr", "Atty", "Supt", "Insp", "Det",
        "Amb", "Pres", "Hon", "Ft", "Mt", "vs", "v",
    ];
    listed(TITLES, token)
}

/// Abbreviations that may end a sentence or sit inside one.
fn is_ambiguous_abbreviation(token: &str) -> bool {
    const AMBIGUOUS: &[&str] = &[
        // Companies, names, addresses, numbering, lists.
        "Inc", "Corp", "Ltd", "Co", "Cos", "Plc", "Bros", "Jr", "Sr", "St", "Ave", "Blvd", "Rd",
        "No", "Nos", "etc", // Months as abbreviated in wire copy.
        "Jan", "Feb", "Apr", "Aug", "Sep", "Sept", "Oct", "Nov", "Dec",
        // U.S. states (AP style) that are not also common words.
        "Ala", "Ariz", "Ark", "Calif", "Colo", "Conn", "Del", "Fla", "Ga", "Ill", "Ind", "Kan",
        "Kans", "Ky", "La", "Md", "Mich", "Minn", "Mo", "Mont", "Neb", "Nev", "Okla", "Ore", "Pa",
        "Tenn", "Tex", "Vt", "Va", "Wash", "Wis", "Wyo", "W.Va",
    ];
    is_initial(token) || is_dotted_initialism(token) || listed(AMBIGUOUS, token)
}

/// A single capital letter: `W` in `George W. Bush`.
fn is_initial(token: &str) -> bool {
    let mut chars = token.chars();
    matches!((chars.next(), chars.next()), (Some(ch), None) if ch.is_uppercase())
}

/// Single letters joined by dots (the final dot excluded): `U.S`, `a.m`, `J.R.R`.
fn is_dotted_initialism(token: &str) -> bool {
    let mut parts = 0;
    for part in token.split('.') {
        let mut chars = part.chars();
        match (chars.next(), chars.next()) {
            (Some(ch), None) if ch.is_alphabetic() => parts += 1,
            _ => return false,
        }
    }
    parts >= 2
}

/// Closed-class words (and a few adverbs) that open many news sentences and
/// hardly ever continue a name. `word` must not itself be followed by a
/// period (the initial `A.`, the abbreviation `No.`).
fn is_opener_word(word: &str, next: &str) -> bool {
    const OPENERS: &[&str] = &[
        "The",
        "A",
        "An",
        "He",
        "She",
        "It",
        "They",
        "We",
        "I",
        "You",
        "His",
        "Her",
        "Its",
        "Their",
        "Our",
        "My",
        "Your",
        "This",
        "That",
        "These",
        "Those",
        "There",
        "Here",
        "But",
        "And",
        "Or",
        "So",
        "Yet",
        "Nor",
        "However",
        "Meanwhile",
        "Still",
        "Also",
        "Instead",
        "Then",
        "Now",
        "Thus",
        "Moreover",
        "Furthermore",
        "Nonetheless",
        "Nevertheless",
        "Indeed",
        "In",
        "On",
        "At",
        "After",
        "Before",
        "During",
        "Since",
        "Until",
        "While",
        "When",
        "Where",
        "What",
        "Why",
        "How",
        "Who",
        "Which",
        "If",
        "As",
        "Although",
        "Though",
        "Because",
        "Despite",
        "Among",
        "Under",
        "Over",
        "With",
        "Without",
        "For",
        "From",
        "By",
        "According",
        "Asked",
        "Earlier",
        "Later",
        "Last",
        "Some",
        "Many",
        "Most",
        "All",
        "Both",
        "Each",
        "Every",
        "Several",
        "Few",
        "Other",
        "Others",
        "Such",
        "No",
        "Not",
        "None",
        "Neither",
        "Either",
        "Today",
        "Yesterday",
        "Tomorrow",
        "Once",
        "Only",
        "Even",
        "Separately",
        "Elsewhere",
        "Overall",
    ];
    !next[word.len()..].starts_with('.') && OPENERS.contains(&word)
}

/// Plural nouns that open many wire sentences but rarely follow `U.S.`,
/// `Inc.` or `a.m.` inside a name.
fn is_news_noun(word: &str) -> bool {
    const NOUNS: &[&str] = &[
        "Officials",
        "Authorities",
        "Police",
        "Witnesses",
        "Residents",
        "Troops",
        "Soldiers",
        "Analysts",
        "Rescuers",
        "Protesters",
        "Demonstrators",
        "Lawmakers",
        "Diplomats",
        "Investigators",
        "Prosecutors",
        "Militants",
        "Rebels",
        "Civilians",
        "Shares",
        "Prices",
        "Critics",
        "Experts",
        "Doctors",
    ];
    NOUNS.contains(&word)
}

/// A reporting verb within the next four words: `Lavrov asked`, `Gen. Hassan told`.
fn reporting_verb_follows(next: &str) -> bool {
    const VERBS: &[&str] = &[
        "said",
        "says",
        "asked",
        "asks",
        "told",
        "tells",
        "added",
        "adds",
        "shouted",
        "cried",
        "wrote",
        "writes",
        "tweeted",
        "posted",
        "declared",
        "insisted",
        "replied",
        "warned",
        "stated",
        "yelled",
        "screamed",
        "chanted",
        "demanded",
        "explained",
        "noted",
        "recalled",
        "answered",
        "exclaimed",
        "urged",
        "pleaded",
    ];
    next.split_whitespace().take(4).any(|w| {
        let w = w.trim_matches(|ch: char| !ch.is_alphabetic());
        VERBS.iter().any(|v| v.eq_ignore_ascii_case(w))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(input: &str) -> Vec<String> {
        split_sentences(input).into_iter().map(|s| s.text).collect()
    }

    /// Checks every documented invariant of the output for `input`.
    fn assert_invariants(input: &str) {
        let sentences = split_sentences(input);
        let chars: Vec<char> = input.chars().collect();
        let mut prev_end = 0;
        for s in &sentences {
            assert!(s.start < s.end, "empty sentence {s:?} in {input:?}");
            assert!(s.start >= prev_end, "overlap or disorder at {s:?}");
            assert!(s.end <= chars.len(), "out of range {s:?}");
            let slice: String = chars[s.start..s.end].iter().collect();
            assert_eq!(slice, s.text, "offsets do not match text");
            if chars.len() < 10_000 {
                // The documented contract, checked literally on small inputs
                // (it is quadratic over many sentences).
                let via_iter: String = input.chars().skip(s.start).take(s.end - s.start).collect();
                assert_eq!(via_iter, s.text);
            }
            assert_eq!(s.text, s.text.trim_matches(is_trim), "not trimmed: {s:?}");
            assert!(!s.text.contains(is_line_break), "line break inside {s:?}");
            prev_end = s.end;
        }
    }

    /// (behaviour, input, expected sentence texts)
    const CASES: &[(&str, &str, &[&str])] = &[
        (
            "plain sentences split at periods",
            "Russian forces shelled the city overnight. At least 12 civilians were killed.",
            &[
                "Russian forces shelled the city overnight.",
                "At least 12 civilians were killed.",
            ],
        ),
        (
            "question and exclamation marks end sentences",
            "Is this the end of the ceasefire? Analysts doubt it. The fighting goes on!",
            &[
                "Is this the end of the ceasefire?",
                "Analysts doubt it.",
                "The fighting goes on!",
            ],
        ),
        (
            "U.S. before a name-like capital stays inside",
            "The U.S. Embassy in Kyiv said it was monitoring the situation.",
            &["The U.S. Embassy in Kyiv said it was monitoring the situation."],
        ),
        (
            "U.S. before a sentence opener ends the sentence",
            "Sanctions were imposed by the U.S. The measures take effect on Monday.",
            &[
                "Sanctions were imposed by the U.S.",
                "The measures take effect on Monday.",
            ],
        ),
        (
            "U.S. before a plural news noun ends the sentence",
            "The strikes were carried out by the U.S. Officials said more would follow.",
            &[
                "The strikes were carried out by the U.S.",
                "Officials said more would follow.",
            ],
        ),
        (
            "U.S. President stays together",
            "U.S. President Joe Biden spoke with U.K. Prime Minister Rishi Sunak.",
            &["U.S. President Joe Biden spoke with U.K. Prime Minister Rishi Sunak."],
        ),
        (
            "U.N. at the end of a sentence before a pronoun",
            "He is the No. 2 official at the U.N. He declined to comment.",
            &["He is the No. 2 official at the U.N.", "He declined to comment."],
        ),
        (
            "military and political titles never end a sentence",
            "Lt. Col. Ahmed Saleh and Capt. Jones were killed. Sgt. First Class Ray survived.",
            &[
                "Lt. Col. Ahmed Saleh and Capt. Jones were killed.",
                "Sgt. First Class Ray survived.",
            ],
        ),
        (
            "courtesy titles never end a sentence",
            "Mrs. Clinton met Ms. Rice and Dr. Tedros in Geneva.",
            &["Mrs. Clinton met Ms. Rice and Dr. Tedros in Geneva."],
        ),
        (
            "Gen., Sen., Gov., Rep., Rev. and St. inside one sentence",
            "Gen. Mark Milley, Sen. Jack Reed, Gov. Gavin Newsom, Rep. Adam Smith and Rev. Al Sharpton met in St. Louis.",
            &["Gen. Mark Milley, Sen. Jack Reed, Gov. Gavin Newsom, Rep. Adam Smith and Rev. Al Sharpton met in St. Louis."],
        ),
        (
            "abbreviated months before dates",
            "The truce agreed on Jan. 12 collapsed by Feb. 3, and talks resumed on Sept. 9.",
            &["The truce agreed on Jan. 12 collapsed by Feb. 3, and talks resumed on Sept. 9."],
        ),
        (
            "abbreviated month at the end of a sentence",
            "Prices rose in Aug. The central bank said inflation was easing.",
            &[
                "Prices rose in Aug.",
                "The central bank said inflation was easing.",
            ],
        ),
        (
            "company suffix before a verb stays inside",
            "Shares of Acme Corp. fell 3 percent after Globex Inc. said it would sue.",
            &["Shares of Acme Corp. fell 3 percent after Globex Inc. said it would sue."],
        ),
        (
            "company suffix at the end of a sentence",
            "The drones were made by Acme Ltd. The company declined to comment.",
            &[
                "The drones were made by Acme Ltd.",
                "The company declined to comment.",
            ],
        ),
        (
            "company suffix before a job title stays inside",
            "Exxon Mobil Corp. Chief Executive Darren Woods said output would grow.",
            &["Exxon Mobil Corp. Chief Executive Darren Woods said output would grow."],
        ),
        (
            "No. before a number",
            "No. 10 Downing Street said the prime minister would travel to Kyiv.",
            &["No. 10 Downing Street said the prime minister would travel to Kyiv."],
        ),
        (
            "vs. and v. never end a sentence",
            "The case, Ukraine v. Russia, follows Georgia vs. Russia. Judges will rule in June.",
            &[
                "The case, Ukraine v. Russia, follows Georgia vs. Russia.",
                "Judges will rule in June.",
            ],
        ),
        (
            "etc. mid-sentence",
            "Food, water, medicine, etc. were blocked at the border for weeks.",
            &["Food, water, medicine, etc. were blocked at the border for weeks."],
        ),
        (
            "etc. at the end of a sentence",
            "Convoys carried food, fuel, etc. The border stayed open overnight.",
            &[
                "Convoys carried food, fuel, etc.",
                "The border stayed open overnight.",
            ],
        ),
        (
            "middle initial",
            "Former President George W. Bush condemned the invasion.",
            &["Former President George W. Bush condemned the invasion."],
        ),
        (
            "spaced and unspaced initials",
            "J. R. R. Tolkien and J.R.R. Tolkien fans gathered. The event was peaceful.",
            &[
                "J. R. R. Tolkien and J.R.R. Tolkien fans gathered.",
                "The event was peaceful.",
            ],
        ),
        (
            "decimals and money",
            "Inflation rose 3.5 percent, and the fund lost $1.2 billion. Markets fell 0.8%.",
            &[
                "Inflation rose 3.5 percent, and the fund lost $1.2 billion.",
                "Markets fell 0.8%.",
            ],
        ),
        (
            "a.m. before a lowercase word",
            "The first shell hit at 10:30 a.m. on Tuesday, witnesses said.",
            &["The first shell hit at 10:30 a.m. on Tuesday, witnesses said."],
        ),
        (
            "a.m. before a day name stays inside",
            "The convoy left at 10 a.m. Tuesday, officials said.",
            &["The convoy left at 10 a.m. Tuesday, officials said."],
        ),
        (
            "a.m. at the end of a sentence before an opener",
            "The convoy left at 10:30 a.m. The shelling began an hour later.",
            &[
                "The convoy left at 10:30 a.m.",
                "The shelling began an hour later.",
            ],
        ),
        (
            "p.m. at the end of a sentence before a news noun",
            "The curfew starts at 9 p.m. Residents were told to stay indoors.",
            &[
                "The curfew starts at 9 p.m.",
                "Residents were told to stay indoors.",
            ],
        ),
        (
            "ellipsis before a lowercase word continues",
            "The talks collapsed … and nobody knows what comes next.",
            &["The talks collapsed … and nobody knows what comes next."],
        ),
        (
            "ellipsis character before a capital ends the sentence",
            "The talks collapsed… Nobody knows what comes next.",
            &["The talks collapsed…", "Nobody knows what comes next."],
        ),
        (
            "three dots before a capital ends the sentence",
            "The talks collapsed... Nobody knows what comes next.",
            &["The talks collapsed...", "Nobody knows what comes next."],
        ),
        (
            "quote then attribution",
            "“The next months are critical,” said an official.",
            &["“The next months are critical,” said an official."],
        ),
        (
            "quoted sentence ends after the closing quote",
            "He said: “We will win.” Then he left.",
            &["He said: “We will win.”", "Then he left."],
        ),
        (
            "straight quotes behave like curly quotes",
            "He said: \"We will win.\" Then he left for the front.",
            &["He said: \"We will win.\"", "Then he left for the front."],
        ),
        (
            "multi-sentence quote with attribution stays whole",
            "“We will win. We will never surrender,” the commander told troops.",
            &["“We will win. We will never surrender,” the commander told troops."],
        ),
        (
            "question in quotes followed by name and reporting verb",
            "“Why now?” Lavrov asked. The room fell silent.",
            &["“Why now?” Lavrov asked.", "The room fell silent."],
        ),
        (
            "exclamation in quotes followed by lowercase attribution",
            "“It is a massacre!” she cried. “Where is the world?”",
            &["“It is a massacre!” she cried.", "“Where is the world?”"],
        ),
        (
            "question in quotes followed by an opener",
            "“Who will rebuild the city?” The question hung over the summit.",
            &[
                "“Who will rebuild the city?”",
                "The question hung over the summit.",
            ],
        ),
        (
            "new quoted sentence after a question",
            "Is it over? “No,” the minister said.",
            &["Is it over?", "“No,” the minister said."],
        ),
        (
            "parenthetical sentence then a new sentence",
            "(The toll could not be independently verified.) Officials said 12 people died.",
            &[
                "(The toll could not be independently verified.)",
                "Officials said 12 people died.",
            ],
        ),
        (
            "period inside parentheses mid-sentence",
            "The shelling, which began at dawn (around 5 a.m.), continued until noon.",
            &["The shelling, which began at dawn (around 5 a.m.), continued until noon."],
        ),
        (
            "URLs and emails are not split",
            "Details are at www.un.org/en/News.Story and press@un.org. Call the hotline.",
            &[
                "Details are at www.un.org/en/News.Story and press@un.org.",
                "Call the hotline.",
            ],
        ),
        (
            "URL with a scheme at a sentence end",
            "The full report is at https://example.org/Reports/Gaza.Html. It runs to 40 pages.",
            &[
                "The full report is at https://example.org/Reports/Gaza.Html.",
                "It runs to 40 pages.",
            ],
        ),
        (
            "numbered items before lowercase words stay together",
            "The demands were: 1. withdraw 2. pay reparations. The talks ended.",
            &[
                "The demands were: 1. withdraw 2. pay reparations.",
                "The talks ended.",
            ],
        ),
        (
            "Washington, D.C. before an opener",
            "He flew to Washington, D.C. He met the president on Friday.",
            &[
                "He flew to Washington, D.C.",
                "He met the president on Friday.",
            ],
        ),
        (
            "dateline and casualty report",
            "KYIV, Ukraine (AP) — A missile hit a hospital. Four doctors were wounded.",
            &[
                "KYIV, Ukraine (AP) — A missile hit a hospital.",
                "Four doctors were wounded.",
            ],
        ),
        (
            "headline line without a period stands alone",
            "UN Security Council fails to agree on Gaza truce\nThe vote was 10-4 with one abstention.",
            &[
                "UN Security Council fails to agree on Gaza truce",
                "The vote was 10-4 with one abstention.",
            ],
        ),
        (
            "party-state affiliation with glued initials",
            "He met Sen. Lindsey Graham, R-S.C. Graham said the aid would pass. The vote is Friday.",
            &[
                "He met Sen. Lindsey Graham, R-S.C. Graham said the aid would pass.",
                "The vote is Friday.",
            ],
        ),
        (
            "exclamation in quotes followed by a capitalised news noun",
            "“Stop the war!” Protesters chanted outside the embassy for hours.",
            &["“Stop the war!”", "Protesters chanted outside the embassy for hours."],
        ),
        (
            "p.m. before a time zone stays inside",
            "The U.N. Security Council will meet at 3 p.m. EDT on Friday.",
            &["The U.N. Security Council will meet at 3 p.m. EDT on Friday."],
        ),
        (
            "exclamation in quotes followed by a name and reporting verb",
            "“Enough!” Gen. Hassan told reporters in Khartoum.",
            &["“Enough!” Gen. Hassan told reporters in Khartoum."],
        ),
        (
            "U.S. before a numbered rank stays inside",
            "He met the U.S. No. 2 diplomat in Doha. Talks went on.",
            &["He met the U.S. No. 2 diplomat in Doha.", "Talks went on."],
        ),
        (
            "accented names and curly quotes",
            "Mr. Müller met José Martí in Zürich. “Peace is near,” Müller said.",
            &[
                "Mr. Müller met José Martí in Zürich.",
                "“Peace is near,” Müller said.",
            ],
        ),
    ];

    #[test]
    fn news_lines_split_as_expected() {
        assert!(CASES.len() >= 35);
        let mut failures = Vec::new();
        for (behaviour, input, expected) in CASES {
            let got = texts(input);
            if got != *expected {
                failures.push(format!(
                    "{behaviour}\n  input:    {input:?}\n  expected: {expected:?}\n  got:      {got:?}"
                ));
            }
            assert_invariants(input);
        }
        assert!(
            failures.is_empty(),
            "{} case(s) failed:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }

    #[test]
    fn quote_then_attribution_is_one_sentence() {
        assert_eq!(
            texts("“The next months are critical,” said an official."),
            ["“The next months are critical,” said an official."]
        );
        assert_eq!(
            texts("“We are ready!” the general said."),
            ["“We are ready!” the general said."]
        );
    }

    #[test]
    fn quoted_sentence_then_new_sentence_splits_after_closing_quote() {
        let got = split_sentences("He said: “We will win.” Then he left.");
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].text, "He said: “We will win.”");
        assert_eq!((got[0].start, got[0].end), (0, 23));
        assert_eq!(got[1].text, "Then he left.");
        assert_eq!((got[1].start, got[1].end), (24, 37));
    }

    #[test]
    fn offsets_count_chars_not_bytes_after_non_ascii_text() {
        let input = "“Ceasefire,” said Ms. Ødegård. Then Zoë Müller spoke. Peace 🕊 now!";
        let got = split_sentences(input);
        assert_eq!(
            got,
            vec![
                Sentence {
                    start: 0,
                    end: 30,
                    text: "“Ceasefire,” said Ms. Ødegård.".into()
                },
                Sentence {
                    start: 31,
                    end: 53,
                    text: "Then Zoë Müller spoke.".into()
                },
                Sentence {
                    start: 54,
                    end: 66,
                    text: "Peace 🕊 now!".into()
                },
            ]
        );
        assert_invariants(input);
    }

    #[test]
    fn offsets_skip_leading_whitespace_and_bom() {
        let input = "\u{FEFF}  Héllo wörld.\n\n   Second line here.  ";
        let got = split_sentences(input);
        assert_eq!(got.len(), 2);
        assert_eq!(
            got[0],
            Sentence {
                start: 3,
                end: 15,
                text: "Héllo wörld.".into()
            }
        );
        assert_eq!(
            got[1],
            Sentence {
                start: 20,
                end: 37,
                text: "Second line here.".into()
            }
        );
        assert_invariants(input);
    }

    #[test]
    fn crlf_line_endings_split_lines_and_are_not_in_text() {
        let input = "Gaza truce holds\r\nAid trucks entered on Sunday. More are due.\r\n\r\nThe U.N. welcomed it.\r\n";
        assert_eq!(
            texts(input),
            [
                "Gaza truce holds",
                "Aid trucks entered on Sunday.",
                "More are due.",
                "The U.N. welcomed it.",
            ]
        );
        assert_invariants(input);
        let lone_cr = "First line\rSecond line.";
        assert_eq!(texts(lone_cr), ["First line", "Second line."]);
    }

    #[test]
    fn blank_lines_are_paragraph_breaks_and_produce_nothing() {
        let input = "\n\n  \nFirst paragraph ends here.\n\n\t\n\nSecond paragraph.\n \n";
        assert_eq!(
            texts(input),
            ["First paragraph ends here.", "Second paragraph."]
        );
        assert_invariants(input);
    }

    #[test]
    fn every_line_break_ends_a_sentence() {
        let input = "Troops advanced toward the\nriver, officials said.";
        assert_eq!(
            texts(input),
            ["Troops advanced toward the", "river, officials said."]
        );
        let unicode = "One\u{2028}Two\u{2029}Three\u{85}Four";
        assert_eq!(texts(unicode), ["One", "Two", "Three", "Four"]);
    }

    #[test]
    fn headline_and_byline_lines_stand_alone() {
        let input = "Israel, Hamas agree to four-day pause in fighting\nBy Jane Doe, Associated Press\nJERUSALEM (AP) — Israel and Hamas agreed to a pause. It begins Thursday.";
        assert_eq!(
            texts(input),
            [
                "Israel, Hamas agree to four-day pause in fighting",
                "By Jane Doe, Associated Press",
                "JERUSALEM (AP) — Israel and Hamas agreed to a pause.",
                "It begins Thursday.",
            ]
        );
    }

    #[test]
    fn empty_and_whitespace_only_input_gives_no_sentences() {
        assert!(split_sentences("").is_empty());
        assert!(split_sentences("   \t ").is_empty());
        assert!(split_sentences("\r\n\r\n\n").is_empty());
        assert!(split_sentences("\u{FEFF}\u{200B} \u{A0}").is_empty());
    }

    #[test]
    fn does_not_panic_on_adversarial_input() {
        let long_no_punct = "war ".repeat(262_144);
        let long_periods = "U.S. a.m. Gen. No. 3.5 ... “x.” (y.) ".repeat(20_000);
        let long_glued = "a.".repeat(300_000);
        let inputs: Vec<String> = vec![
            String::new(),
            ".".into(),
            "...".into(),
            "?!?!?!".into(),
            ". . . . .".into(),
            "“".into(),
            "”.".into(),
            "\"".into(),
            "' . '".into(),
            "(((((.)))))".into(),
            ".”) ”) .”".into(),
            "\0".into(),
            "\0. \0. \0".into(),
            "🕊️🇺🇦. 👍🏽! 😀?".into(),
            "e\u{301}. A\u{300}\u{301}\u{302}. ̀.".into(),
            "قُتل ١٢ شخصاً. قال المسؤولون؟ نعم!".into(),
            "שלום. עולם! מה?".into(),
            "日本語です。中文文章。English. 한국어.".into(),
            "Mr.".into(),
            "U.S.".into(),
            "a.m. ".into(),
            "U.S. “".into(),
            "x. ( ".into(),
            "www.".into(),
            "@.@. /./".into(),
            "\u{FEFF}.\u{200B}.".into(),
            "\r\r\n\u{2028}.\u{85}!".into(),
            long_no_punct,
            long_periods,
            long_glued,
        ];
        for input in &inputs {
            assert_invariants(input);
        }
    }

    #[test]
    fn random_strings_from_tricky_alphabet_never_break_invariants() {
        const ALPHABET: &[&str] = &[
            "a", "Z", " ", ".", "!", "?", "…", "“", "”", "\"", "'", "’", "(", ")", "\n", "\r",
            "U.S.", "Mr.", "a.m.", "The", "é", "🕊", "\u{301}", "\0", "@", "/", "www.", "3", "\t",
            "。", "؟", "\u{FEFF}", "I",
        ];
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..3_000 {
            let len = (next() % 24) as usize;
            let input: String = (0..len)
                .map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize])
                .collect();
            assert_invariants(&input);
        }
    }

    #[test]
    fn long_article_without_punctuation_is_linear() {
        let input = "ceasefire talks continue ".repeat(40_000); // ~1 MB
        let start = std::time::Instant::now();
        let got = split_sentences(&input);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].start, 0);
        assert_eq!(got[0].end, input.trim_end().chars().count());
        assert!(start.elapsed().as_secs() < 5, "took {:?}", start.elapsed());
    }

    #[test]
    fn many_sentences_in_one_line_keep_offsets_consistent() {
        let unit = "Zoë said the U.S. would help. “We will,” he added. ";
        let input = unit.repeat(5_000);
        let got = split_sentences(&input);
        assert_eq!(got.len(), 10_000);
        let unit_chars = unit.chars().count();
        let last = &got[9_999];
        assert_eq!(last.text, "“We will,” he added.");
        assert_eq!(last.end, 5_000 * unit_chars - 1);
        assert_invariants(&input);
    }

    #[test]
    fn long_line_handled_in_pieces_splits_like_short_lines() {
        let unit = "Gen. Hassan said the U.S. Embassy closed at 5 p.m. Tuesday. “Why now?” Lavrov asked. Acme Inc. The end… ";
        let expected_unit = texts(unit);
        assert_eq!(expected_unit.len(), 4, "{expected_unit:?}");
        let input = unit.repeat(2_000); // ~220 KB on one line
        let got = texts(&input);
        assert_eq!(got.len(), 2_000 * expected_unit.len());
        for (i, chunk) in got.chunks(expected_unit.len()).enumerate() {
            assert_eq!(chunk, expected_unit.as_slice(), "repetition {i}");
        }
        assert_invariants(&input);
    }

    #[test]
    fn unbalanced_quotes_in_a_long_line_stay_fast() {
        let input = "“Shelling. Again. ".repeat(20_000); // ~400 KB on one line
        let start = std::time::Instant::now();
        let got = split_sentences(&input);
        assert!(start.elapsed().as_secs() < 10, "took {:?}", start.elapsed());
        assert!(!got.is_empty());
        assert_invariants(&input);
    }

    #[test]
    fn sentences_serialize_with_offsets_and_text() {
        fn assert_serialize<T: serde::Serialize>(_: &T) {}
        let s = &split_sentences("Talks resumed.")[0];
        assert_serialize(s);
        assert_eq!(
            s,
            &Sentence {
                start: 0,
                end: 14,
                text: "Talks resumed.".into()
            }
        );
    }
}
