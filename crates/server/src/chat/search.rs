//! `search`: messages of the asker's rooms and DMs (a guest's: `general`'s) that hold every
//! word of a query, best first, each with a snippet around the match and where the words are.
//!
//! The store finds the newest matches ([`crate::store::Store::search`]),
//! off the async threads and never under the chat's lock nor on the connection messages are
//! stored through, within [`crate::config::ServerConfig::search_budget`]; they are ranked here
//! ([`score`]). A match among the newest changes of its room is read as the message is now,
//! and dropped when its text no longer holds the words (edited away, deleted), so a search
//! never shows what the index has not caught up with yet. At most `max_searches` run at once
//! on the server and one per connection: more
//! are refused `rate_limited`; one past its budget is refused `search_too_broad` (never
//! `unavailable`, which would make a client send it again).

use std::collections::HashMap;

use charla_protocol::chat::{
    ChatMessage, Refusal, SearchHit, SearchRequest, SearchResults, MAX_QUERY_CHARS,
    MAX_SEARCH_RESULTS,
};
use charla_protocol::query::{fold, holds_all, Needle};

use super::messages::Lane;
use super::not_joined;
use super::reply::Reply;
use super::state::Chat;
use crate::store::{RoomId, GENERAL, SCAN as SEARCH_SCAN};
use crate::transport::Link;

/// Characters of context a snippet keeps on each side of the first match.
const CONTEXT_CHARS: usize = 60;

impl Chat {
    /// Answers `search`.
    ///
    /// # Errors
    /// Not joined; a query too long; a room the asker is not in; one search at a time per
    /// connection, and a few at once on the server; a search past its time budget.
    pub fn search(
        &self,
        link: &Link,
        request: SearchRequest,
        answer_wanted: bool,
    ) -> Result<Reply, Refusal> {
        if request.query.chars().count() > MAX_QUERY_CHARS {
            return Err(Refusal::invalid_payload(format!(
                "a search is at most {MAX_QUERY_CHARS} characters"
            )));
        }
        let query = request.query.clone();
        let words = Needle::all_of(&request.query);
        let limit = request.limit.clamp(1, MAX_SEARCH_RESULTS);
        let offset = request.offset.min(SEARCH_SCAN);
        let mut guard = self.lock();
        let state = &mut *guard;
        let conn = state.conns.get(&link.id()).ok_or_else(not_joined)?;
        conn.username.as_ref().ok_or_else(not_joined)?;
        let (key, guest) = (conn.key.clone(), conn.device.is_none());
        let rooms: Vec<RoomId> = match &request.room {
            Some(room) => vec![state.member_room(Some(room), &key, guest)?],
            None if guest => vec![GENERAL],
            None => std::iter::once(GENERAL)
                .chain(state.rooms.of(&key))
                .collect(),
        };
        if !answer_wanted {
            return Ok(Reply::Nothing);
        }
        if words.is_empty() {
            // Nothing in it can be searched for (punctuation, invisible characters): nothing
            // is found, and nothing needs reading.
            let nothing = SearchResults {
                ok: true,
                results: Vec::new(),
                more: false,
                next: None,
            };
            return Reply::now(link, &nothing);
        }
        let names: Vec<(RoomId, String)> = rooms
            .iter()
            .filter_map(|id| state.rooms.get(*id).map(|log| (*id, log.name.clone())))
            .collect();
        let changed: HashMap<(RoomId, u64), ChatMessage> = rooms
            .iter()
            .filter_map(|id| state.rooms.get(*id))
            .flat_map(|log| {
                log.recently_changed(RECENT_CHANGES)
                    .into_iter()
                    .map(move |m| ((log.id, m.seq.unwrap_or_default()), m))
            })
            .collect();
        let room_name = move |id: RoomId| {
            names
                .iter()
                .find(|(room, _)| *room == id)
                .map(|(_, name)| name.clone())
                .unwrap_or_default()
        };
        let store = self.inner.store.clone();
        let budget = self.inner.config.search_budget;
        self.read_later(guard, link, Lane::Search, move || {
            let scanned = store.search(&query, &rooms, request.before, budget)?;
            let mut ranked: Vec<(f64, crate::store::Found)> = scanned
                .found
                .into_iter()
                .filter_map(|found| as_it_is_now(found, &changed, &words))
                .map(|found| (score(&found.message.text, &words), found))
                .collect();
            // Best first; among equals, the newest (the scan's order, kept by a stable sort).
            ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
            let more = ranked.len() > offset + limit;
            Ok(SearchResults {
                ok: true,
                results: ranked
                    .into_iter()
                    .skip(offset)
                    .take(limit)
                    .map(|(_, found)| hit(room_name(found.room), &found.message, &words))
                    .collect(),
                more,
                next: scanned.next,
            })
        })
    }
}

/// The newest changes of each room a search checks its matches against.
const RECENT_CHANGES: usize = 64;

/// A match as its message is now: with its text now when it changed lately, or nothing when
/// that text no longer holds every word (or the message was deleted).
fn as_it_is_now(
    mut found: crate::store::Found,
    changed: &HashMap<(RoomId, u64), ChatMessage>,
    words: &[Needle],
) -> Option<crate::store::Found> {
    let key = (found.room, found.message.seq.unwrap_or_default());
    if let Some(now) = changed.get(&key) {
        if now.living.deleted || !holds_all(&now.text, words) {
            return None;
        }
        found.message.text.clone_from(&now.text);
    }
    Some(found)
}

/// How well a text matches: how often the words occur in it, relative to its length (a short
/// message that is about the words beats a long one that mentions them once).
fn score(text: &str, words: &[Needle]) -> f64 {
    let folded = fold(text);
    let hits: usize = words.iter().map(|w| w.spans_in(&folded).len()).sum();
    let length = text.split_whitespace().count().max(1);
    #[allow(clippy::cast_precision_loss)]
    let score = hits as f64 / (length as f64).sqrt();
    score
}

/// A result: the text around the first match (all of it when short), and the matches in it.
fn hit(room: String, m: &ChatMessage, words: &[Needle]) -> SearchHit {
    let chars: Vec<char> = m.text.chars().collect();
    let folded = fold(&m.text);
    let mut spans: Vec<[usize; 2]> = words.iter().flat_map(|w| w.spans_in(&folded)).collect();
    spans.sort_unstable();
    let first = spans.first().map_or(0, |s| s[0]);
    let start = first.saturating_sub(CONTEXT_CHARS);
    let end = (first + CONTEXT_CHARS * 2).min(chars.len()).max(start);
    let mut snippet = String::new();
    let offset = if start > 0 {
        snippet.push('…');
        1
    } else {
        0
    };
    snippet.extend(&chars[start..end]);
    if end < chars.len() {
        snippet.push('…');
    }
    let highlights = spans
        .into_iter()
        .filter(|s| s[0] >= start && s[1] <= end)
        .map(|s| [s[0] - start + offset, s[1] - start + offset])
        .collect();
    SearchHit {
        room,
        seq: m.seq.unwrap_or_default(),
        id: m.id.clone(),
        username: m.username.clone(),
        timestamp: m.timestamp,
        snippet,
        highlights,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(text: &str) -> ChatMessage {
        serde_json::from_value(serde_json::json!({
            "id": "m", "username": "ana", "text": text,
            "timestamp": "2026-11-30T10:00:00.000Z", "seq": 4
        }))
        .expect("a message")
    }

    #[test]
    fn snippets_mark_whole_words_and_prefixes() {
        let words = Needle::all_of("Deploy fri*");
        let found = hit(
            "ops".into(),
            &message("We deploy on Friday, not redeploy."),
            &words,
        );
        assert_eq!(found.snippet, "We deploy on Friday, not redeploy.");
        let marked: Vec<String> = found
            .highlights
            .iter()
            .map(|[s, e]| found.snippet.chars().skip(*s).take(e - s).collect())
            .collect();
        assert_eq!(marked, ["deploy", "Friday"]);
    }

    #[test]
    fn a_short_message_about_the_words_ranks_above_a_long_mention() {
        let words = Needle::all_of("deploy");
        let about = score("deploy deploy: is the deploy done?", &words);
        let mention = score(
            "lunch at noon, then the review, then maybe we deploy, and coffee after that",
            &words,
        );
        assert!(about > mention, "{about} > {mention}");
        assert!(score("nothing here", &words) < f64::EPSILON);
    }

    #[test]
    fn long_texts_are_cut_around_the_match() {
        let text = format!("{} needle {}", "a".repeat(500), "b".repeat(500));
        let found = hit("general".into(), &message(&text), &Needle::all_of("needle"));
        assert!(found.snippet.starts_with('…') && found.snippet.ends_with('…'));
        let [s, e] = found.highlights[0];
        let marked: String = found.snippet.chars().skip(s).take(e - s).collect();
        assert_eq!(marked, "needle");
        assert!(found.snippet.chars().count() <= CONTEXT_CHARS * 3 + 2);
    }
}
