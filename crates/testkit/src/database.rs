//! The test run's PostgreSQL as tests handle it from outside: stopped and started with
//! `pg_ctl` (as the user that owns it), and a node's `/healthz` asked.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::wait::{poll, Deadline};

/// Runs `pg_ctl` on the test run's PostgreSQL (`scripts/pg.sh`'s) as the user that owns it.
pub fn pg_ctl(args: &[&str]) {
    let bin = std::env::var("CHARLA_TEST_PGBIN").expect("CHARLA_TEST_PGBIN (scripts/pg.sh)");
    let data = std::env::var("CHARLA_TEST_PGDATA").expect("CHARLA_TEST_PGDATA (scripts/pg.sh)");
    let user = std::env::var("CHARLA_TEST_PGUSER").expect("CHARLA_TEST_PGUSER (scripts/pg.sh)");
    let log = Path::new(&data).with_file_name("restarted.log");
    let me = Command::new("id").arg("-un").output().expect("id runs");
    let mut command = if String::from_utf8_lossy(&me.stdout).trim() == user {
        Command::new(format!("{bin}/pg_ctl"))
    } else {
        // scripts/pg.sh ran it as the package's user because this one is root.
        let mut as_user = Command::new("setpriv");
        as_user.args([
            &format!("--reuid={user}"),
            &format!("--regid={user}"),
            "--init-groups",
            &format!("{bin}/pg_ctl"),
        ]);
        as_user
    };
    let out = command
        .args(args)
        .args(["-D", &data, "-l"])
        .arg(&log)
        .args(["-w", "-t", "30"])
        .output()
        .expect("pg_ctl runs");
    assert!(
        out.status.success(),
        "pg_ctl {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `GET /healthz` of the node on `port`: its status line and body (or why there is none).
pub async fn health(port: u16) -> String {
    let request = async {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            .await?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await?;
        Ok::<_, std::io::Error>(answer)
    };
    tokio::time::timeout(Duration::from_secs(10), request)
        .await
        .map_or_else(
            |_| "no answer in 10 s".into(),
            |r| r.unwrap_or_else(|e| e.to_string()),
        )
}

/// Whether the node on `port` says it is healthy within 20 s (asked every 100 ms).
pub async fn wait_healthy(port: u16) -> bool {
    let deadline = Deadline::within(Duration::from_secs(20)).every(Duration::from_millis(100));
    poll(deadline, async || {
        health(port).await.starts_with("HTTP/1.1 200")
    })
    .await
    .is_ok()
}
