//! Who watches the sockets. The event loop (the poller and its working state) is held by
//! one thread at a time, for one round or for a run of them:
//!
//! - **A worker with nothing to run**, in place of sleeping. The services its round wakes
//!   (a read's DATA, a reply from a database, a cluster peer's answer) then run on that same
//!   worker, right after, as they would on a one-thread epoll server: no other thread has to
//!   be woken to run them. A push for the run queue ends its wait through the poller's
//!   waker (scheduler.rs decides when). Before it waits it polls without waiting for a
//!   short window, while such windows pay (busy_poll.rs).
//! - **The socket thread**, when no worker has taken the loop for a whole timer tick (every
//!   worker is busy, or the one that watched is deep in a long callback). It keeps watching
//!   while no worker is idle, as a dedicated socket thread would, then hands the loop back:
//!   it wakes a sleeping worker, which takes it. So reads and writes never wait on a
//!   service for more than a tick or two, and the socket thread never runs services.

use super::poller::Loop;
use super::server::Server;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, TryLockError};
use std::time::Duration;

/// How long the socket thread waits per round while it watches: a timer tick, so it notices
/// an idle worker to hand over to soon after one appears.
const GUARD_ROUND: Duration = crate::timer::TICK;

#[derive(Default)]
pub struct Watch {
    /// Rounds started so far, by anyone.
    rounds: AtomicU64,
    /// Rounds the timer thread saw at its last tick.
    rounds_seen: AtomicU64,
    /// Some thread holds the event loop.
    held: AtomicBool,
    /// The socket thread is asked to watch.
    called: Mutex<bool>,
    call: Condvar,
}

impl Watch {
    pub fn call_guard(&self) {
        *self.called.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.call.notify_one();
    }
}

/// The event loop while a thread holds it; `held` says so to the timer thread.
struct Held<'a> {
    server: &'a Server,
    lp: MutexGuard<'a, Loop>,
}

impl<'a> Held<'a> {
    fn new(server: &'a Server, lp: MutexGuard<'a, Loop>) -> Held<'a> {
        server.watch.held.store(true, Ordering::SeqCst);
        Held { server, lp }
    }

    fn round(&mut self, cap: Option<Duration>, woke: &mut dyn FnMut()) -> bool {
        self.server.watch.rounds.fetch_add(1, Ordering::Relaxed);
        self.server.round(&mut self.lp, cap, woke)
    }

    /// Rounds without waiting, for a window (see busy_poll.rs) unless busy polling is
    /// paused; true if something came for the workers meanwhile.
    fn busy_poll(&mut self, has_work: &dyn Fn() -> bool) -> bool {
        let Some(window) = self.lp.busy.begin() else { return false };
        let came = loop {
            if has_work() {
                break true;
            }
            if !self.round(Some(Duration::ZERO), &mut || {}) {
                break true; // exiting: the worker sees it at once
            }
            if self.lp.had_events() {
                break true;
            }
            if !window.is_open() {
                break false;
            }
            std::hint::spin_loop();
        };
        self.lp.busy.end(window, came);
        came
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.server.watch.held.store(false, Ordering::SeqCst);
    }
}

impl Server {
    fn hold(&self) -> Held<'_> {
        Held::new(self, self.event_loop.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn try_hold(&self) -> Option<Held<'_>> {
        match self.event_loop.try_lock() {
            Ok(lp) => Some(Held::new(self, lp)),
            Err(TryLockError::Poisoned(e)) => Some(Held::new(self, e.into_inner())),
            Err(TryLockError::WouldBlock) => None,
        }
    }

    /// skynet_socket_poll: one round, waiting for as long as it takes.
    pub fn poll_blocking(&self) -> bool {
        self.hold().round(None, &mut || {})
    }

    /// Rounds by an idle worker, if no other thread holds the loop: first, if `busy_poll`
    /// says it may, a busy-polling window (ended early by `has_work`), then one that
    /// waits. `may_wait` runs before
    /// that wait: the worker announces that it waits here and says whether it still may
    /// (nothing arrived for it meanwhile); `woke` runs as soon as the wait is over.
    pub fn worker_watch(
        &self,
        max_wait: Duration,
        busy_poll: bool,
        has_work: impl Fn() -> bool,
        may_wait: impl FnOnce() -> bool,
        woke: impl FnOnce(),
    ) -> bool {
        if self.exiting() {
            return false;
        }
        let Some(mut held) = self.try_hold() else { return false };
        if busy_poll && held.busy_poll(&has_work) {
            return true;
        }
        let wait = if may_wait() { max_wait } else { Duration::ZERO };
        let mut woke = Some(woke);
        held.round(Some(wait), &mut || {
            if let Some(w) = woke.take() {
                w();
            }
        });
        true
    }

    /// The timer thread's tick: nobody holds the loop and no round started since the last
    /// tick, so the socket thread takes over.
    pub fn check_watch(&self) {
        let w = &self.watch;
        let rounds = w.rounds.load(Ordering::Relaxed);
        let stale = rounds == w.rounds_seen.swap(rounds, Ordering::Relaxed);
        if stale && !w.held.load(Ordering::SeqCst) {
            w.call_guard();
        }
    }

    /// The socket thread's life: called in by `check_watch`, it watches until some worker is
    /// idle, then wakes one to take over. Returns when the server exits.
    pub fn guard(&self) {
        super::reclaim::mark_socket_thread();
        let idle_worker = || crate::scheduler::run_queue().sleepers() > 0;
        loop {
            {
                let mut called = self.watch.called.lock().unwrap_or_else(|e| e.into_inner());
                while !*called && !self.exiting() {
                    called = self.watch.call.wait(called).unwrap_or_else(|e| e.into_inner());
                }
                *called = false;
            }
            if self.exiting() {
                return;
            }
            // A worker may have taken the loop since the call: then it watches.
            let Some(mut held) = self.try_hold() else { continue };
            loop {
                if !held.round(Some(GUARD_ROUND), &mut || {}) {
                    return;
                }
                if idle_worker() {
                    break;
                }
            }
            drop(held);
            crate::scheduler::run_queue().wake_sleeper();
        }
    }
}
