//! `charla-cli`: chat from a terminal, a script or a bot. Each stdin line is sent as a message
//! to the current room (`--room`, `--dm`; `general` by default); a line starting with `/` is a
//! command (`/help` lists them, `//text` sends `/text`); `/edit`, `/delete`, `/react`, `/pin`
//! and the like change a message of the current room by its number. Every event is printed
//! (one JSON object per line with `--json`, each with its `room` when it is not `general`; a
//! change to a message is a `messageUpdated` object). Uses the same outbox and
//! stores as the desktop app, so nothing typed is lost. Closing stdin waits until nothing in the
//! outbox can still go by itself (bounded by `--drain-timeout`); the exit status is 0 only when
//! the outbox is then empty (every message delivered), 1 otherwise, with a count on stderr. A
//! refusal that waiting cannot change (a name someone else owns, a wrong token) exits 1 at once.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use charla_client::settings::{Config, Paths};
use charla_client::{
    spawn, ClientEvent, ClientHandle, ClientOptions, ConnectionStatus, DisconnectReason,
    OutboxChange, OutboxEntry, OutboxState,
};
use clap::Parser;
use commands::{Line, Rooms};
use print::Printer;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::mpsc;

mod changes;
mod commands;
mod print;
mod threads;

/// Chat on a Charla (or Socket.IO tutorial) server from the terminal.
#[derive(Debug, Parser)]
#[command(version, about, after_help = commands::HELP)]
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
    let options = client_options(&cli)?;
    let (tx, mut events) = mpsc::unbounded_channel();
    let mut chat = Chat::new(spawn(options, tx), &cli);
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut stdin_open = true;
    let mut drain_deadline: Option<tokio::time::Instant> = None;
    loop {
        if let Some(tally) = chat.nothing_left(stdin_open) {
            // Refused messages will not go out by themselves: waiting longer is useless.
            chat.client.disconnect().await;
            return Ok(tally.exit_code());
        }
        tokio::select! {
            line = lines.next_line(), if stdin_open && chat.entering.is_none() => match line {
                Ok(Some(text)) if !text.trim().is_empty() => chat.on_line(text).await,
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => {
                    stdin_open = false;
                    drain_deadline = Some(tokio::time::Instant::now() + Duration::from_secs(cli.drain_timeout));
                }
            },
            event = events.recv() => {
                let Some(event) = event else { return Ok(ExitCode::FAILURE) };
                if let Some(code) = chat.on_event(&event).await {
                    return Ok(code);
                }
            }
            () = async {
                match drain_deadline {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            } => return Ok(chat.drain_timed_out().await),
        }
    }
}

/// The client's options from the command line and the saved config: the server, the name, the
/// token, and (unless `--guest`) this device's key for the name, made on first use.
fn client_options(cli: &Cli) -> Result<ClientOptions, CliError> {
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
    options.token.clone_from(&cli.token);
    if !cli.guest {
        // Made and written before it is ever sent; the same file on every later run.
        let key_file = paths.device_key_file(&options.server_url, &options.username);
        options.device_key = Some(charla_client::device_key::load_or_create(&key_file)?);
        options.link_code.clone_from(&cli.link);
    }
    Ok(options)
}

/// The running chat between stdin and the client: where lines go, the lines waiting for the
/// server, and what the outbox last said.
struct Chat {
    client: ClientHandle,
    json: bool,
    rooms: Rooms,
    /// Unknown until the first outbox event.
    tally: Option<Tally>,
    printer: Printer,
    /// The id of the last line queued until an outbox report shows it: reports made before it
    /// (the one at start, say) must not count as the final word on what was delivered.
    unseen: Option<String>,
    /// Lines that wait for the chat: a command needs the server, and every line after a
    /// waiting one waits too, so that a message typed after `/join ops` goes to ops. A plain
    /// line with nothing waiting goes to the outbox at once, connected or not.
    held: VecDeque<String>,
    connected: bool,
    /// The room or DM of the command line, entered once the first join is answered.
    entering: Option<(&'static str, String)>,
}

impl Chat {
    fn new(client: ClientHandle, cli: &Cli) -> Self {
        Self {
            client,
            json: cli.json,
            rooms: Rooms {
                current: charla_protocol::chat::GENERAL_ROOM.to_owned(),
            },
            tally: None,
            printer: Printer::new(cli.json),
            unseen: None,
            held: VecDeque::new(),
            connected: false,
            entering: match (&cli.dm, cli.room.as_str()) {
                (Some(name), _) => Some(("dm", name.clone())),
                (None, "general") => None,
                (None, room) => Some(("join", room.to_owned())),
            },
        }
    }

    /// Once stdin is closed and every line ran: what the outbox holds, when nothing in it can
    /// still go by itself.
    fn nothing_left(&self, stdin_open: bool) -> Option<Tally> {
        self.tally.filter(|t| {
            !stdin_open && self.held.is_empty() && self.unseen.is_none() && t.pending == 0
        })
    }

    /// A line from stdin: held while it must wait for the server, run otherwise.
    async fn on_line(&mut self, text: String) {
        let asks_server = matches!(commands::parse(&text), Line::Command(name, _) if commands::needs_server(name));
        if (asks_server && !self.connected) || !self.held.is_empty() {
            self.held.push_back(text);
        } else {
            self.run_line(&text).await;
        }
    }

    async fn run_line(&mut self, text: &str) {
        if let Some(id) = handle_line(&self.client, &mut self.rooms, text, self.json).await {
            self.unseen = Some(id);
        }
    }

    /// An event from the client, printed and acted on; the exit code when the CLI is done.
    async fn on_event(&mut self, event: &ClientEvent) -> Option<ExitCode> {
        if let ClientEvent::Outbox { entries, changes } = event {
            self.tally = Some(Tally::of(entries, changes));
            let listed = |id: &String| {
                entries.iter().any(|e| &e.client_id == id)
                    || changes.iter().any(|c| &c.client_id == id)
            };
            if self.unseen.as_ref().is_some_and(listed) {
                self.unseen = None;
            }
        }
        self.printer.print(event);
        match event {
            ClientEvent::Joined { .. } => {
                self.connected = true;
                return self.on_joined().await;
            }
            ClientEvent::Status(ConnectionStatus::Connected { .. }) => {}
            ClientEvent::Status(status) => {
                self.connected = false;
                if let ConnectionStatus::Disconnected { cause, .. } = status {
                    if *cause != DisconnectReason::Stopped {
                        return Some(self.refused_for_good().await);
                    }
                }
            }
            _ => {}
        }
        None
    }

    /// Joined: the room or DM of the command line is entered (its failure ends the CLI), then
    /// the lines held for the server run.
    async fn on_joined(&mut self) -> Option<ExitCode> {
        if let Some((name, arg)) = self.entering.take() {
            if command(&self.client, &mut self.rooms, name, &arg, self.json)
                .await
                .is_none()
            {
                self.client.disconnect().await;
                return Some(ExitCode::FAILURE);
            }
        }
        while let Some(text) = self.held.pop_front() {
            self.run_line(&text).await;
        }
        None
    }

    /// Refused for good (a name someone owns, a wrong token): waiting changes nothing. What
    /// was typed stays in the outbox for the next run.
    async fn refused_for_good(&self) -> ExitCode {
        self.client.disconnect().await;
        if let Some(tally) = self.tally {
            tally.report_undelivered();
        }
        ExitCode::FAILURE
    }

    /// `--drain-timeout` passed after stdin closed: what is left is reported, and the CLI ends.
    async fn drain_timed_out(&self) -> ExitCode {
        self.client.disconnect().await;
        if !self.held.is_empty() {
            eprintln!(
                "charla-cli: {} line(s) waited for the server in vain and were not run",
                self.held.len()
            );
            return ExitCode::FAILURE;
        }
        self.tally.map_or(ExitCode::FAILURE, Tally::exit_code)
    }
}

/// One stdin line: a message to the current room, or a command; the outbox id of what it
/// queued.
async fn handle_line(
    client: &ClientHandle,
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
        Line::Command(name, arg) => command(client, rooms, name, arg, json)
            .await
            .and_then(|queued| queued),
    }
}

/// Runs a `/command`, printing its answer (or why it failed, on stderr): `None` when it failed,
/// otherwise the outbox id of what it queued, if anything.
async fn command(
    client: &ClientHandle,
    rooms: &mut Rooms,
    name: &str,
    arg: &str,
    json: bool,
) -> Option<Option<String>> {
    match commands::run(client, rooms, name, arg).await {
        Ok(printed) => {
            if json {
                println!("{}", printed.json);
            } else {
                println!("{}", printed.text);
            }
            Some(printed.queued)
        }
        Err(why) => {
            eprintln!("charla-cli: /{name}: {why}");
            None
        }
    }
}

/// What the outbox holds (messages and changes to messages), by whether it can still go by
/// itself.
#[derive(Debug, Clone, Copy)]
struct Tally {
    /// Waiting to be sent or acknowledged (rate-limited ones included).
    pending: usize,
    /// Refused for good.
    refused: usize,
}

impl Tally {
    fn of(entries: &[OutboxEntry], changes: &[OutboxChange]) -> Self {
        let states: Vec<&OutboxState> = entries
            .iter()
            .map(|e| &e.state)
            .chain(changes.iter().map(|c| &c.state))
            .collect();
        let refused = states
            .iter()
            .filter(|s| matches!(s, OutboxState::Failed { .. }))
            .count();
        Self {
            pending: states.len() - refused,
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
