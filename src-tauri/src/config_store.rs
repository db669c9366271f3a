//! The one owner of `config.json` while the app runs: read once at start, kept in memory, and
//! written by one writer at a time (atomically: a temporary file, then a rename).
//!
//! Before this, the config was read from disk for every incoming message and written from two
//! places that could race on the same temporary file. Whoever must follow changes (the tray's
//! mute mark) subscribes instead of being called by each writer.

use std::sync::{Mutex, MutexGuard, PoisonError};

use charla_client::settings::{Config, Paths, Preferences};

type Listener = Box<dyn Fn(&Config) + Send + Sync>;

/// The config, in memory, and its file.
pub struct ConfigStore {
    paths: Paths,
    current: Mutex<Config>,
    /// Held for a whole update: writes happen one at a time, in the order listeners see them.
    writer: Mutex<()>,
    listeners: Mutex<Vec<Listener>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl ConfigStore {
    /// Reads the config (the defaults when it is missing or unreadable).
    #[must_use]
    pub fn load(paths: Paths) -> Self {
        let current = Config::load(&paths);
        Self {
            paths,
            current: Mutex::new(current),
            writer: Mutex::new(()),
            listeners: Mutex::new(Vec::new()),
        }
    }

    /// The config now.
    #[must_use]
    pub fn get(&self) -> Config {
        lock(&self.current).clone()
    }

    /// The preferences now.
    #[must_use]
    pub fn preferences(&self) -> Preferences {
        lock(&self.current).preferences()
    }

    /// Changes the config with `change` and saves it; returns what `change` returned and the
    /// saved config. Memory changes only once the file is written; then every subscriber is told.
    ///
    /// # Errors
    /// When the file cannot be written (the config in memory is left as it was).
    pub fn update<R>(
        &self,
        change: impl FnOnce(&mut Config) -> R,
    ) -> charla_client::Result<(R, Config)> {
        let _writing = lock(&self.writer);
        let mut config = self.get();
        let result = change(&mut config);
        config.save(&self.paths)?;
        lock(&self.current).clone_from(&config);
        for listener in lock(&self.listeners).iter() {
            listener(&config);
        }
        Ok((result, config))
    }

    /// Replaces the preferences; returns those it replaced and the saved config.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn set_preferences(
        &self,
        preferences: Preferences,
    ) -> charla_client::Result<(Preferences, Config)> {
        self.update(|config| {
            let before = config.preferences();
            config.set_preferences(preferences);
            before
        })
    }

    /// Turns notifications off, or back on.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn toggle_mute(&self) -> charla_client::Result<Config> {
        let ((), config) =
            self.update(|config| config.notifications.enabled = !config.notifications.enabled)?;
        Ok(config)
    }

    /// Calls `listener` after every saved change.
    pub fn subscribe(&self, listener: impl Fn(&Config) + Send + Sync + 'static) {
        lock(&self.listeners).push(Box::new(listener));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn changes_are_saved_then_seen_and_a_failed_write_changes_nothing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = ConfigStore::load(Paths::under(dir.path()));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        store.subscribe(move |c| lock(&log).push(c.notifications.enabled));

        let muted = store.toggle_mute().expect("saved");
        assert!(!muted.notifications.enabled);
        assert_eq!(Config::load(&Paths::under(dir.path())), muted, "on disk");
        assert_eq!(*lock(&seen), vec![false]);

        let (before, after) = store
            .set_preferences(Preferences {
                mentions_only: true,
                ..store.preferences()
            })
            .expect("saved");
        assert!(!before.mentions_only && after.notifications.mentions_only);

        // A config folder that cannot be written: the update fails and nothing changes.
        let blocked = dir.path().join("blocked");
        std::fs::write(&blocked, b"a file where the folder should be").expect("write");
        let stuck = ConfigStore::load(Paths::under(&blocked));
        assert!(stuck.toggle_mute().is_err());
        assert!(stuck.preferences().notifications, "memory unchanged");
    }
}
