//! A service's message queue: FIFO, with the bookkeeping the scheduler needs (whether the
//! queue is listed on the run queue, the overload warnings). Queues only: which service a
//! queue belongs to and when it runs is the scheduler's business (scheduler.rs).
//!
//! A queue is "scheduled" from the moment it has work until a worker finds it empty; while a
//! worker holds it, it stays marked, so pushes never list it twice. A new queue starts marked
//! so that messages sent during the service's init wait until init is done.

use crate::message::Message;
use crate::spin::{Guard, SpinLock};
use std::collections::VecDeque;
use std::sync::Arc;

const OVERLOAD_THRESHOLD: usize = 1024;
/// A queue this long asks for a sleeping worker to join in.
const BACKLOG_WAKE: usize = 64;

pub struct Popped {
    pub message: Message,
    pub remaining: usize,
    pub overload: usize,
}

/// What a push asks of the scheduler.
#[derive(Debug, PartialEq, Eq)]
pub enum Pushed {
    /// The queue was idle and is marked scheduled now: list its service on the run queue.
    Ready,
    /// A backlog is building faster than it is served: another worker could help.
    Backlog,
    /// Nothing to do: the queue is listed already.
    Queued,
}

pub struct MessageQueue {
    handle: u32,
    state: SpinLock<QueueState>,
}

struct QueueState {
    messages: VecDeque<Message>,
    scheduled: bool,
    overload: usize,
    overload_threshold: usize,
}

impl MessageQueue {
    pub fn new(handle: u32) -> Arc<MessageQueue> {
        Arc::new(MessageQueue {
            handle,
            state: SpinLock::new(QueueState {
                // no buffer until the first message: 64 slots were 1.5 KiB of every idle service
                messages: VecDeque::new(),
                scheduled: true,
                overload: 0,
                overload_threshold: OVERLOAD_THRESHOLD,
            }),
        })
    }

    pub fn handle(&self) -> u32 {
        self.handle
    }

    fn lock(&self) -> Guard<'_, QueueState> {
        self.state.lock()
    }

    pub fn push(&self, message: Message) -> Pushed {
        let mut st = self.lock();
        st.messages.push_back(message);
        if !st.scheduled {
            st.scheduled = true;
            Pushed::Ready
        } else if st.messages.len() == BACKLOG_WAKE {
            Pushed::Backlog
        } else {
            Pushed::Queued
        }
    }

    /// Takes the next message; an empty queue stops being scheduled.
    pub fn pop(&self) -> Option<Message> {
        self.pop_counted().map(|p| p.message)
    }

    /// Takes the next message with the length left behind it and, once per crossing, the
    /// length that passed the doubling overload threshold.
    pub fn pop_counted(&self) -> Option<Popped> {
        let mut st = self.lock();
        match st.messages.pop_front() {
            Some(message) => {
                let remaining = st.messages.len();
                while remaining > st.overload_threshold {
                    st.overload = remaining;
                    st.overload_threshold *= 2;
                }
                let overload = std::mem::take(&mut st.overload);
                Some(Popped { message, remaining, overload })
            }
            None => {
                st.overload_threshold = OVERLOAD_THRESHOLD;
                st.scheduled = false;
                None
            }
        }
    }

    pub fn len(&self) -> usize {
        self.lock().messages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The queue length that crossed a warning threshold since the last call (0: none).
    pub fn take_overload(&self) -> usize {
        std::mem::take(&mut self.lock().overload)
    }

    /// A worker done with a batch: if nothing is left, the queue stops being scheduled now
    /// (true) instead of being listed again only to be found empty.
    pub fn leave_if_empty(&self) -> bool {
        let mut st = self.lock();
        if st.messages.is_empty() {
            st.scheduled = false;
            true
        } else {
            false
        }
    }

    #[cfg(test)]
    fn scheduled(&self) -> bool {
        self.lock().scheduled
    }

    /// Takes every message (a service dispatching them itself, e.g. at exit, or one that is
    /// gone).
    pub fn drain(&self) -> Vec<Message> {
        let mut st = self.lock();
        st.messages.drain(..).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(n: usize) -> Message {
        Message::empty(1, n as i32, 0)
    }

    #[test]
    fn a_queue_is_fifo_and_leaves_the_run_queue_when_empty() {
        let q = MessageQueue::new(0x00ff_0001);
        for i in 0..100 {
            q.push(msg(i));
        }
        assert_eq!(q.len(), 100);
        for i in 0..100 {
            assert_eq!(q.pop().unwrap().session, i);
        }
        assert!(q.pop().is_none());
        assert!(!q.scheduled());
        // Empty now: the next push asks for the queue to be scheduled again.
        assert_eq!(q.push(msg(7)), Pushed::Ready);
        assert!(q.scheduled());
        assert_eq!(q.push(msg(8)), Pushed::Queued);
    }

    #[test]
    fn a_new_queue_holds_messages_back_until_its_service_is_started() {
        let q = MessageQueue::new(0x00ff_0005);
        // Marked from birth, so pushes during the service's init don't list it.
        assert!(q.scheduled());
        assert_eq!(q.push(msg(1)), Pushed::Queued);
        assert!(q.scheduled());
        assert_eq!(q.len(), 1);
    }

    #[test]
    fn overload_is_reported_once_per_doubling() {
        let q = MessageQueue::new(0x00ff_0002);
        for i in 0..5000 {
            q.push(msg(i));
        }
        let first = q.pop_counted().unwrap();
        assert_eq!(first.overload, 4999);
        assert_eq!(first.remaining, 4999);
        // Threshold is now above 4999: no report until the queue grows past it again.
        assert_eq!(q.pop_counted().unwrap().overload, 0);
        assert_eq!(q.take_overload(), 0);
    }

    #[test]
    fn a_backlog_asks_for_help_once() {
        let q = MessageQueue::new(0x00ff_0003);
        let asks = (0..200).filter(|&i| q.push(msg(i)) == Pushed::Backlog).count();
        assert_eq!(asks, 1);
        assert_eq!(q.drain().len(), 200);
        assert!(q.is_empty());
    }

    #[test]
    fn messages_from_many_threads_keep_per_sender_order() {
        let q = MessageQueue::new(0x00ff_0004);
        let threads: Vec<_> = (0..4u32)
            .map(|t| {
                let q = q.clone();
                std::thread::spawn(move || {
                    for i in 0..10_000 {
                        q.push(Message::empty(t, i, 0));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let mut next = [0i32; 4];
        while let Some(m) = q.pop() {
            assert_eq!(m.session, next[m.source as usize]);
            next[m.source as usize] += 1;
        }
        assert_eq!(next, [10_000; 4]);
    }
}
