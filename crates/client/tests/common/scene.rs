//! Two owners of a server keeping history, bo connected directly and ana through a [`Gate`]
//! a test closes and reopens: the scene of the tests of changes and threads through cuts.

use charla_client::{ClientEvent, ClientHandle, ConnectionStatus};
use charla_server::ServerConfig;
use charla_testkit::{start_owner, until, TestServer};
use tempfile::TempDir;
use tokio::sync::mpsc::UnboundedReceiver;

use super::gate::Gate;

type Events = UnboundedReceiver<ClientEvent>;

pub const KEY_A: &str = "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1";
pub const KEY_B: &str = "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2";

/// A server keeping history (without rate limits, or `per_sec` messages a second), a gate in
/// front of it, bo connected to it directly and ana through the gate, both owning their names.
pub struct Scene {
    pub server: TestServer,
    pub gate: Gate,
    pub bo: ClientHandle,
    pub bo_events: Events,
    pub ana: ClientHandle,
    pub ana_events: Events,
    /// ana's folder, for ana again after a restart.
    pub ana_dir: TempDir,
    _folders: [TempDir; 2],
}

impl Scene {
    pub async fn start(per_sec: u32) -> Self {
        let data = tempfile::tempdir().expect("temp dir");
        let server = TestServer::start(ServerConfig {
            storage: charla_testkit::storage_in(data.path()),
            rate_limit_per_sec: per_sec,
            ..TestServer::unlimited()
        })
        .await;
        let gate = Gate::start(server.addr).await;
        let (ana_dir, bo_dir) = (
            tempfile::tempdir().expect("dir"),
            tempfile::tempdir().expect("dir"),
        );
        let (bo, bo_events) = start_owner(&server.http_url(), "bo", KEY_B, bo_dir.path()).await;
        let (ana, ana_events) = start_owner(&gate.http_url(), "ana", KEY_A, ana_dir.path()).await;
        Self {
            server,
            gate,
            bo,
            bo_events,
            ana,
            ana_events,
            ana_dir,
            _folders: [data, bo_dir],
        }
    }

    /// Closes the gate and waits until ana knows it is offline.
    pub async fn cut_ana_off(&mut self) {
        self.gate.close();
        until(&mut self.ana_events, |e| {
            matches!(
                e,
                ClientEvent::Status(ConnectionStatus::Reconnecting { .. })
            )
            .then_some(())
        })
        .await;
    }
}
