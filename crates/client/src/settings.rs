//! The local config (username, server, preferences) and the composer drafts, under the OS's
//! directories for the app (`directories`), each overridable by an environment variable so tests
//! and end-to-end runs use temporary folders.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::files;

/// Overrides the config directory.
pub const CONFIG_DIR_ENV: &str = "CHARLA_CONFIG_DIR";
/// Overrides the data directory (drafts, outboxes).
pub const DATA_DIR_ENV: &str = "CHARLA_DATA_DIR";
/// The server the app connects to unless told otherwise.
pub const DEFAULT_SERVER_URL: &str = "ws://localhost:3050";

/// Where local files live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// `config.json` lives here.
    pub config_dir: PathBuf,
    /// Drafts and outboxes live here.
    pub data_dir: PathBuf,
}

impl Paths {
    /// The environment's overrides, else the OS's directories for Charla.
    ///
    /// # Errors
    /// [`Error::NoHome`] when neither is available.
    pub fn from_env() -> Result<Self> {
        let dirs = directories::ProjectDirs::from("app", "Charla", "Charla");
        let pick = |var: &str, fallback: Option<&Path>| {
            std::env::var_os(var)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .or_else(|| fallback.map(Path::to_owned))
                .ok_or(Error::NoHome)
        };
        Ok(Self {
            config_dir: pick(
                CONFIG_DIR_ENV,
                dirs.as_ref().map(directories::ProjectDirs::config_dir),
            )?,
            data_dir: pick(
                DATA_DIR_ENV,
                dirs.as_ref().map(directories::ProjectDirs::data_dir),
            )?,
        })
    }

    /// Both under one folder (tests, `charla-cli --data-dir`).
    #[must_use]
    pub fn under(dir: &Path) -> Self {
        Self {
            config_dir: dir.to_owned(),
            data_dir: dir.to_owned(),
        }
    }

    /// `config.json`.
    #[must_use]
    pub fn config_file(&self) -> PathBuf {
        self.config_dir.join("config.json")
    }

    /// `drafts.json`.
    #[must_use]
    pub fn drafts_file(&self) -> PathBuf {
        self.data_dir.join("drafts.json")
    }

    /// The outbox of one server and username.
    #[must_use]
    pub fn outbox_file(&self, server_url: &str, username: &str) -> PathBuf {
        let key = file_safe(&format!("{server_url}_{username}"));
        self.data_dir.join("outbox").join(format!("{key}.json"))
    }

    /// This device's key for `username` on `server_url` (one file per pair, named by a readable
    /// part and a hash of the exact pair, so two names that read alike never share a file).
    #[must_use]
    pub fn device_key_file(&self, server_url: &str, username: &str) -> PathBuf {
        let name = charla_protocol::rules::normalize_username(username).map_or_else(
            |_| username.trim().to_owned(),
            |n| charla_protocol::rules::username_key(&n),
        );
        let readable: String = file_safe(&format!("{server_url}_{name}"))
            .chars()
            .take(80)
            .collect();
        let pair = format!("{server_url}\n{name}");
        self.data_dir
            .join("keys")
            .join(format!("{readable}-{:016x}.key", fnv1a(pair.as_bytes())))
    }
}

/// `text` with everything but ASCII letters, digits and `-` made `_`: usable in any file name.
fn file_safe(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// FNV-1a, 64 bits: a stable file-name hash (not a secret).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Notification preferences.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default, rename_all = "camelCase")]
pub struct NotificationSettings {
    /// Desktop notifications for new messages.
    pub enabled: bool,
    /// Only when the message mentions my name.
    pub mentions_only: bool,
}

impl Default for NotificationSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            mentions_only: false,
        }
    }
}

/// Tray preferences.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default, rename_all = "camelCase")]
pub struct TraySettings {
    /// Closing the window hides it to the tray.
    pub close_to_tray: bool,
    /// Start when the user logs in.
    pub start_on_login: bool,
}

impl Default for TraySettings {
    fn default() -> Self {
        Self {
            close_to_tray: true,
            start_on_login: false,
        }
    }
}

/// `config.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default, rename_all = "camelCase")]
pub struct Config {
    /// The chosen username; `None` before the first run is complete.
    pub username: Option<String>,
    /// The server address as the user typed it.
    pub server_url: String,
    /// Notification preferences (read and written through [`Config::preferences`]).
    pub notifications: NotificationSettings,
    /// Tray preferences (read and written through [`Config::preferences`]).
    pub tray: TraySettings,
    /// Muted rooms, by server address: they notify and count only mentions.
    pub muted: BTreeMap<String, Vec<String>>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            username: None,
            server_url: DEFAULT_SERVER_URL.to_owned(),
            notifications: NotificationSettings::default(),
            tray: TraySettings::default(),
            muted: BTreeMap::new(),
        }
    }
}

/// The preferences the settings dialog edits, as one flat value (stored in `config.json` under
/// `notifications` and `tray`, where older versions put them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Preferences {
    /// Desktop notifications on (the tray's "Mute" turns this off).
    pub notifications: bool,
    /// Only when my name is mentioned.
    pub mentions_only: bool,
    /// Closing the window hides it to the tray.
    pub close_to_tray: bool,
    /// Start Charla when I log in.
    pub start_on_login: bool,
}

impl Default for Preferences {
    fn default() -> Self {
        Config::default().preferences()
    }
}

impl Config {
    /// The preferences, flat.
    #[must_use]
    pub fn preferences(&self) -> Preferences {
        Preferences {
            notifications: self.notifications.enabled,
            mentions_only: self.notifications.mentions_only,
            close_to_tray: self.tray.close_to_tray,
            start_on_login: self.tray.start_on_login,
        }
    }

    /// Replaces the preferences.
    pub fn set_preferences(&mut self, preferences: Preferences) {
        self.notifications.enabled = preferences.notifications;
        self.notifications.mentions_only = preferences.mentions_only;
        self.tray.close_to_tray = preferences.close_to_tray;
        self.tray.start_on_login = preferences.start_on_login;
    }

    /// The rooms muted on the configured server.
    #[must_use]
    pub fn muted_rooms(&self) -> &[String] {
        self.muted.get(&self.server_url).map_or(&[], Vec::as_slice)
    }

    /// Mutes (or unmutes) a room of the configured server.
    pub fn set_muted(&mut self, room: &str, muted: bool) {
        let rooms = self.muted.entry(self.server_url.clone()).or_default();
        rooms.retain(|r| r != room);
        if muted {
            rooms.push(room.to_owned());
            rooms.sort();
        }
        if rooms.is_empty() {
            self.muted.remove(&self.server_url);
        }
    }

    /// Loads the config (defaults when missing or corrupt; a corrupt file is kept as `.bad`).
    #[must_use]
    pub fn load(paths: &Paths) -> Self {
        files::read_json_or_default(&paths.config_file())
    }

    /// Saves the config atomically.
    ///
    /// # Errors
    /// When it cannot be written.
    pub fn save(&self, paths: &Paths) -> Result<()> {
        files::write_json(&paths.config_file(), self)
    }
}

/// Composer drafts, one per (server, room): `general`'s under the server's address (as before
/// rooms), another room's under `<address> <room>` (addresses hold no spaces).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Drafts(BTreeMap<String, String>);

impl Drafts {
    /// Loads the drafts (empty when missing or corrupt).
    #[must_use]
    pub fn load(paths: &Paths) -> Self {
        files::read_json_or_default(&paths.drafts_file())
    }

    /// The draft for a server's `general`.
    #[must_use]
    pub fn get(&self, server_url: &str) -> &str {
        self.get_in(server_url, charla_protocol::chat::GENERAL_ROOM)
    }

    /// The draft for a room of a server.
    #[must_use]
    pub fn get_in(&self, server_url: &str, room: &str) -> &str {
        self.0
            .get(&draft_key(server_url, room))
            .map_or("", String::as_str)
    }

    /// Every draft of a server, by room (`general`'s under `general`).
    #[must_use]
    pub fn of_server(&self, server_url: &str) -> BTreeMap<String, String> {
        self.0
            .iter()
            .filter_map(|(key, text)| {
                let room = if key == server_url {
                    charla_protocol::chat::GENERAL_ROOM
                } else {
                    key.strip_prefix(server_url)?.strip_prefix(' ')?
                };
                Some((room.to_owned(), text.clone()))
            })
            .collect()
    }

    /// Sets (or, when empty, clears) the draft for a server's `general` and saves.
    ///
    /// # Errors
    /// When it cannot be written.
    pub fn set(&mut self, paths: &Paths, server_url: &str, text: &str) -> Result<()> {
        self.set_in(paths, server_url, charla_protocol::chat::GENERAL_ROOM, text)
    }

    /// Sets (or, when empty, clears) the draft for a room of a server and saves.
    ///
    /// # Errors
    /// When it cannot be written.
    pub fn set_in(
        &mut self,
        paths: &Paths,
        server_url: &str,
        room: &str,
        text: &str,
    ) -> Result<()> {
        let key = draft_key(server_url, room);
        if text.is_empty() {
            self.0.remove(&key);
        } else {
            self.0.insert(key, text.to_owned());
        }
        files::write_json(&paths.drafts_file(), self)
    }
}

/// Where a draft is kept in `drafts.json`.
fn draft_key(server_url: &str, room: &str) -> String {
    if room == charla_protocol::chat::GENERAL_ROOM {
        server_url.to_owned()
    } else {
        format!("{server_url} {room}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preferences_read_and_write_the_file_s_nested_fields() {
        let mut config = Config::default();
        assert_eq!(
            config.preferences(),
            Preferences {
                notifications: true,
                mentions_only: false,
                close_to_tray: true,
                start_on_login: false,
            }
        );
        let changed = Preferences {
            notifications: false,
            mentions_only: true,
            close_to_tray: false,
            start_on_login: true,
        };
        config.set_preferences(changed);
        assert_eq!(config.preferences(), changed);
        let json = serde_json::to_value(&config).expect("json");
        assert_eq!(json["notifications"]["mentionsOnly"], true);
        assert_eq!(json["tray"]["startOnLogin"], true);
    }

    #[test]
    fn config_and_drafts_round_trip_and_survive_corruption() {
        let dir = tempfile::tempdir().expect("temp dir");
        let paths = Paths::under(dir.path());
        assert_eq!(Config::load(&paths), Config::default());
        let config = Config {
            username: Some("alice".into()),
            ..Config::default()
        };
        config.save(&paths).expect("saves");
        assert_eq!(Config::load(&paths), config);

        let mut drafts = Drafts::load(&paths);
        drafts
            .set(&paths, "ws://a", "half a thought")
            .expect("saves");
        assert_eq!(Drafts::load(&paths).get("ws://a"), "half a thought");
        drafts
            .set_in(&paths, "ws://a", "ops", "the ops draft")
            .expect("saves");
        let loaded = Drafts::load(&paths);
        assert_eq!(
            (loaded.get("ws://a"), loaded.get_in("ws://a", "ops")),
            ("half a thought", "the ops draft"),
            "one draft per room"
        );
        assert_eq!(loaded.get_in("ws://a", "general"), "half a thought");
        drafts
            .set_in(&paths, "ws://ab", "ops", "another server's")
            .expect("saves");
        let of_a = Drafts::load(&paths).of_server("ws://a");
        assert_eq!(
            of_a.into_iter().collect::<Vec<_>>(),
            vec![
                ("general".to_owned(), "half a thought".to_owned()),
                ("ops".to_owned(), "the ops draft".to_owned())
            ],
            "a server's drafts by room, not a longer address's"
        );

        std::fs::write(paths.config_file(), "{\"username\": 5").expect("corrupts");
        assert_eq!(Config::load(&paths), Config::default());
        assert!(files::bad_path(&paths.config_file()).exists());
    }

    #[test]
    fn partial_configs_keep_their_values_and_default_the_rest() {
        let dir = tempfile::tempdir().expect("temp dir");
        let paths = Paths::under(dir.path());
        std::fs::write(
            paths.config_file(),
            r#"{"username":"bob","notifications":{"mentionsOnly":true}}"#,
        )
        .expect("writes");
        let config = Config::load(&paths);
        assert_eq!(config.username.as_deref(), Some("bob"));
        assert_eq!(config.server_url, DEFAULT_SERVER_URL);
        assert!(config.notifications.enabled && config.notifications.mentions_only);
    }

    #[test]
    fn muted_rooms_are_kept_per_server() {
        let mut config = Config {
            server_url: "ws://a".into(),
            ..Config::default()
        };
        config.set_muted("ops", true);
        config.set_muted("ops", true);
        config.set_muted("dev", true);
        assert_eq!(config.muted_rooms(), ["dev", "ops"]);
        config.server_url = "ws://b".into();
        assert!(config.muted_rooms().is_empty(), "another server's rooms");
        config.server_url = "ws://a".into();
        config.set_muted("dev", false);
        config.set_muted("ops", false);
        assert!(config.muted.is_empty(), "nothing left behind");
    }
}
