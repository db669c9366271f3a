//! Shared by the client's integration tests: the workspace's test kit (`charla-testkit`), under
//! the short names these tests use.

#![allow(dead_code, unused_imports, missing_docs)]

pub use charla_testkit::{
    client_options as options, free_port, start_client as start, until, Process, TestServer, WAIT,
};
