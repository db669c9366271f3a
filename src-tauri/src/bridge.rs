//! The one event the webview listens to, and the bridge task that feeds it: client events in
//! order, batched, emitted. Imports nothing else of the app: what must see each event on its way
//! (unread counts, notifications) and writes what the window receives of it (each message
//! marked, `whose`) is handed to [`WebviewSink`] at setup.

use std::sync::Arc;

use charla_client::ClientEvent;
use tauri::{AppHandle, Emitter};
use tokio::sync::mpsc;

/// Every [`ClientEvent`] reaches the UI under this name, as an array of
/// `{"event": "...", ...}` objects in order (a single object is accepted too).
pub const CLIENT_EVENT: &str = "client-event";

/// Most events handed to the webview in one go.
const MAX_BATCH: usize = 256;

/// Where bridged events go: the app's webview, or a test's buffer.
pub trait EventSink: Send + 'static {
    /// Delivers one event.
    fn deliver(&self, event: &ClientEvent);

    /// Delivers events that were waiting together, in order.
    fn deliver_all(&self, events: &[ClientEvent]) {
        for event in events {
            self.deliver(event);
        }
    }
}

/// A function that sees every event on its way to the window and writes what the window
/// receives of it (`None`: nothing).
pub type Observer = Arc<dyn Fn(&ClientEvent) -> Option<serde_json::Value> + Send + Sync>;

/// The app's webview, with what must see each event before it and write it (the notifier).
#[derive(Clone)]
pub struct WebviewSink {
    app: AppHandle,
    observe: Observer,
}

impl WebviewSink {
    /// Events go to `app`'s webview as `observe` writes them.
    #[must_use]
    pub fn new(app: AppHandle, observe: Observer) -> Self {
        Self { app, observe }
    }
}

impl EventSink for WebviewSink {
    fn deliver(&self, event: &ClientEvent) {
        self.deliver_all(std::slice::from_ref(event));
    }

    /// One emit for the whole batch: each emit is a script the webview evaluates; batching a
    /// burst of a thousand messages saved the web process about 12 MiB (`npm run footprint`).
    fn deliver_all(&self, events: &[ClientEvent]) {
        let written: Vec<serde_json::Value> =
            events.iter().filter_map(|e| (self.observe)(e)).collect();
        if let Err(e) = self.app.emit(CLIENT_EVENT, written) {
            tracing::warn!(error = %e, "could not forward events to the window");
        }
    }
}

/// Forwards events in order until the client stops. Whatever is already waiting when an event
/// arrives goes with it (no waiting for more, so nothing is delayed).
pub async fn bridge(mut events: mpsc::UnboundedReceiver<ClientEvent>, sink: impl EventSink) {
    let mut batch = Vec::new();
    while let Some(event) = events.recv().await {
        batch.push(event);
        while batch.len() < MAX_BATCH {
            match events.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        sink.deliver_all(&batch);
        batch.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Batches(Arc<Mutex<Vec<Vec<String>>>>);

    impl EventSink for Batches {
        fn deliver(&self, _event: &ClientEvent) {}

        fn deliver_all(&self, events: &[ClientEvent]) {
            let names = events
                .iter()
                .map(|e| match e {
                    ClientEvent::UserJoined { username, .. } => username.clone(),
                    other => format!("{other:?}"),
                })
                .collect();
            self.0.lock().expect("not poisoned").push(names);
        }
    }

    #[tokio::test]
    async fn events_waiting_together_go_in_one_batch_in_order() {
        let (tx, rx) = mpsc::unbounded_channel();
        for name in ["a", "b", "c"] {
            tx.send(ClientEvent::UserJoined {
                username: name.into(),
                guest: false,
            })
            .expect("open");
        }
        drop(tx);
        let sink = Batches::default();
        bridge(rx, sink.clone()).await;
        let batches = sink.0.lock().expect("not poisoned").clone();
        assert_eq!(batches, vec![vec!["a", "b", "c"]]);
    }
}
