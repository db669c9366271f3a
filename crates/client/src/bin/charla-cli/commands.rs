//! The commands a stdin line starting with `/` gives, and the room lines go to.
//!
//! Most ask the server and wait for it. The changes to a message (`/edit`, `/delete`,
//! `/react`, `/unreact`, `/pin`, `/unpin`) go to the outbox like a line does, connected or
//! not; what they did is printed when the server says so. So do replies in threads
//! (`threads.rs`).

use charla_client::{ChangeOp, ChangeTarget, ClientHandle};
use charla_protocol::chat::{ErrorCode, SearchRequest, GENERAL_ROOM};
use serde_json::json;

use crate::changes::label;
use crate::print::text_of;
use crate::threads::{self, REPLIES};

/// What `/help` prints, and `--help` after the options.
pub const HELP: &str =
    "Each stdin line is a message to the current room. Lines starting with / are commands:
  /join ROOM         enter ROOM (made if new); lines go there
  /room ROOM         lines go to ROOM
  /dm NAME           the direct message with NAME; lines go there
  /leave, /rooms, /topic TEXT, /history N, /search WORDS, /read, /help
  /edit SEQ TEXT     replace the text of your message SEQ
  /delete SEQ        take your message SEQ back
  /react SEQ EMOJI   add your reaction EMOJI to message SEQ
  /unreact SEQ EMOJI take your reaction EMOJI back
  /pin SEQ, /unpin SEQ, /pins
  /reply SEQ TEXT    reply in the thread of message SEQ
  /replyroom SEQ TEXT  reply in the thread of SEQ and send the reply to the room too
  /thread SEQ        the thread of message SEQ: the message and its replies
  /threads           the threads you follow, with their unread replies
SEQ is a message's number in the current room, printed before its author (#12, or 12).
Changes and replies go through the outbox like messages: typed offline, they go once the server is back.
//text sends /text.";

/// The commands that change a message: queued in the outbox, so they need no connection.
const CHANGES: [&str; 6] = ["edit", "delete", "react", "unreact", "pin", "unpin"];

/// Whether the command `name` asks the server and must wait for a connection.
#[must_use]
pub fn needs_server(name: &str) -> bool {
    !CHANGES.contains(&name) && !REPLIES.contains(&name)
}

/// The room lines go to.
#[derive(Debug)]
pub struct Rooms {
    /// Where a plain line goes.
    pub current: String,
}

/// A stdin line: a message, or a command.
pub enum Line<'a> {
    /// Text to send to the current room.
    Say(&'a str),
    /// A command and its argument (trimmed, maybe empty).
    Command(&'a str, &'a str),
}

/// Reads a line: `/cmd arg` is a command, `//text` the text `/text`.
#[must_use]
pub fn parse(line: &str) -> Line<'_> {
    if line.starts_with("//") {
        return Line::Say(&line[1..]);
    }
    match line.strip_prefix('/') {
        Some(command) => {
            let (name, arg) = command.split_once(' ').unwrap_or((command, ""));
            Line::Command(name, arg.trim())
        }
        None => Line::Say(line),
    }
}

/// The answer a command printed: text for people, JSON with `--json`.
pub struct Printed {
    /// For people.
    pub text: String,
    /// For programs.
    pub json: serde_json::Value,
    /// The outbox id of what the command queued, if it queued something.
    pub queued: Option<String>,
}

impl Printed {
    pub(crate) fn new(command: &str, text: String, reply: serde_json::Value) -> Self {
        Self {
            text,
            json: json!({"event": "reply", "command": command, "reply": reply}),
            queued: None,
        }
    }
}

/// Why a command did nothing.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// No such command.
    #[error("unknown command /{0}; /help lists them")]
    Unknown(String),
    /// The command needs an argument it was not given.
    #[error("/{command} needs {what}")]
    Missing {
        /// The command.
        command: String,
        /// What it needs.
        what: &'static str,
    },
    /// The server refused it, or could not be reached.
    #[error(transparent)]
    Client(#[from] charla_client::Error),
}

/// Runs a command.
///
/// # Errors
/// The command is unknown, lacks its argument, or the server refused it (or is not reachable).
pub async fn run(
    client: &ClientHandle,
    rooms: &mut Rooms,
    name: &str,
    arg: &str,
) -> Result<Printed, CommandError> {
    let need = |what: &'static str| {
        if arg.is_empty() {
            Err(CommandError::Missing {
                command: name.to_owned(),
                what,
            })
        } else {
            Ok(())
        }
    };
    match name {
        "help" => Ok(Printed::new(name, HELP.to_owned(), json!(HELP))),
        "join" => {
            need("a room name")?;
            join(client, rooms, arg).await
        }
        "dm" => {
            need("a name")?;
            open_dm(client, rooms, arg).await
        }
        "room" => {
            need("a room name")?;
            Ok(switch_to(rooms, arg))
        }
        "leave" => leave(client, rooms).await,
        "rooms" => list_rooms(client).await,
        "topic" => set_topic(client, rooms, arg).await,
        "history" => history(client, rooms, arg).await,
        "search" => {
            need("words")?;
            search(client, arg).await
        }
        "read" => mark_read(client, rooms).await,
        "pins" => pins(client, rooms).await,
        reply if REPLIES.contains(&reply) => threads::reply(client, rooms, name, arg).await,
        "thread" => threads::thread(client, rooms, arg).await,
        "threads" => threads::threads(client).await,
        change if CHANGES.contains(&change) => {
            let (seq, op) = change_of(change, arg).ok_or_else(|| CommandError::Missing {
                command: name.to_owned(),
                what: match change {
                    "edit" => "SEQ TEXT",
                    "react" | "unreact" => "SEQ EMOJI",
                    _ => "SEQ",
                },
            })?;
            queue_change(client, rooms, name, seq, op).await
        }
        other => Err(CommandError::Unknown(other.to_owned())),
    }
}

/// Reads a change command's argument: the message's number (`12` or `#12`), and the text or
/// emoji it needs.
fn change_of(name: &str, arg: &str) -> Option<(u64, ChangeOp)> {
    let (seq, rest) = arg.split_once(' ').unwrap_or((arg, ""));
    let seq: u64 = seq.strip_prefix('#').unwrap_or(seq).parse().ok()?;
    let rest = rest.trim();
    let op = match name {
        "edit" if !rest.is_empty() => ChangeOp::Edit {
            text: rest.to_owned(),
        },
        "delete" => ChangeOp::Delete,
        "react" | "unreact" if !rest.is_empty() => ChangeOp::React {
            emoji: rest.to_owned(),
            on: name == "react",
        },
        "pin" | "unpin" => ChangeOp::Pin {
            pinned: name == "pin",
        },
        _ => return None,
    };
    (seq > 0).then_some((seq, op))
}

/// `/edit`, `/delete`, `/react`, `/unreact`, `/pin`, `/unpin`: queued for message `seq` of the
/// current room.
async fn queue_change(
    client: &ClientHandle,
    rooms: &Rooms,
    name: &str,
    seq: u64,
    op: ChangeOp,
) -> Result<Printed, CommandError> {
    let queued = client
        .change(&rooms.current, ChangeTarget::Seq { seq }, op)
        .await?;
    let mut printed = Printed::new(name, format!("* {} queued", label(&queued)), json!(queued));
    printed.queued = Some(queued.client_id);
    Ok(printed)
}

/// `/pins`: the current room's pinned messages, the most recently pinned first.
async fn pins(client: &ClientHandle, rooms: &Rooms) -> Result<Printed, CommandError> {
    let list = client.pins(&rooms.current).await?;
    let lines: Vec<String> = list
        .messages
        .iter()
        .map(|m| {
            let by = m.living.pinned.as_ref().map_or("", |p| p.by.as_str());
            let seq = m.seq.unwrap_or_default();
            format!("  #{seq} {}: {} (pinned by {by})", m.username, text_of(m))
        })
        .collect();
    Ok(Printed::new(
        "pins",
        format!("* pinned in {}:\n{}", rooms.current, lines.join("\n")),
        json!(list),
    ))
}

/// `/join ROOM`: enters the room, making it when nobody has (as on IRC), and sends lines there.
async fn join(
    client: &ClientHandle,
    rooms: &mut Rooms,
    room: &str,
) -> Result<Printed, CommandError> {
    let (entered, made) = match client.join_room(room).await {
        Err(charla_client::Error::Refused(refusal)) if refusal.code == ErrorCode::NoSuchRoom => {
            (client.create_room(room, "").await?, true)
        }
        other => (other?, false),
    };
    rooms.current.clone_from(&entered.room.room);
    let text = format!(
        "* {} {} ({}){}",
        if made { "made and now in" } else { "now in" },
        entered.room.room,
        members(entered.room.members.len()),
        topic_of(&entered.room.topic)
    );
    Ok(Printed::new("join", text, json!(entered)))
}

/// `/dm NAME`: opens the direct conversation with `name` and sends lines there.
async fn open_dm(
    client: &ClientHandle,
    rooms: &mut Rooms,
    name: &str,
) -> Result<Printed, CommandError> {
    let entered = client.open_dm(name).await?;
    rooms.current.clone_from(&entered.room.room);
    let text = format!(
        "* now in {} with {}",
        entered.room.room,
        entered.room.members.join(" and ")
    );
    Ok(Printed::new("dm", text, json!(entered)))
}

/// `/room ROOM`: sends lines to `room` from now on (nothing is asked of the server).
fn switch_to(rooms: &mut Rooms, room: &str) -> Printed {
    room.clone_into(&mut rooms.current);
    Printed::new(
        "room",
        format!("* lines go to {room}"),
        json!({"ok": true, "room": room}),
    )
}

/// `/leave`: leaves the current room; lines go to `general` again.
async fn leave(client: &ClientHandle, rooms: &mut Rooms) -> Result<Printed, CommandError> {
    let room = rooms.current.clone();
    let done = client.leave_room(&room).await?;
    GENERAL_ROOM.clone_into(&mut rooms.current);
    Ok(Printed::new(
        "leave",
        format!("* left {room}; lines go to general"),
        json!(done),
    ))
}

/// `/rooms`: every room, whether joined, its members and topic.
async fn list_rooms(client: &ClientHandle) -> Result<Printed, CommandError> {
    let list = client.rooms().await?;
    let lines: Vec<String> = list
        .rooms
        .iter()
        .map(|r| {
            format!(
                "  {}{} ({}){}",
                r.room,
                if r.joined { " [joined]" } else { "" },
                members(r.members),
                topic_of(&r.topic)
            )
        })
        .collect();
    Ok(Printed::new(
        "rooms",
        format!("* rooms:\n{}", lines.join("\n")),
        json!(list),
    ))
}

/// `/topic TEXT`: sets the current room's topic (empty clears it).
async fn set_topic(
    client: &ClientHandle,
    rooms: &Rooms,
    topic: &str,
) -> Result<Printed, CommandError> {
    let done = client.set_topic(&rooms.current, topic).await?;
    Ok(Printed::new(
        "topic",
        format!("* topic of {} set", rooms.current),
        json!(done),
    ))
}

/// `/history N`: the current room's newest `N` messages (20 when `N` is not a number).
async fn history(
    client: &ClientHandle,
    rooms: &Rooms,
    count: &str,
) -> Result<Printed, CommandError> {
    let count: usize = count.parse().unwrap_or(20);
    let page = client.history(&rooms.current, u64::MAX, count).await?;
    let lines: Vec<String> = page
        .messages
        .iter()
        .map(|m| {
            format!(
                "  #{} {}: {}",
                m.seq.unwrap_or_default(),
                m.username,
                text_of(m)
            )
        })
        .collect();
    let more = if page.more {
        "\n  (older ones are kept)"
    } else {
        ""
    };
    Ok(Printed::new(
        "history",
        format!("* {}:\n{}{more}", rooms.current, lines.join("\n")),
        json!(page),
    ))
}

/// `/search WORDS`: up to 20 messages that match, from any room.
async fn search(client: &ClientHandle, words: &str) -> Result<Printed, CommandError> {
    let found = client
        .search(SearchRequest {
            query: words.to_owned(),
            room: None,
            before: None,
            limit: 20,
            offset: 0,
        })
        .await?;
    let lines: Vec<String> = found
        .results
        .iter()
        .map(|r| format!("  {} #{} {}: {}", r.room, r.seq, r.username, r.snippet))
        .collect();
    Ok(Printed::new(
        "search",
        format!("* {} found:\n{}", found.results.len(), lines.join("\n")),
        json!(found),
    ))
}

/// `/read`: marks the current room read up to its newest message.
async fn mark_read(client: &ClientHandle, rooms: &Rooms) -> Result<Printed, CommandError> {
    let page = client.history(&rooms.current, u64::MAX, 1).await?;
    let newest = page.messages.last().and_then(|m| m.seq).unwrap_or_default();
    let done = client.mark_read(&rooms.current, newest).await?;
    Ok(Printed::new(
        "read",
        format!("* {} read up to {newest}", rooms.current),
        json!(done),
    ))
}

fn members(count: usize) -> String {
    if count == 1 {
        "1 member".to_owned()
    } else {
        format!("{count} members")
    }
}

fn topic_of(topic: &str) -> String {
    if topic.is_empty() {
        String::new()
    } else {
        format!(": {topic}")
    }
}
