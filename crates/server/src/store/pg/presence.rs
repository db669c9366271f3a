//! Who is connected to which node (several nodes on one PostgreSQL): each node writes the
//! names its connections hold and that it is alive, and reads the names held elsewhere. A
//! node silent for [`NODE_TIMEOUT_MS`] is gone: the next node to look deletes it, and its
//! names with it, so its users are shown offline within that time and a second.
//!
//! Times are the database's clock, so nodes whose clocks disagree still agree on who is late.

use postgres::Client;

use super::worker::pg_error;
use crate::error::Result;
use crate::store::HeldName;

/// A node that has not said it is alive for this long is gone.
pub const NODE_TIMEOUT_MS: i64 = 10_000;

/// Now, in milliseconds, by the database's clock.
const NOW_MS: &str = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint";

/// Says `node` is alive.
fn heartbeat(tx: &mut postgres::Transaction<'_>, node: &str) -> Result<()> {
    tx.execute(
        &format!(
            "INSERT INTO nodes (node, seen_ms) VALUES ($1, {NOW_MS})
             ON CONFLICT (node) DO UPDATE SET seen_ms = excluded.seen_ms"
        ),
        &[&node],
    )
    .map(|_| ())
    .map_err(pg_error)
}

/// Records that a connection of `node` holds `held`, unless the name is held elsewhere in a
/// way that excludes it (a guest's name anywhere, or a guest asking for a name any node
/// holds); whether it may. Writes about one name take turns (an advisory lock on it).
pub(super) fn hold(client: &mut Client, node: &str, held: &HeldName) -> Result<bool> {
    let mut tx = client.transaction().map_err(pg_error)?;
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('charla-presence:' || $1, 0))",
        &[&held.key],
    )
    .map_err(pg_error)?;
    heartbeat(&mut tx, node)?;
    // Rows of a node gone silent do not count (and go now).
    tx.execute(
        &format!(
            "DELETE FROM nodes WHERE seen_ms < {NOW_MS} - $1
             AND EXISTS (SELECT 1 FROM presence p WHERE p.node = nodes.node AND p.name_key = $2)"
        ),
        &[&NODE_TIMEOUT_MS, &held.key],
    )
    .map_err(pg_error)?;
    let excluded = tx
        .query_opt(
            "SELECT 1 FROM presence WHERE name_key = $1 AND node <> $2 AND (guest OR $3) LIMIT 1",
            &[&held.key, &node, &held.guest],
        )
        .map_err(pg_error)?
        .is_some();
    if excluded {
        return Ok(false);
    }
    tx.execute(
        "INSERT INTO presence (node, name_key, name, guest) VALUES ($1, $2, $3, $4)
         ON CONFLICT (node, name_key) DO UPDATE SET name = excluded.name, guest = excluded.guest",
        &[&node, &held.key, &held.name, &held.guest],
    )
    .map_err(pg_error)?;
    tx.commit().map_err(pg_error)?;
    Ok(true)
}

/// Makes `node`'s rows exactly `held`, says it is alive, deletes nodes gone silent, and
/// returns the names held on other nodes.
pub(super) fn sync(client: &mut Client, node: &str, held: &[HeldName]) -> Result<Vec<HeldName>> {
    let keys: Vec<&str> = held.iter().map(|h| h.key.as_str()).collect();
    let names: Vec<&str> = held.iter().map(|h| h.name.as_str()).collect();
    let guests: Vec<bool> = held.iter().map(|h| h.guest).collect();
    let mut tx = client.transaction().map_err(pg_error)?;
    heartbeat(&mut tx, node)?;
    tx.execute(
        "DELETE FROM presence WHERE node = $1 AND NOT (name_key = ANY($2))",
        &[&node, &keys],
    )
    .map_err(pg_error)?;
    tx.execute(
        "INSERT INTO presence (node, name_key, name, guest)
         SELECT $1, * FROM unnest($2::text[], $3::text[], $4::bool[])
         ON CONFLICT DO NOTHING",
        &[&node, &keys, &names, &guests],
    )
    .map_err(pg_error)?;
    let gone = tx
        .execute(
            &format!("DELETE FROM nodes WHERE seen_ms < {NOW_MS} - $1"),
            &[&NODE_TIMEOUT_MS],
        )
        .map_err(pg_error)?;
    if gone > 0 {
        tracing::warn!(
            nodes = gone,
            "nodes silent for {NODE_TIMEOUT_MS} ms are gone; their users are offline"
        );
    }
    let elsewhere = tx
        .query(
            "SELECT DISTINCT ON (name_key) name_key, name, guest FROM presence
             WHERE node <> $1 ORDER BY name_key, guest DESC",
            &[&node],
        )
        .map_err(pg_error)?
        .iter()
        .map(|row| HeldName {
            key: row.get(0),
            name: row.get(1),
            guest: row.get(2),
        })
        .collect();
    tx.commit().map_err(pg_error)?;
    Ok(elsewhere)
}

/// Forgets `node` and its names (it is stopping).
pub(super) fn leave(client: &mut Client, node: &str) -> Result<()> {
    client
        .execute("DELETE FROM nodes WHERE node = $1", &[&node])
        .map(|_| ())
        .map_err(pg_error)
}
