//! A connection's queue of encoded frames: bounded, filled without waiting, emptied in batches.
//!
//! The room pushes one frame into every member's queue per broadcast, so the push is the hot
//! path: a short uncontended lock and a `VecDeque` append (tokio's bounded channel, with its
//! semaphore and block list, was a third of the server's profile at full fan-out). The writer
//! takes everything queued at once, writes it and flushes once.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};

use axum::extract::ws::Utf8Bytes;
use tokio::sync::Notify;

use crate::link::SendFailure;

/// The queue; share it in an `Arc` between the room (pushing) and the connection (writing).
pub struct FrameQueue {
    state: Mutex<State>,
    ready: Notify,
    capacity: usize,
}

struct State {
    frames: VecDeque<Utf8Bytes>,
    closed: bool,
}

impl FrameQueue {
    /// An empty queue holding at most `capacity` frames.
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        Self {
            state: Mutex::new(State {
                frames: VecDeque::new(),
                closed: false,
            }),
            ready: Notify::new(),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing in here can be left half-done by a panic.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Queues a frame.
    ///
    /// # Errors
    /// [`SendFailure::Full`] when `capacity` frames are waiting, [`SendFailure::Closed`] once
    /// the connection has ended.
    pub fn push(&self, frame: Utf8Bytes) -> Result<(), SendFailure> {
        {
            let mut state = self.lock();
            if state.closed {
                return Err(SendFailure::Closed);
            }
            if state.frames.len() >= self.capacity {
                return Err(SendFailure::Full);
            }
            state.frames.push_back(frame);
        }
        self.ready.notify_one();
        Ok(())
    }

    /// Waits until frames are queued, then moves all of them into `batch` (which should be
    /// empty). Safe to cancel: nothing is taken until it completes.
    pub async fn take_all(&self, batch: &mut VecDeque<Utf8Bytes>) {
        loop {
            {
                let mut state = self.lock();
                if !state.frames.is_empty() {
                    std::mem::swap(&mut state.frames, batch);
                    return;
                }
            }
            self.ready.notified().await;
        }
    }

    /// Marks the connection ended: later pushes fail with [`SendFailure::Closed`].
    pub fn close(&self) {
        let mut state = self.lock();
        state.closed = true;
        state.frames.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[tokio::test]
    async fn frames_come_out_in_order_in_one_batch() {
        let queue = FrameQueue::new(3);
        for f in ["a", "b", "c"] {
            queue.push(Utf8Bytes::from(f)).expect("room");
        }
        assert_eq!(queue.push(Utf8Bytes::from("d")), Err(SendFailure::Full));
        let mut batch = VecDeque::new();
        queue.take_all(&mut batch).await;
        let got: Vec<&str> = batch.iter().map(Utf8Bytes::as_str).collect();
        assert_eq!(got, ["a", "b", "c"]);
        queue.push(Utf8Bytes::from("e")).expect("room again");
        queue.close();
        assert_eq!(queue.push(Utf8Bytes::from("f")), Err(SendFailure::Closed));
    }

    #[tokio::test]
    async fn a_waiting_writer_wakes_for_a_push() {
        let queue = Arc::new(FrameQueue::new(8));
        let writer = {
            let queue = queue.clone();
            tokio::spawn(async move {
                let mut batch = VecDeque::new();
                queue.take_all(&mut batch).await;
                batch.len()
            })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        queue.push(Utf8Bytes::from("x")).expect("room");
        let taken = tokio::time::timeout(Duration::from_secs(2), writer)
            .await
            .expect("woken")
            .expect("no panic");
        assert_eq!(taken, 1);
    }
}
