//! charla-testkit: what Charla's integration tests share, written once.
//!
//! - [`TestServer`]: a real `charla-server` (its `run`) in this process, on `127.0.0.1`.
//! - [`Process`]: a child process, killed by its PID and reaped whatever the test does.
//! - [`storage_in`]: a test folder's `SQLite` file, or its PostgreSQL database when the run
//!   has one.
//! - [`client_options`], [`start_client`], [`start_owner`], [`until`]: clients that reconnect
//!   within milliseconds (owning their name with a key), and waiting, bounded in time, for the
//!   event a test expects.
//! - [`eventually`], [`poll`], [`eventually_blocking`]: waiting, bounded in time, for a
//!   condition to hold, looked at again at a stated pace ([`Deadline`]).
//! - [`pg_ctl`], [`health`], [`wait_healthy`]: the run's PostgreSQL stopped and started, and
//!   a node's `/healthz`.
//!
//! Only ever a dev-dependency. Panics are how it reports a broken test setup.

#![allow(clippy::missing_panics_doc)]

mod client;
mod database;
mod process;
mod server;
mod storage;
mod wait;

pub use client::{client_options, start_client, start_owner, until, WAIT};
pub use database::{health, pg_ctl, wait_healthy};
pub use process::{free_port, Process};
pub use server::TestServer;
pub use storage::{db_arg_in, on_postgres, storage_in, TEST_DB_VARIABLE};
pub use wait::{eventually, eventually_blocking, poll, Check, Deadline, POLL};
