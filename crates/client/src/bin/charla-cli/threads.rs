//! `charla-cli`'s thread commands: `/reply SEQ TEXT` and `/replyroom SEQ TEXT` (queued in the
//! outbox like a line, connected or not), `/thread SEQ` (the root and its replies) and
//! `/threads` (the threads this name follows, with their unread replies).
//!
//! Apart from `commands.rs` so that the room commands read on one page.

use charla_client::{ChangeTarget, ClientHandle};
use charla_protocol::chat::MAX_THREAD_PAGE;
use serde_json::json;

use crate::commands::{CommandError, Printed, Rooms};
use crate::print::text_of;

/// The commands that queue a reply: they need no connection.
pub const REPLIES: [&str; 2] = ["reply", "replyroom"];

/// Reads a reply's argument: the root's number (`12` or `#12`) and the text.
fn reply_of(arg: &str) -> Option<(u64, &str)> {
    let (seq, text) = arg.split_once(' ')?;
    let seq: u64 = seq.strip_prefix('#').unwrap_or(seq).parse().ok()?;
    let text = text.trim();
    (seq > 0 && !text.is_empty()).then_some((seq, text))
}

/// Reads a message number (`12` or `#12`).
fn seq_of(arg: &str) -> Option<u64> {
    let seq: u64 = arg.strip_prefix('#').unwrap_or(arg).parse().ok()?;
    (seq > 0).then_some(seq)
}

/// `/reply SEQ TEXT` (only in the thread) and `/replyroom SEQ TEXT` (in the room too): queued
/// for the thread of message `SEQ` of the current room.
pub async fn reply(
    client: &ClientHandle,
    rooms: &Rooms,
    name: &str,
    arg: &str,
) -> Result<Printed, CommandError> {
    let (seq, text) = reply_of(arg).ok_or_else(|| CommandError::Missing {
        command: name.to_owned(),
        what: "SEQ TEXT",
    })?;
    let also_in_room = name == "replyroom";
    let queued = client
        .reply(
            &rooms.current,
            ChangeTarget::Seq { seq },
            text,
            also_in_room,
        )
        .await?;
    let to = if also_in_room {
        " (and to the room)"
    } else {
        ""
    };
    let mut printed = Printed::new(name, format!("* reply to #{seq}{to} queued"), json!(queued));
    printed.queued = Some(queued.client_id);
    Ok(printed)
}

/// `/thread SEQ`: the root of the thread of message `SEQ` in the current room, and its newest
/// replies (up to 200).
pub async fn thread(
    client: &ClientHandle,
    rooms: &Rooms,
    arg: &str,
) -> Result<Printed, CommandError> {
    let root = seq_of(arg).ok_or_else(|| CommandError::Missing {
        command: "thread".to_owned(),
        what: "SEQ",
    })?;
    let page = client
        .thread(&rooms.current, root, None, MAX_THREAD_PAGE)
        .await?;
    let mut lines = vec![format!(
        "* thread of #{root} in {} ({} replies):",
        rooms.current, page.root.living.replies
    )];
    lines.push(format!(
        "  #{root} {}: {}",
        page.root.username,
        text_of(&page.root)
    ));
    if page.more {
        lines.push("    (older replies are kept)".to_owned());
    }
    lines.extend(page.replies.iter().map(|m| {
        format!(
            "    ↳#{} {}: {}",
            m.seq.unwrap_or_default(),
            m.username,
            text_of(m)
        )
    }));
    Ok(Printed::new("thread", lines.join("\n"), json!(page)))
}

/// `/threads`: the threads this name follows, the most recently answered first.
pub async fn threads(client: &ClientHandle) -> Result<Printed, CommandError> {
    let list = client.threads().await?;
    let lines: Vec<String> = list
        .threads
        .iter()
        .map(|t| {
            let seq = t.root.seq.unwrap_or_default();
            let unread = match t.unread {
                0 => String::new(),
                n => format!(", {n} unread"),
            };
            format!(
                "  #{} #{seq} {}: {} ({} replies{unread})",
                t.room,
                t.root.username,
                text_of(&t.root),
                t.root.living.replies
            )
        })
        .collect();
    let text = if lines.is_empty() {
        "* you follow no threads".to_owned()
    } else {
        format!("* threads you follow:\n{}", lines.join("\n"))
    };
    Ok(Printed::new("threads", text, json!(list)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_arguments_read_as_typed() {
        assert_eq!(reply_of("#12 looks good"), Some((12, "looks good")));
        assert_eq!(reply_of("12  yes "), Some((12, "yes")));
        assert_eq!(reply_of("12"), None, "no text");
        assert_eq!(reply_of("x hi"), None, "no number");
        assert_eq!(seq_of("#3"), Some(3));
        assert_eq!(seq_of("0"), None);
    }
}
