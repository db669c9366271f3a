//! `charla-cli`: chat from a terminal, a script or a bot. Each stdin line is sent as a message
//! to the current room (`--room`, `--dm`; `general` by default); a line starting with `/` is a
//! command (`/help` lists them, `//text` sends `/text`). Every event is printed (one JSON object
//! per line with `--json`, each with its `room` when it is not `general`). Uses the same outbox and
//! stores as the desktop app, so nothing typed is lost. Closing stdin waits until nothing in the
//! outbox can still go by itself (bounded by `--drain-timeout`); the exit status is 0 only when
//! the outbox is then empty (every message delivered), 1 otherwise, with a count on stderr. A
//! refusal that waiting cannot change (a name someone else owns, a wrong token) exits 1 at once.

use std::collections::{HashSet, VecDeque};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use charla_client::settings::{Config, Paths};
use charla_client::{
    spawn, ClientEvent, ClientOptions, ConnectionStatus, DisconnectReason, OutboxEntry, OutboxState,
};
use clap::Parser;
use commands::{Line, Rooms};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::mpsc;

mod commands;

/// Chat on a Charla (or Socket.IO tutorial) server from the terminal.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Server address (http://host:port, ws://…, wss://…). Default: the saved config's.
    #[arg(long, env = "CHARLA_SERVER")]
    server: Option<String>,
    /// Username to join with. Default: the saved config's.
    #[arg(long, env = "CHARLA_USERNAME")]
    username: Option<String>,
    /// Shared access token of a private server.
    #[arg(long, env = "CHARLA_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Print one JSON object per event.
    #[arg(long)]
    json: bool,
    /// Folder for config, drafts, outbox and device keys (default: the OS's folders for Charla).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Join without a device key, as the tutorial's clients do: the name is not claimed, and an
    /// owned name is refused.
    #[arg(long, conflicts_with = "link")]
    guest: bool,
    /// A link code from another device that owns the name (Settings → "Use this name on another
    /// computer" in the app): this device's key is registered with the name.
    #[arg(long)]
    link: Option<String>,
    /// The room lines go to (joined at start).
    #[arg(long, default_value = "general")]
    room: String,
    /// Talk to this person instead: the direct message with them (opened at start).
    #[arg(long, conflicts_with = "room")]
    dm: Option<String>,
    /// After stdin closes, wait at most this many seconds for unsent messages.
    #[arg(long, default_value_t = 30)]
    drain_timeout: u64,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    match run(Cli::parse()).await {
        Ok(code) => code,
        Err(message) => {
            eprintln!("charla-cli: {message}");
            ExitCode::from(2)
        }
    }
}

/// Why the CLI could not start.
#[derive(Debug, thiserror::Error)]
enum CliError {
    /// No `--username` and none saved.
    #[error("--username is required (none saved yet)")]
    NoUsername,
    /// A bad address, or no place for local files.
    #[error(transparent)]
    Client(#[from] charla_client::Error),
}

async fn run(cli: Cli) -> Result<ExitCode, CliError> {
    let paths = match &cli.data_dir {
        Some(dir) => Paths::under(dir),
        None => Paths::from_env()?,
    };
    let config = Config::load(&paths);
    let server = cli.server.clone().unwrap_or(config.server_url);
    let username = cli
        .username
        .clone()
        .or(config.username)
        .ok_or(CliError::NoUsername)?;
    let outbox = paths.outbox_file(&server, &username);
    let mut options = ClientOptions::new(&server, &username, outbox)?;
    options.token = cli.token.clone();
    if !cli.guest {
        // Made and written before it is ever sent; the same file on every later run.
        let key_file = paths.device_key_file(&options.server_url, &options.username);
        options.device_key = Some(charla_client::device_key::load_or_create(&key_file)?);
        options.link_code = cli.link.clone();
    }

    let (tx, mut events) = mpsc::unbounded_channel();
    let client = spawn(options, tx);
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut stdin_open = true;
    let mut tally: Option<Tally> = None; // unknown until the first outbox event
    let mut reported = HashSet::new();
    let mut drain_deadline: Option<tokio::time::Instant> = None;

    // The id of the last line queued until an outbox report shows it: reports made before it
    // (the one at start, say) must not count as the final word on what was delivered.
    let mut unseen: Option<String> = None;
    let mut rooms = Rooms {
        current: charla_protocol::chat::GENERAL_ROOM.to_owned(),
    };
    // Lines that wait for the chat: a command needs the server, and every line after a waiting
    // one waits too, so that a message typed after `/join ops` goes to ops. A plain line with
    // nothing waiting goes to the outbox at once, connected or not.
    let mut held: VecDeque<String> = VecDeque::new();
    let mut connected = false;
    // The room or DM of the command line, entered once the first join is answered.
    let mut entering = match (&cli.dm, cli.room.as_str()) {
        (Some(name), _) => Some(("dm", name.clone())),
        (None, "general") => None,
        (None, room) => Some(("join", room.to_owned())),
    };
    loop {
        if let Some(tally) =
            tally.filter(|t| !stdin_open && held.is_empty() && unseen.is_none() && t.pending == 0)
        {
            // Refused messages will not go out by themselves: waiting longer is useless.
            client.disconnect().await;
            return Ok(tally.exit_code());
        }
        tokio::select! {
            line = lines.next_line(), if stdin_open && entering.is_none() => match line {
                Ok(Some(text)) if !text.trim().is_empty() => {
                    let is_command = matches!(commands::parse(&text), Line::Command(..));
                    if (is_command && !connected) || !held.is_empty() {
                        held.push_back(text);
                    } else if let Some(id) = handle_line(&client, &mut rooms, &text, cli.json).await {
                        unseen = Some(id);
                    }
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => {
                    stdin_open = false;
                    drain_deadline = Some(tokio::time::Instant::now() + Duration::from_secs(cli.drain_timeout));
                }
            },
            event = events.recv() => {
                let Some(event) = event else { return Ok(ExitCode::FAILURE) };
                if let ClientEvent::Outbox { entries } = &event {
                    tally = Some(Tally::of(entries));
                    if unseen.as_ref().is_some_and(|id| entries.iter().any(|e| &e.client_id == id)) {
                        unseen = None;
                    }
                }
                print_event(&event, cli.json, &mut reported);
                match &event {
                    ClientEvent::Joined { .. } => connected = true,
                    ClientEvent::Status(ConnectionStatus::Connected { .. }) => {}
                    ClientEvent::Status(_) => connected = false,
                    _ => {}
                }
                if matches!(event, ClientEvent::Joined { .. }) {
                    if let Some((name, arg)) = entering.take() {
                        if !command(&client, &mut rooms, name, &arg, cli.json).await {
                            client.disconnect().await;
                            return Ok(ExitCode::FAILURE);
                        }
                    }
                    while let Some(text) = held.pop_front() {
                        if let Some(id) = handle_line(&client, &mut rooms, &text, cli.json).await {
                            unseen = Some(id);
                        }
                    }
                }
                if let ClientEvent::Status(ConnectionStatus::Disconnected { cause, .. }) = &event {
                    if *cause != DisconnectReason::Stopped {
                        // Refused for good (a name someone owns, a wrong token): waiting changes
                        // nothing. What was typed stays in the outbox for the next run.
                        client.disconnect().await;
                        if let Some(tally) = tally {
                            tally.report_undelivered();
                        }
                        return Ok(ExitCode::FAILURE);
                    }
                }
            }
            () = async {
                match drain_deadline {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            } => {
                client.disconnect().await;
                if !held.is_empty() {
                    eprintln!("charla-cli: {} line(s) waited for the server in vain and were not run", held.len());
                    return Ok(ExitCode::FAILURE);
                }
                return Ok(tally.map_or(ExitCode::FAILURE, Tally::exit_code));
            }
        }
    }
}

/// One stdin line: a message to the current room (its outbox id), or a command.
async fn handle_line(
    client: &charla_client::ClientHandle,
    rooms: &mut Rooms,
    text: &str,
    json: bool,
) -> Option<String> {
    match commands::parse(text) {
        Line::Say(text) => match client.send_to(&rooms.current, text).await {
            Ok(entry) => Some(entry.client_id),
            Err(e) => {
                eprintln!("charla-cli: not sent: {e}");
                None
            }
        },
        Line::Command(name, arg) => {
            command(client, rooms, name, arg, json).await;
            None
        }
    }
}

/// Runs a `/command`, printing its answer (or why it failed, on stderr); whether it worked.
async fn command(
    client: &charla_client::ClientHandle,
    rooms: &mut Rooms,
    name: &str,
    arg: &str,
    json: bool,
) -> bool {
    match commands::run(client, rooms, name, arg).await {
        Ok(printed) if json => {
            println!("{}", printed.json);
            true
        }
        Ok(printed) => {
            println!("{}", printed.text);
            true
        }
        Err(why) => {
            eprintln!("charla-cli: /{name}: {why}");
            false
        }
    }
}

/// Where a message was said, as a prefix (nothing for `general`).
fn place(room: Option<&String>) -> String {
    room.map_or_else(String::new, |room| format!("#{room} "))
}

/// A message's author, marked when nobody owns the name.
fn author(m: &charla_protocol::chat::ChatMessage) -> String {
    if m.guest {
        format!("{} (guest)", m.username)
    } else {
        m.username.clone()
    }
}

/// What the outbox holds, by whether it can still go by itself.
#[derive(Debug, Clone, Copy)]
struct Tally {
    /// Waiting to be sent or acknowledged (rate-limited ones included).
    pending: usize,
    /// Refused for good.
    refused: usize,
}

impl Tally {
    fn of(entries: &[OutboxEntry]) -> Self {
        let refused = entries
            .iter()
            .filter(|e| matches!(e.state, OutboxState::Failed { .. }))
            .count();
        Self {
            pending: entries.len() - refused,
            refused,
        }
    }

    /// 0 when everything was delivered; otherwise says what was not, and 1.
    fn exit_code(self) -> ExitCode {
        if self.pending + self.refused == 0 {
            return ExitCode::SUCCESS;
        }
        self.report_undelivered();
        ExitCode::FAILURE
    }

    /// Says on stderr how many messages stay in the outbox, if any.
    fn report_undelivered(self) {
        let undelivered = self.pending + self.refused;
        if undelivered > 0 {
            eprintln!(
                "charla-cli: {undelivered} message(s) not delivered ({} refused, {} still pending); they stay in the outbox",
                self.refused, self.pending
            );
        }
    }
}

/// Prints an event; a refused message is reported once (`reported` holds their ids), not on
/// every later outbox change.
fn print_event(event: &ClientEvent, json: bool, reported: &mut HashSet<String>) {
    if json {
        match serde_json::to_string(event) {
            Ok(line) => println!("{line}"),
            Err(e) => eprintln!("charla-cli: cannot print an event: {e}"),
        }
        return;
    }
    let time = |m: &charla_protocol::chat::ChatMessage| {
        m.timestamp
            .with_timezone(&chrono::Local)
            .format("%H:%M")
            .to_string()
    };
    match event {
        ClientEvent::Message(m) => println!(
            "[{}] {}{}: {}",
            time(m),
            place(m.room.as_ref()),
            author(m),
            m.text
        ),
        ClientEvent::Joined { history, .. } => {
            for m in history {
                println!("[{}] {}: {}", time(m), author(m), m.text);
            }
        }
        ClientEvent::Rooms { rooms } => {
            let line: Vec<String> = rooms
                .iter()
                .map(|r| match (r.unread, r.mentions) {
                    (0, _) => r.room.clone(),
                    (unread, 0) => format!("{} ({unread} unread)", r.room),
                    (unread, mentions) => {
                        format!("{} ({unread} unread, {mentions} mentions)", r.room)
                    }
                })
                .collect();
            println!("* your rooms: {}", line.join(", "));
        }
        ClientEvent::RoomUpdated(info) if info.topic.is_empty() => {
            println!("* #{}: {}", info.room, info.members.join(", "));
        }
        ClientEvent::RoomUpdated(info) => {
            println!(
                "* #{} ({}): {}",
                info.room,
                info.topic,
                info.members.join(", ")
            );
        }
        ClientEvent::RoomTopic(change) => {
            let by = change
                .username
                .as_ref()
                .map(|name| format!("{name} set "))
                .unwrap_or_default();
            if change.topic.is_empty() {
                println!("* #{}: {by}no topic", change.room);
            } else {
                println!("* #{}: {by}the topic: {}", change.room, change.topic);
            }
        }
        ClientEvent::MemberJoined(change) => {
            println!("* {} joined #{}", change.username, change.room);
        }
        ClientEvent::MemberLeft(change) => {
            println!("* {} left #{}", change.username, change.room);
        }
        ClientEvent::ReadMarker(marker) => {
            println!("* #{} read up to {}", marker.room, marker.read);
        }
        // Every join is followed by the presence snapshot, with who is a guest.
        ClientEvent::Users { users, guests } => {
            let here: Vec<String> = users
                .iter()
                .map(|u| {
                    if guests.contains(u) {
                        format!("{u} (guest)")
                    } else {
                        u.clone()
                    }
                })
                .collect();
            println!("* here: {}", here.join(", "));
        }
        ClientEvent::Gap {
            room,
            from,
            to,
            kept,
        } => {
            let count = to - from + 1;
            let room = place(room.as_ref());
            if *kept {
                println!("* {room}{count} missed message(s) not loaded (seq {from} to {to})");
            } else {
                println!(
                    "* {room}{count} older message(s) no longer available (seq {from} to {to})"
                );
            }
        }
        ClientEvent::HistoryReset => println!("* the server's history started over"),
        ClientEvent::UserJoined { username, guest } => {
            println!(
                "* {username}{} joined",
                if *guest { " (guest)" } else { "" }
            );
        }
        ClientEvent::UserLeft { username } => println!("* {username} left"),
        ClientEvent::Status(ConnectionStatus::Reconnecting { delay, reason, .. }) => {
            eprintln!(
                "* offline ({reason}); retrying in {:.1} s",
                delay.as_secs_f64()
            );
        }
        ClientEvent::Status(ConnectionStatus::Disconnected { reason, .. }) => {
            eprintln!("* disconnected: {reason}");
        }
        ClientEvent::Status(ConnectionStatus::Connected { compat: true }) => {
            eprintln!("* connected (tutorial server: no acks, no history)");
        }
        ClientEvent::Error(error) => eprintln!("* error: {}", error.message),
        ClientEvent::Outbox { entries } => {
            for entry in entries {
                if let OutboxState::Failed { message, .. } = &entry.state {
                    if reported.insert(entry.client_id.clone()) {
                        eprintln!("* not sent ({message}): {}", entry.text);
                    }
                }
            }
        }
        // Entering a room: the command that entered it says so.
        ClientEvent::Status(_) | ClientEvent::Typing { .. } | ClientEvent::RoomEntered(_) => {}
    }
}
