//! The one event the webview listens to, and the bridge task that feeds it.

use charla_client::ClientEvent;
use tokio::sync::mpsc;

/// Every [`ClientEvent`] reaches the UI under this name, as `{"event": "...", ...}`.
pub const CLIENT_EVENT: &str = "client-event";

/// Where bridged events go: the app's webview, or a test's buffer.
pub trait EventSink: Send + 'static {
    /// Delivers one event.
    fn deliver(&self, event: &ClientEvent);
}

impl EventSink for tauri::AppHandle {
    fn deliver(&self, event: &ClientEvent) {
        use tauri::Emitter;
        crate::system::observe(self, event);
        if let Err(e) = self.emit(CLIENT_EVENT, event) {
            tracing::warn!(error = %e, "could not forward an event to the window");
        }
    }
}

/// Forwards events in order until the client stops.
pub async fn bridge(mut events: mpsc::UnboundedReceiver<ClientEvent>, sink: impl EventSink) {
    while let Some(event) = events.recv().await {
        sink.deliver(&event);
    }
}
