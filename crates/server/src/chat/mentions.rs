//! Mentions: `@name` in a message's text, where `name` is a member of the room.
//!
//! Names may hold single spaces (`@Ana María`), so after each `@` the longest run of up to
//! [`MAX_WORDS`] words that is a member's name wins (`@ana hi` is `ana` when there is no `ana
//! hi`); punctuation after a name ends it (`@ana, look`). Names compare by their uniqueness key,
//! so `@ANA` mentions `ana`. Only the first [`MAX_MENTION_SIGNS`] `@`s are looked at: a text of
//! 4,000 `@`s costs what 20 do.

use charla_protocol::rules::{username_key, MAX_USERNAME_CHARS};

use crate::store::Member;

/// The most words a name can have that a mention finds.
const MAX_WORDS: usize = 4;
/// `@`s looked at in one text.
const MAX_MENTION_SIGNS: usize = 20;

/// The members `text` mentions, each once, in order of first mention. `member` answers
/// whether a name key is a member's, with the name as shown.
pub(super) fn find(text: &str, mut member: impl FnMut(&str) -> Option<String>) -> Vec<Member> {
    let mut found: Vec<Member> = Vec::new();
    for (at, _) in text.match_indices('@').take(MAX_MENTION_SIGNS) {
        // An address (`ana@example.org`) is not a mention.
        if text[..at]
            .chars()
            .next_back()
            .is_some_and(char::is_alphanumeric)
        {
            continue;
        }
        let after = &text[at + 1..];
        let mut best: Option<Member> = None;
        for candidate in candidates(after) {
            let key = username_key(candidate);
            if let Some(name) = member(&key) {
                best = Some(Member { key, name });
            }
        }
        if let Some(mention) = best {
            if !found.iter().any(|m| m.key == mention.key) {
                found.push(mention);
            }
        }
    }
    found
}

/// The texts after an `@` that could be a name: its first word, its first two words, …, each
/// without the punctuation that ends it, shortest first.
fn candidates(after: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut end = 0;
    for (words, word) in after.split(' ').enumerate() {
        if words == MAX_WORDS || word.is_empty() {
            break;
        }
        let start = end + usize::from(words > 0);
        end = start + word.len();
        let candidate = after[..end].trim_end_matches(|c: char| !c.is_alphanumeric());
        if candidate.chars().count() > MAX_USERNAME_CHARS {
            break;
        }
        if !candidate.is_empty() && out.last() != Some(&candidate) {
            out.push(candidate);
        }
        // A word that ended in punctuation ends the name.
        if candidate.len() < end {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str, members: &[&str]) -> Vec<String> {
        find(text, |key| {
            members
                .iter()
                .find(|m| username_key(m) == key)
                .map(|m| (*m).to_owned())
        })
        .into_iter()
        .map(|m| m.name)
        .collect()
    }

    #[test]
    fn names_are_found_whole_and_once() {
        let members = ["ana", "Ana María", "bo", "Zoë"];
        assert_eq!(names("@ana hi", &members), ["ana"]);
        assert_eq!(names("hi @Ana María, look", &members), ["Ana María"]);
        assert_eq!(names("@BO and @bo and @zoë!", &members), ["bo", "Zoë"]);
        assert_eq!(
            names("mail ana@example.org", &members),
            Vec::<String>::new()
        );
        assert_eq!(names("@nobody @", &members), Vec::<String>::new());
        assert_eq!(names("(@ana)", &members), ["ana"]);
    }

    #[test]
    fn a_flood_of_signs_costs_little() {
        let text = "@".repeat(4000);
        let mut asked = 0;
        let _ = find(&text, |_| {
            asked += 1;
            None
        });
        assert!(asked <= MAX_MENTION_SIGNS * MAX_WORDS, "{asked}");
    }
}
