//! Child processes that are always stopped by their PID and reaped, and free ports for them.

use std::net::TcpListener;
use std::process::{Child, Command};
use std::time::Duration;

use crate::wait::{eventually_blocking, Deadline};

/// A port nobody listens on now (for a child process that must be told its port).
#[must_use]
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// A child process, killed and reaped when dropped.
pub struct Process(pub Child);

impl Process {
    /// Spawns `command` and waits (5 s at most) until something listens on `port`.
    pub fn listening(command: &mut Command, port: u16) -> Self {
        let process = Self(command.spawn().expect("process starts"));
        // On a panic, `process` is dropped: killed and reaped.
        eventually_blocking(
            Deadline::within(Duration::from_secs(5)).every(Duration::from_millis(25)),
            &format!("something listening on {port}"),
            || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
        );
        process
    }

    /// SIGKILL, and wait for it to be gone.
    pub fn kill(mut self) {
        self.0.kill().expect("SIGKILL");
        self.0.wait().expect("reaped");
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
