//! A connection's queue of encoded packets: bounded in bytes, filled without waiting, emptied
//! in batches, and giving its memory back once drained.
//!
//! The room pushes one packet into every member's queue per broadcast, so the push is the hot
//! path: a short uncontended lock and a `VecDeque` append of a reference-counted buffer shared
//! by every receiver (tokio's bounded channel, with its semaphore and block list, was a third of
//! the server's profile at full fan-out). The bound is in bytes, counting each shared buffer in
//! full for every queue that holds it, so what one connection can make the server keep is
//! known whatever the packet sizes. A join storm leaves thousands of small packets behind for a
//! moment; once the carrier has taken them, the spare capacity is freed, so an idle connection
//! holds no more than a fresh one.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};

use bytes::Bytes;
use smallvec::SmallVec;
use tokio::sync::Notify;

/// Why a frame could not be queued for a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SendFailure {
    /// The connection's queue holds its limit in bytes: it reads slower than the room talks.
    #[error("the client's queue is full")]
    Full,
    /// The connection is gone.
    #[error("the connection is closed")]
    Closed,
    /// The payload could not be encoded (a bug, never a peer's doing).
    #[error("the payload could not be encoded")]
    Encoding,
}

/// Packets taken at once. Mostly one or two (a chat message, its ack): those need no
/// allocation, which at full fan-out is one per delivery saved.
pub type Taken = SmallVec<[Bytes; 2]>;

/// Spare slots an empty queue may keep (32 bytes each) before its memory is given back.
const KEEP_SLOTS: usize = 4;

/// The queue; the room pushes, the connection's carrier takes.
pub struct FrameQueue {
    state: Mutex<State>,
    ready: Notify,
    capacity_bytes: usize,
}

struct State {
    frames: VecDeque<Bytes>,
    bytes: usize,
    closed: bool,
    /// A place kept for an answer, as the number of frames ahead of it: nothing behind it is
    /// taken until the answer fills it (see [`FrameQueue::keep_place`]).
    place: Option<usize>,
}

impl State {
    /// How many frames may be taken now.
    fn takeable(&self) -> usize {
        self.place
            .map_or(self.frames.len(), |p| p.min(self.frames.len()))
    }
}

impl FrameQueue {
    /// An empty queue holding at most `capacity_bytes` (one packet larger than that is still
    /// taken when the queue is empty, so a big answer is never refused to an idle client).
    #[must_use]
    pub fn new(capacity_bytes: usize) -> Self {
        Self {
            state: Mutex::new(State {
                frames: VecDeque::new(),
                bytes: 0,
                closed: false,
                place: None,
            }),
            ready: Notify::new(),
            capacity_bytes,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing in here can be left half-done by a panic.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Queues a packet.
    ///
    /// # Errors
    /// [`SendFailure::Full`] when it would take the queue past its bytes, [`SendFailure::Closed`]
    /// once the connection has ended.
    pub fn push(&self, frame: Bytes) -> Result<(), SendFailure> {
        {
            let mut state = self.lock();
            if state.closed {
                return Err(SendFailure::Closed);
            }
            if !state.frames.is_empty() && state.bytes + frame.len() > self.capacity_bytes {
                return Err(SendFailure::Full);
            }
            state.bytes += frame.len();
            state.frames.push_back(frame);
        }
        self.ready.notify_one();
        Ok(())
    }

    /// Waits until packets are queued (or the queue is closed), then takes the oldest ones: at
    /// most `max_frames`, and no more than `max_bytes` unless the first alone is bigger. Empty
    /// only once the queue is closed. Safe to cancel: nothing is taken until it completes.
    pub async fn take(&self, max_frames: usize, max_bytes: usize) -> Taken {
        loop {
            {
                let mut state = self.lock();
                if state.takeable() > 0 || state.closed {
                    return take_from(&mut state, max_frames, max_bytes);
                }
            }
            self.ready.notified().await;
        }
    }

    /// Takes what is queued now, like [`FrameQueue::take`] without waiting (possibly nothing).
    #[cfg(test)]
    pub fn take_now(&self, max_frames: usize, max_bytes: usize) -> Taken {
        take_from(&mut self.lock(), max_frames, max_bytes)
    }

    /// Keeps a place at the end of the queue for an answer decided now and sent a moment
    /// later: frames pushed meanwhile wait behind it, so the client reads the answer where it
    /// was decided (a join's history before the first live message after it). One place at a
    /// time; it is given up by [`FrameQueue::fill_place`] or [`FrameQueue::give_up_place`].
    pub fn keep_place(&self) {
        let mut state = self.lock();
        if !state.closed && state.place.is_none() {
            state.place = Some(state.frames.len());
        }
    }

    /// Puts `frame` in the kept place (at the end, if none is kept). An answer is never refused
    /// for the bound: it was decided while the queue had room.
    ///
    /// # Errors
    /// [`SendFailure::Closed`] once the connection has ended.
    pub fn fill_place(&self, frame: Bytes) -> Result<(), SendFailure> {
        {
            let mut state = self.lock();
            if state.closed {
                return Err(SendFailure::Closed);
            }
            let at = state.place.take().unwrap_or(state.frames.len());
            let at = at.min(state.frames.len());
            state.bytes += frame.len();
            state.frames.insert(at, frame);
        }
        self.ready.notify_one();
        Ok(())
    }

    /// Gives up a kept place without an answer: what waited behind it may be taken.
    pub fn give_up_place(&self) {
        let released = self.lock().place.take().is_some();
        if released {
            self.ready.notify_one();
        }
    }

    /// Bytes waiting.
    #[cfg(test)]
    pub fn queued_bytes(&self) -> usize {
        self.lock().bytes
    }

    /// Marks the connection ended: what was queued is dropped, later pushes fail with
    /// [`SendFailure::Closed`], and a waiting taker wakes with `last` (a farewell such as `41`,
    /// or nothing), then finds the queue empty.
    pub fn close_with(&self, last: Vec<Bytes>) {
        {
            let mut state = self.lock();
            if state.closed {
                return;
            }
            state.closed = true;
            state.place = None;
            state.bytes = last.iter().map(Bytes::len).sum();
            state.frames = last.into();
        }
        self.ready.notify_one();
    }
}

fn take_from(state: &mut State, max_frames: usize, max_bytes: usize) -> Taken {
    let mut count = 0;
    let mut bytes = 0;
    let takeable = state.takeable();
    for frame in state.frames.iter().take(takeable) {
        if count == max_frames || (count > 0 && bytes + frame.len() > max_bytes) {
            break;
        }
        count += 1;
        bytes += frame.len();
    }
    let taken: Taken = state.frames.drain(..count).collect();
    state.bytes -= bytes;
    if let Some(place) = &mut state.place {
        *place -= count;
    }
    if state.frames.is_empty() && state.frames.capacity() > KEEP_SLOTS {
        state.frames = VecDeque::new();
    }
    taken
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    fn texts(frames: &[Bytes]) -> Vec<&str> {
        frames
            .iter()
            .map(|f| std::str::from_utf8(f).unwrap_or("?"))
            .collect()
    }

    #[tokio::test]
    async fn bounded_in_bytes_taken_in_order_and_in_parts() {
        let queue = FrameQueue::new(6);
        for f in ["ab", "cd", "ef"] {
            queue.push(Bytes::from(f)).expect("room");
        }
        assert_eq!(queue.push(Bytes::from("g")), Err(SendFailure::Full));
        assert_eq!(queue.queued_bytes(), 6);
        assert_eq!(texts(&queue.take(2, usize::MAX).await), ["ab", "cd"]);
        assert_eq!(
            texts(&queue.take(9, 1).await),
            ["ef"],
            "the first always fits"
        );
        queue
            .push(Bytes::from("a packet bigger than the queue"))
            .expect("an empty queue takes it");
        queue.close_with(vec![Bytes::from("41")]);
        assert_eq!(queue.push(Bytes::from("h")), Err(SendFailure::Closed));
        assert_eq!(
            texts(&queue.take(9, 99).await),
            ["41"],
            "only the farewell is left"
        );
        assert!(
            queue.take(9, 9).await.is_empty(),
            "closed: nothing, at once"
        );
    }

    #[tokio::test]
    async fn a_drained_queue_gives_its_memory_back() {
        let queue = FrameQueue::new(usize::MAX);
        for _ in 0..5000 {
            queue
                .push(Bytes::from_static(b"42[\"user-joined\",\"x\"]"))
                .expect("room");
        }
        assert!(queue.lock().frames.capacity() >= 5000);
        while !queue.take_now(100, usize::MAX).is_empty() {}
        assert_eq!(queue.lock().frames.capacity(), 0);
    }

    #[tokio::test]
    async fn an_answer_is_read_where_its_place_was_kept() {
        let queue = FrameQueue::new(usize::MAX);
        queue.push(Bytes::from("before")).expect("room");
        queue.keep_place();
        queue.push(Bytes::from("after")).expect("room");
        assert_eq!(texts(&queue.take_now(9, usize::MAX)), ["before"]);
        assert!(
            queue.take_now(9, usize::MAX).is_empty(),
            "nothing passes the place"
        );
        queue.fill_place(Bytes::from("answer")).expect("open");
        assert_eq!(texts(&queue.take(9, usize::MAX).await), ["answer", "after"]);

        queue.keep_place();
        queue.push(Bytes::from("later")).expect("room");
        queue.give_up_place();
        assert_eq!(texts(&queue.take(9, usize::MAX).await), ["later"]);
        queue.fill_place(Bytes::from("unplaced")).expect("open");
        assert_eq!(texts(&queue.take(9, usize::MAX).await), ["unplaced"]);
    }

    #[tokio::test]
    async fn a_waiting_taker_wakes_for_a_push() {
        let queue = Arc::new(FrameQueue::new(64));
        let taker = {
            let queue = queue.clone();
            tokio::spawn(async move { queue.take(8, 64).await.len() })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        queue.push(Bytes::from("x")).expect("room");
        let taken = tokio::time::timeout(Duration::from_secs(2), taker)
            .await
            .expect("woken")
            .expect("no panic");
        assert_eq!(taken, 1);
    }
}
