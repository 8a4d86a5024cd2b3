//! Per-service message queues and the global run queue of queues that have work.
//!
//! A service queue is "in global" from the moment it has work until a worker finds it empty;
//! while a worker holds it, it stays marked, so pushes never list it twice. A new queue starts
//! marked so that messages sent during the service's init wait until init is done.

use crate::context::Context;
use crate::message::Message;
use crate::spin::{Guard, SpinLock};
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, Weak};
use std::time::Duration;

const OVERLOAD_THRESHOLD: usize = 1024;
/// A queue this long asks for a sleeping worker to join in.
const BACKLOG_WAKE: usize = 64;

pub struct Popped {
    pub message: Message,
    pub remaining: usize,
    pub overload: usize,
}

pub struct MessageQueue {
    handle: u32,
    /// The service this queue belongs to: a worker reaches it without the handle registry.
    owner: Weak<Context>,
    state: SpinLock<QueueState>,
}

struct QueueState {
    messages: VecDeque<Message>,
    in_global: bool,
    release: bool,
    overload: usize,
    overload_threshold: usize,
}

impl MessageQueue {
    pub fn new(handle: u32) -> Arc<MessageQueue> {
        Self::owned_by(handle, Weak::new())
    }

    pub fn owned_by(handle: u32, owner: Weak<Context>) -> Arc<MessageQueue> {
        Arc::new(MessageQueue {
            handle,
            owner,
            state: SpinLock::new(QueueState {
                messages: VecDeque::with_capacity(64),
                in_global: true,
                release: false,
                overload: 0,
                overload_threshold: OVERLOAD_THRESHOLD,
            }),
        })
    }

    pub fn handle(&self) -> u32 {
        self.handle
    }

    /// The live, registered service of this queue (None once it is retired or gone).
    pub fn service(&self) -> Option<Arc<Context>> {
        match self.owner.upgrade() {
            Some(ctx) if !ctx.is_retired() => Some(ctx),
            Some(_) => None,
            // Queues made through the C API have no owner recorded: look it up.
            None if self.owner.strong_count() == 0 && self.owner.weak_count() == 0 => {
                crate::handle::registry().grab(self.handle)
            }
            None => None,
        }
    }

    fn lock(&self) -> Guard<'_, QueueState> {
        self.state.lock()
    }

    pub fn push(self: &Arc<Self>, message: Message) {
        let mut st = self.lock();
        st.messages.push_back(message);
        if !st.in_global {
            st.in_global = true;
            drop(st);
            schedule(self.clone());
        } else if st.messages.len() == BACKLOG_WAKE {
            // A backlog is building faster than it is served: bring in another worker.
            drop(st);
            global().wake_if_sleeping();
        }
    }

    /// Takes the next message; an empty queue leaves the global queue.
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
                st.in_global = false;
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

    /// A worker done with a batch: if nothing is left, the queue leaves the run queue now
    /// (true) instead of being listed again only to be found empty.
    pub fn leave_if_empty(&self) -> bool {
        let mut st = self.lock();
        if st.messages.is_empty() {
            st.in_global = false;
            true
        } else {
            false
        }
    }

    /// Called when the owning service is gone: a worker will drain and drop the queue.
    pub fn mark_release(self: &Arc<Self>) {
        let mut st = self.lock();
        st.release = true;
        if !st.in_global {
            st.in_global = true;
            drop(st);
            global().push(self.clone());
        }
    }

    /// A worker found no live service for this queue: if the service is fully gone, hand every
    /// message left to `drop_message`; otherwise (still being torn down) look again later.
    pub fn release_or_requeue(self: &Arc<Self>, mut drop_message: impl FnMut(Message)) {
        let mut st = self.lock();
        if st.release {
            let left = std::mem::take(&mut st.messages);
            drop(st);
            for m in left {
                drop_message(m);
            }
        } else {
            drop(st);
            global().push(self.clone());
        }
    }

    #[cfg(test)]
    fn in_global(&self) -> bool {
        self.lock().in_global
    }

    /// Drains every message (used when the service itself dispatches them, e.g. at exit).
    pub fn drain(&self) -> Vec<Message> {
        let mut st = self.lock();
        st.messages.drain(..).collect()
    }
}

thread_local! {
    static IS_WORKER: Cell<bool> = const { Cell::new(false) };
    /// The queue a worker's running service just woke up: run next by the same worker,
    /// while it is hot in cache, instead of a trip through the run queue.
    static NEXT: RefCell<Option<Arc<MessageQueue>>> = const { RefCell::new(None) };
    static NEXT_STREAK: Cell<u32> = const { Cell::new(0) };
}

/// How many times in a row a worker may follow its own next slot before it must go
/// through the run queue, so services waiting there are not starved.
const NEXT_STREAK_MAX: u32 = 64;

/// Lists a queue that just got work: in the worker's next slot if it is free, else on the
/// run queue.
fn schedule(q: Arc<MessageQueue>) {
    let rest = if IS_WORKER.with(|w| w.get()) {
        NEXT.with(|n| {
            let mut n = n.borrow_mut();
            if n.is_none() {
                *n = Some(q);
                None
            } else {
                Some(q)
            }
        })
    } else {
        Some(q)
    };
    if let Some(q) = rest {
        global().push(q);
    }
}

/// The queue to run after the current batch: the next slot (within its streak), else the
/// run queue.
pub fn next_queue() -> Option<Arc<MessageQueue>> {
    let next = NEXT.with(|n| n.borrow_mut().take());
    match next {
        Some(q) if NEXT_STREAK.with(|s| s.get()) < NEXT_STREAK_MAX || global().is_empty() => {
            NEXT_STREAK.with(|s| s.set(s.get() + 1));
            Some(q)
        }
        Some(q) => {
            global().push(q);
            NEXT_STREAK.with(|s| s.set(0));
            global().pop()
        }
        None => {
            NEXT_STREAK.with(|s| s.set(0));
            global().pop()
        }
    }
}

/// A worker stopping hands its next slot back to the run queue.
pub fn flush_next() {
    if let Some(q) = NEXT.with(|n| n.borrow_mut().take()) {
        global().push(q);
    }
}

/// The run queue of service queues with work, and the place idle workers sleep.
pub struct GlobalQueue {
    queues: Mutex<VecDeque<Arc<MessageQueue>>>,
    len: AtomicUsize,
    /// Successful pops so far: the timer thread reads it to see whether anyone takes work.
    pops: AtomicUsize,
    sleepers: AtomicUsize,
    /// Workers awake with nothing to run, looking for work: each takes a queue within
    /// microseconds, so a push they can serve needs no wake.
    lookers: AtomicUsize,
    park: Mutex<()>,
    wake: Condvar,
    quit: AtomicBool,
}

pub fn global() -> &'static GlobalQueue {
    static GLOBAL: OnceLock<GlobalQueue> = OnceLock::new();
    GLOBAL.get_or_init(|| GlobalQueue {
        queues: Mutex::new(VecDeque::with_capacity(1024)),
        len: AtomicUsize::new(0),
        pops: AtomicUsize::new(0),
        sleepers: AtomicUsize::new(0),
        lookers: AtomicUsize::new(0),
        park: Mutex::new(()),
        wake: Condvar::new(),
        quit: AtomicBool::new(false),
    })
}

impl GlobalQueue {
    pub fn push(&self, q: Arc<MessageQueue>) {
        let before = {
            let mut qs = self.queues.lock().unwrap_or_else(|e| e.into_inner());
            qs.push_back(q);
            self.len.fetch_add(1, Ordering::SeqCst)
        };
        // Wake a sleeper only when the queues waiting outnumber the workers that will take
        // them without one: those looking for work, and a pushing worker itself, which
        // picks up what it queued after its batch. Every futex wake costs ~15 µs, and a
        // wake nobody needed costs a context switch more.
        let takers = self.lookers.load(Ordering::SeqCst) + IS_WORKER.with(|w| w.get()) as usize;
        if takers <= before && self.sleepers.load(Ordering::SeqCst) > 0 {
            self.wake_one();
        }
    }

    pub fn pop(&self) -> Option<Arc<MessageQueue>> {
        if self.len.load(Ordering::SeqCst) == 0 {
            return None;
        }
        let mut qs = self.queues.lock().unwrap_or_else(|e| e.into_inner());
        let q = qs.pop_front();
        if q.is_some() {
            self.len.fetch_sub(1, Ordering::SeqCst);
            // Written under the lock only: a plain increment.
            self.pops.store(self.pops.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
        }
        q
    }

    pub fn len(&self) -> usize {
        self.len.load(Ordering::SeqCst)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn pops(&self) -> usize {
        self.pops.load(Ordering::Relaxed)
    }

    pub fn mark_worker_thread() {
        IS_WORKER.with(|w| w.set(true));
    }

    /// An idle worker starts looking for work (`stop_looking` when it found some).
    pub fn start_looking(&self) {
        self.lookers.fetch_add(1, Ordering::SeqCst);
    }

    pub fn stop_looking(&self) {
        self.lookers.fetch_sub(1, Ordering::SeqCst);
    }

    /// Parks a worker that was looking for work until there is work, a wake, or `timeout`
    /// passes; it is looking again when this returns.
    pub fn sleep(&self, timeout: Duration) {
        let guard = self.park.lock().unwrap_or_else(|e| e.into_inner());
        self.sleepers.fetch_add(1, Ordering::SeqCst);
        self.lookers.fetch_sub(1, Ordering::SeqCst);
        // Checked after announcing ourselves and before we stop counting as a looker, so a
        // push either sees a sleeper to wake, or we see its queue.
        if self.is_empty() && !self.quit.load(Ordering::SeqCst) {
            let _ = self.wake.wait_timeout(guard, timeout);
        }
        self.lookers.fetch_add(1, Ordering::SeqCst);
        self.sleepers.fetch_sub(1, Ordering::SeqCst);
    }

    pub fn sleepers(&self) -> usize {
        self.sleepers.load(Ordering::SeqCst)
    }

    pub fn wake_if_sleeping(&self) {
        if self.sleepers.load(Ordering::SeqCst) > 0 {
            self.wake_one();
        }
    }

    pub fn wake_one(&self) {
        let _guard = self.park.lock().unwrap_or_else(|e| e.into_inner());
        self.wake.notify_one();
    }

    pub fn wake_all(&self) {
        let _guard = self.park.lock().unwrap_or_else(|e| e.into_inner());
        self.wake.notify_all();
    }

    pub fn set_quit(&self) {
        self.quit.store(true, Ordering::SeqCst);
        self.wake_all();
    }

    pub fn quitting(&self) -> bool {
        self.quit.load(Ordering::SeqCst)
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
        assert!(!q.in_global());
        // Empty now: the next push lists the queue on the run queue again.
        q.push(msg(7));
        assert!(q.in_global());
    }

    #[test]
    fn a_new_queue_holds_messages_back_until_its_service_is_started() {
        let q = MessageQueue::new(0x00ff_0005);
        // Marked from birth, so pushes during the service's init don't list it.
        assert!(q.in_global());
        q.push(msg(1));
        assert!(q.in_global());
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
    fn a_released_queue_hands_every_message_to_the_dropper() {
        let q = MessageQueue::new(0x00ff_0003);
        for i in 0..10 {
            q.push(msg(i));
        }
        q.mark_release();
        let mut dropped = Vec::new();
        q.release_or_requeue(|m| dropped.push(m.session));
        assert_eq!(dropped, (0..10).collect::<Vec<_>>());
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
