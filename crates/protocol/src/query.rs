//! The words of a search query, as every store reads them: what a person types is never
//! syntax, and no character of it is an error.
//!
//! A query is split into words at white space and at every character that cannot be part of a
//! word in any index: controls (NUL among them: `SQLite`'s FTS5 reads a query as a C string,
//! PostgreSQL refuses NUL in text), format characters, separators and unassigned code points.
//! A word ending in `*` matches as a prefix when at least [`MIN_PREFIX_CHARS`] characters are
//! left before the star; a shorter one is a plain word (`a*` is `a`: a one-letter prefix
//! matches most of a history, and one query of them could keep a database busy for seconds).
//! Each store quotes the words in its own query language and drops its own quoting characters.
//!
//! [`Needle`] is how a text matches a word character by character, as a person reads it: the
//! chat marks matches in snippets and ranks results with it, and a history kept in memory
//! searches with it.

use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// The fewest characters a prefix match needs before its `*`.
pub const MIN_PREFIX_CHARS: usize = 2;

/// One word of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryWord {
    /// The word, without its `*`.
    pub text: String,
    /// Matches any word that starts with `text`.
    pub prefix: bool,
}

/// The words of a typed query, in order; empty when nothing in it can be searched for.
#[must_use]
pub fn query_words(typed: &str) -> Vec<QueryWord> {
    typed
        .split(breaks_words)
        .filter_map(|word| {
            let bare = word.trim_end_matches('*');
            if bare.is_empty() {
                return None;
            }
            let prefix = bare.len() < word.len() && bare.chars().count() >= MIN_PREFIX_CHARS;
            Some(QueryWord {
                text: bare.to_owned(),
                prefix,
            })
        })
        .collect()
}

/// A query word as texts are matched against it: folded, without quotes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Needle {
    chars: Vec<char>,
    prefix: bool,
}

impl Needle {
    /// The needles of a typed query (the words of [`query_words`] that hold a letter after
    /// quotes are dropped).
    #[must_use]
    pub fn all_of(typed: &str) -> Vec<Self> {
        query_words(typed)
            .into_iter()
            .filter_map(|word| {
                let chars: Vec<char> = fold(&word.text).into_iter().filter(|c| *c != '"').collect();
                (!chars.is_empty()).then_some(Self {
                    chars,
                    prefix: word.prefix,
                })
            })
            .collect()
    }

    /// Where it occurs in `folded` (a text [`fold`]ed) as a whole word (or a word's start,
    /// for a prefix, then up to that word's end), as `[start, end)` in characters.
    #[must_use]
    pub fn spans_in(&self, folded: &[char]) -> Vec<[usize; 2]> {
        let n = self.chars.len();
        let is_word = |c: char| c.is_alphanumeric();
        let mut found = Vec::new();
        let mut i = 0;
        while i + n <= folded.len() {
            let starts = i == 0 || !is_word(folded[i - 1]);
            let ends = self.prefix || i + n == folded.len() || !is_word(folded[i + n]);
            if starts && ends && folded[i..i + n] == self.chars[..] {
                let mut end = i + n;
                if self.prefix {
                    while end < folded.len() && is_word(folded[end]) {
                        end += 1;
                    }
                }
                found.push([i, end]);
                i = end;
            } else {
                i += 1;
            }
        }
        found
    }
}

/// A text as words are compared: each character lowercased, one for one (so positions in
/// the folded text are positions in the text).
#[must_use]
pub fn fold(text: &str) -> Vec<char> {
    text.chars()
        .map(|c| c.to_lowercase().next().unwrap_or(c))
        .collect()
}

/// Whether `text` holds every one of `needles`.
#[must_use]
pub fn holds_all(text: &str, needles: &[Needle]) -> bool {
    let folded = fold(text);
    needles.iter().all(|n| !n.spans_in(&folded).is_empty())
}

/// Whether `c` ends a word of a query.
fn breaks_words(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c.general_category(),
            GeneralCategory::Control
                | GeneralCategory::Format
                | GeneralCategory::LineSeparator
                | GeneralCategory::ParagraphSeparator
                | GeneralCategory::SpaceSeparator
                | GeneralCategory::Surrogate
                | GeneralCategory::Unassigned
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(typed: &str) -> Vec<String> {
        query_words(typed)
            .into_iter()
            .map(|w| format!("{}{}", w.text, if w.prefix { "*" } else { "" }))
            .collect()
    }

    #[test]
    fn words_split_at_spaces_and_at_what_no_index_holds() {
        assert_eq!(shown("deploy  friday"), ["deploy", "friday"]);
        assert_eq!(shown("ab\u{0}cd"), ["ab", "cd"]);
        assert_eq!(shown("\u{0}"), Vec::<String>::new());
        assert_eq!(shown("a\u{200b}b\u{2028}c\u{feff}"), ["a", "b", "c"]);
        assert_eq!(shown("  ** * "), Vec::<String>::new());
    }

    #[test]
    fn a_prefix_needs_two_characters() {
        assert_eq!(shown("dep* a* é* ép*"), ["dep*", "a", "é", "ép*"]);
        assert_eq!(shown("x** ab**"), ["x", "ab*"]);
    }

    #[test]
    fn needles_match_whole_words_and_the_starts_of_words() {
        let needles = Needle::all_of("Deploy fri*");
        let text = fold("We deploy on Friday, not redeploy.");
        assert_eq!(needles[0].spans_in(&text), [[3, 9]]);
        assert_eq!(needles[1].spans_in(&text), [[13, 19]]);
        assert!(holds_all("FRIDAY we DEPLOY", &needles));
        assert!(!holds_all("we redeploy on friday", &needles));
        assert!(Needle::all_of("\"\" *").is_empty());
    }

    #[test]
    fn syntax_of_any_store_stays_in_the_words() {
        // Quoting is each store's job; the words keep what was typed.
        assert_eq!(shown("a\"b OR NEAR( -x"), ["a\"b", "OR", "NEAR(", "-x"]);
        assert_eq!(shown("it's a:b"), ["it's", "a:b"]);
    }
}
