//! The commands a stdin line starting with `/` gives, and the room lines go to.

use charla_client::ClientHandle;
use charla_protocol::chat::{ErrorCode, SearchRequest, GENERAL_ROOM};
use serde_json::json;

/// What `/help` prints.
pub const HELP: &str =
    "commands: /join ROOM (made if new), /leave, /rooms, /dm NAME, /room ROOM (switch), \
/topic TEXT, /history N, /search WORDS, /read, /help; //text sends /text";

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
}

impl Printed {
    fn new(command: &str, text: String, reply: serde_json::Value) -> Self {
        Self {
            text,
            json: json!({"event": "reply", "command": command, "reply": reply}),
        }
    }
}

/// Why a command did nothing.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// No such command.
    #[error("unknown command /{0}; {HELP}")]
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
    Ok(match name {
        "help" => Printed::new(name, HELP.to_owned(), json!(HELP)),
        "join" => {
            need("a room name")?;
            // As on IRC: joining a room nobody made yet makes it.
            let (entered, made) = match client.join_room(arg).await {
                Err(charla_client::Error::Refused(refusal))
                    if refusal.code == ErrorCode::NoSuchRoom =>
                {
                    (client.create_room(arg, "").await?, true)
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
            Printed::new(name, text, json!(entered))
        }
        "dm" => {
            need("a name")?;
            let entered = client.open_dm(arg).await?;
            rooms.current.clone_from(&entered.room.room);
            let text = format!(
                "* now in {} with {}",
                entered.room.room,
                entered.room.members.join(" and ")
            );
            Printed::new(name, text, json!(entered))
        }
        "room" => {
            need("a room name")?;
            arg.clone_into(&mut rooms.current);
            Printed::new(
                name,
                format!("* lines go to {arg}"),
                json!({"ok": true, "room": arg}),
            )
        }
        "leave" => {
            let room = rooms.current.clone();
            let done = client.leave_room(&room).await?;
            GENERAL_ROOM.clone_into(&mut rooms.current);
            Printed::new(
                name,
                format!("* left {room}; lines go to general"),
                json!(done),
            )
        }
        "rooms" => {
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
            Printed::new(name, format!("* rooms:\n{}", lines.join("\n")), json!(list))
        }
        "topic" => {
            let done = client.set_topic(&rooms.current, arg).await?;
            Printed::new(
                name,
                format!("* topic of {} set", rooms.current),
                json!(done),
            )
        }
        "history" => {
            let count: usize = arg.parse().unwrap_or(20);
            let page = client.history(&rooms.current, u64::MAX, count).await?;
            let lines: Vec<String> = page
                .messages
                .iter()
                .map(|m| format!("  {} {}: {}", m.seq.unwrap_or_default(), m.username, m.text))
                .collect();
            let more = if page.more {
                "\n  (older ones are kept)"
            } else {
                ""
            };
            Printed::new(
                name,
                format!("* {}:\n{}{more}", rooms.current, lines.join("\n")),
                json!(page),
            )
        }
        "search" => {
            need("words")?;
            let found = client
                .search(SearchRequest {
                    query: arg.to_owned(),
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
            Printed::new(
                name,
                format!("* {} found:\n{}", found.results.len(), lines.join("\n")),
                json!(found),
            )
        }
        "read" => {
            let page = client.history(&rooms.current, u64::MAX, 1).await?;
            let newest = page.messages.last().and_then(|m| m.seq).unwrap_or_default();
            let done = client.mark_read(&rooms.current, newest).await?;
            Printed::new(
                name,
                format!("* {} read up to {newest}", rooms.current),
                json!(done),
            )
        }
        other => return Err(CommandError::Unknown(other.to_owned())),
    })
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
