//! Clients for tests: a reconnection schedule of milliseconds, owners joined with their key,
//! and waiting for an event.

use std::path::Path;
use std::time::Duration;

use charla_client::{spawn, Backoff, ClientEvent, ClientHandle, ClientOptions};
use tokio::sync::mpsc;

/// How long a test waits for what it expects before it fails.
pub const WAIT: Duration = Duration::from_secs(20);

/// Options for `name` on `server`, its outbox in `dir`, retrying every 50–200 ms.
#[must_use]
pub fn client_options(server: &str, name: &str, dir: &Path) -> ClientOptions {
    let mut options =
        ClientOptions::new(server, name, dir.join(format!("{name}.json"))).expect("options");
    options.backoff = Backoff::new(Duration::from_millis(50), Duration::from_millis(200), 0.5);
    options
}

/// Starts a client; its events arrive on the receiver.
#[must_use]
pub fn start_client(
    options: ClientOptions,
) -> (ClientHandle, mpsc::UnboundedReceiver<ClientEvent>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (spawn(options, tx), rx)
}

/// Starts a client that owns `name` with `key` (its outbox in `dir`) and waits until it has
/// joined as the owner.
pub async fn start_owner(
    server: &str,
    name: &str,
    key: &str,
    dir: &Path,
) -> (ClientHandle, mpsc::UnboundedReceiver<ClientEvent>) {
    let mut options = client_options(server, name, dir);
    options.device_key = Some(key.to_owned());
    let (client, mut events) = start_client(options);
    until(&mut events, |e| {
        matches!(e, ClientEvent::Joined { owned: true, .. }).then_some(())
    })
    .await;
    (client, events)
}

/// The first event for which `pick` returns something, within [`WAIT`].
pub async fn until<T>(
    events: &mut mpsc::UnboundedReceiver<ClientEvent>,
    mut pick: impl FnMut(&ClientEvent) -> Option<T>,
) -> T {
    tokio::time::timeout(WAIT, async {
        loop {
            if let Some(found) = pick(&events.recv().await.expect("client running")) {
                return found;
            }
        }
    })
    .await
    .expect("the expected event came in time")
}
