//! Scheduling, all of it: the run queue of services with work, the worker threads that take
//! services from it and dispatch a batch of each one's messages (sized by the worker's
//! weight), the next slot that keeps a woken service on the worker that woke it, and how idle
//! workers spin, watch the sockets (one at a time, see socket/watch.rs) or sleep, and are
//! woken.
//!
//! A service is on the run queue (or in some worker's hands, or its next slot) exactly while
//! its queue is marked scheduled (see mq.rs): a push that finds the queue idle lists it.

use crate::context::{self, Context};
use crate::log;
use crate::monitor::Monitor;
use crate::mq::Pushed;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

/// Batch size per worker as upstream weights it: -1 runs one message per turn, 0 the whole
/// queue, n a 1/2^n share. Workers past the table run whole queues.
const WEIGHTS: [i32; 32] = [
    -1, -1, -1, -1, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3,
];

pub fn weight(worker: usize) -> i32 {
    WEIGHTS.get(worker).copied().unwrap_or(0)
}

/// How many times an idle worker looks again before it sleeps: cheap compared with the
/// ~15 µs a futex wake costs on a busy machine.
const SPINS_BEFORE_SLEEP: u32 = 64;

/// Every this many looks, an idle worker yields its core (sched_yield) instead of spinning.
/// A worker the kernel preempted in the middle of a service gets the core back at once, and
/// the looker stays awake a while longer, so it less often sleeps and is woken again: on a
/// machine with fewer cores than runnable threads each wake preempted a running worker,
/// whose service then waited out a time slice. With 4 workers and the load generator on 2
/// cores, the WebSocket echo's p99 went from 2.6-3.5 ms to 1.5-1.7 ms (benches/http.sh).
const YIELD_EVERY: u32 = 8;

/// How many times in a row a worker may follow its own next slot before it must go
/// through the run queue, so services waiting there are not starved.
const NEXT_STREAK_MAX: u32 = 64;

/// The longest an idle worker waits without a wake. Lost wakes are caught sooner by the
/// timer thread (work waiting a whole tick with nobody taking any brings in a sleeper), so
/// this is only a backstop; a short one made sleepers wake on their own, find the socket
/// loop free while its watcher dispatched, and take it over, a hand-off that showed in the
/// echo's tail latency.
const MAX_SLEEP: Duration = Duration::from_millis(1000);

thread_local! {
    static IS_WORKER: Cell<bool> = const { Cell::new(false) };
    /// The service a worker's running service just woke up: run next by the same worker,
    /// while it is hot in cache, instead of a trip through the run queue.
    static NEXT: RefCell<Option<Arc<Context>>> = const { RefCell::new(None) };
    static NEXT_STREAK: Cell<u32> = const { Cell::new(0) };
    /// Inside `batch_pushes`: how many services the batch listed, their wakes owed.
    static BATCH: Cell<Option<usize>> = const { Cell::new(None) };
}

/// Services made ready together per worker brought in for them (see `batch_pushes`).
const READY_PER_WAKE: usize = 4;

/// Runs `f`, which lists services on the run queue (the timer thread's expirations of one
/// tick), and brings in a worker for every READY_PER_WAKE of them afterwards, not one per
/// push: two services whose timers end in the same tick then usually run one after the
/// other on one worker, as on upstream's core (whose timer thread wakes one worker a tick),
/// instead of at once on two. Upstream's test/teststm.lua prints what a reader sees of a
/// writer's updates, both woken in one tick, and its output depends on that order.
pub fn batch_pushes(f: impl FnOnce()) {
    BATCH.with(|b| b.set(Some(0)));
    f();
    let listed = BATCH.with(|b| b.take()).unwrap_or(0);
    let q = run_queue();
    // workers already looking for work take theirs without a wake
    let wanted = listed.div_ceil(READY_PER_WAKE).saturating_sub(q.lookers.load(Ordering::SeqCst));
    for _ in 0..wanted {
        q.wake_one();
    }
}

/// What a push to `ctx`'s queue asked for: list it (in this worker's next slot if free, else
/// on the run queue), or bring in a sleeping worker for its backlog.
pub fn pushed(ctx: &Arc<Context>, how: Pushed) {
    match how {
        Pushed::Ready => schedule(ctx.clone()),
        // Another worker can help only with a service it can take: not one in this
        // worker's next slot, which this worker runs as soon as its batch ends.
        Pushed::Backlog if !in_next_slot(ctx) => run_queue().wake_one(),
        Pushed::Backlog | Pushed::Queued => {}
    }
}

fn in_next_slot(ctx: &Arc<Context>) -> bool {
    NEXT.with(|n| n.borrow().as_ref().is_some_and(|c| Arc::ptr_eq(c, ctx)))
}

/// A service that just finished its init runs from now on.
pub fn start(ctx: Arc<Context>) {
    run_queue().push(ctx);
}

fn schedule(ctx: Arc<Context>) {
    let rest = if IS_WORKER.with(|w| w.get()) {
        NEXT.with(|n| {
            let mut n = n.borrow_mut();
            if n.is_none() {
                *n = Some(ctx);
                None
            } else {
                Some(ctx)
            }
        })
    } else if let Some(n) = BATCH.with(|b| b.get()) {
        // the timer thread inside batch_pushes: the wakes come after the batch
        run_queue().enqueue(ctx);
        BATCH.with(|b| b.set(Some(n + 1)));
        None
    } else {
        Some(ctx)
    };
    if let Some(ctx) = rest {
        run_queue().push(ctx);
    }
}

/// The service to run after the current batch: the next slot (within its streak), else the
/// run queue.
fn next_service() -> Option<Arc<Context>> {
    let next = NEXT.with(|n| n.borrow_mut().take());
    let q = run_queue();
    match next {
        Some(c) if NEXT_STREAK.with(|s| s.get()) < NEXT_STREAK_MAX || q.is_empty() => {
            NEXT_STREAK.with(|s| s.set(s.get() + 1));
            Some(c)
        }
        Some(c) => {
            q.push(c);
            NEXT_STREAK.with(|s| s.set(0));
            q.pop()
        }
        None => {
            NEXT_STREAK.with(|s| s.set(0));
            q.pop()
        }
    }
}

/// A worker stopping hands its next slot back to the run queue.
fn flush_next() {
    if let Some(c) = NEXT.with(|n| n.borrow_mut().take()) {
        run_queue().push(c);
    }
}

/// Runs one batch of `current` (or of the next service to run) on a worker; returns the
/// service to run next.
pub fn dispatch_batch(monitor: &Monitor, current: Option<Arc<Context>>, weight: i32) -> Option<Arc<Context>> {
    let ctx = match current {
        Some(c) => c,
        None => next_service()?,
    };
    let handle = ctx.handle();
    let queue = ctx.queue();
    if ctx.is_retired() {
        // Gone: what it holds is bounced; a later push (from a sender that found it just
        // before it went) lists it again, and the last reference bounces the rest.
        while let Some(m) = queue.pop() {
            context::bounce(handle, m);
        }
        return next_service();
    }
    let mut n = 1;
    let mut i = 0;
    while i < n {
        let Some(popped) = queue.pop_counted() else {
            return next_service();
        };
        if i == 0 && weight >= 0 {
            n = (popped.remaining + 1) >> weight;
        }
        if popped.overload != 0 {
            log::error(handle, &format!("error: May overload, message queue length = {}", popped.overload));
        }
        monitor.trigger(popped.message.source, handle);
        ctx.dispatch(popped.message);
        monitor.trigger(0, 0);
        i += 1;
    }
    // Another service waits: hand this one back (or let it go if it is empty now).
    match next_service() {
        Some(next) => {
            if !queue.leave_if_empty() {
                run_queue().push(ctx);
            }
            Some(next)
        }
        None => Some(ctx),
    }
}

pub fn spawn_workers(monitors: &[Arc<Monitor>]) -> Vec<JoinHandle<()>> {
    run_queue().workers.store(monitors.len(), Ordering::SeqCst);
    monitors
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let m = m.clone();
            std::thread::Builder::new()
                .name(format!("skynet-worker-{i}"))
                .spawn(move || run_worker(&m, weight(i)))
                .expect("spawn worker thread")
        })
        .collect()
}

fn run_worker(monitor: &Monitor, weight: i32) {
    IS_WORKER.with(|w| w.set(true));
    let q = run_queue();
    let mut current = None;
    let mut idle = 0u32;
    while !q.quitting() {
        current = dispatch_batch(monitor, current, weight);
        if current.is_some() {
            if idle > 0 {
                q.stop_looking();
                idle = 0;
            }
            continue;
        }
        if idle == 0 {
            q.start_looking();
        }
        idle += 1;
        if idle < SPINS_BEFORE_SLEEP {
            if idle.is_multiple_of(YIELD_EVERY) {
                std::thread::yield_now();
            } else {
                std::hint::spin_loop();
            }
        } else {
            // Watching the sockets in place of sleeping, when no other thread does: what
            // its round brings runs here next. Wakes come from pushes (see MAX_SLEEP). Back
            // from either, the worker looks again.
            if !q.watch_sockets() {
                q.sleep(MAX_SLEEP);
            }
            idle = 1;
        }
    }
    if idle > 0 {
        q.stop_looking();
    }
    flush_next();
}

/// The run queue of services with work, and the place idle workers sleep.
pub struct RunQueue {
    services: Mutex<VecDeque<Arc<Context>>>,
    len: AtomicUsize,
    /// Successful pops so far: the timer thread reads it to see whether anyone takes work.
    pops: AtomicUsize,
    sleepers: AtomicUsize,
    /// Workers waiting in the socket poll (at most one): a push ends that wait through the
    /// poller's waker.
    watchers: AtomicUsize,
    /// Workers awake with nothing to run, looking for work: each takes a service within
    /// microseconds, so a push they can serve needs no wake.
    lookers: AtomicUsize,
    /// Worker threads started.
    workers: AtomicUsize,
    park: Mutex<()>,
    wake: Condvar,
    quit: AtomicBool,
}

pub fn run_queue() -> &'static RunQueue {
    static RUN_QUEUE: OnceLock<RunQueue> = OnceLock::new();
    RUN_QUEUE.get_or_init(|| RunQueue {
        services: Mutex::new(VecDeque::with_capacity(1024)),
        len: AtomicUsize::new(0),
        pops: AtomicUsize::new(0),
        sleepers: AtomicUsize::new(0),
        watchers: AtomicUsize::new(0),
        lookers: AtomicUsize::new(0),
        workers: AtomicUsize::new(0),
        park: Mutex::new(()),
        wake: Condvar::new(),
        quit: AtomicBool::new(false),
    })
}

impl RunQueue {
    /// Lists `ctx` and brings in a sleeping worker for it if nobody else will take it.
    pub fn push(&self, ctx: Arc<Context>) {
        let before = self.enqueue(ctx);
        // Wake a sleeper only when the services waiting outnumber the workers that will take
        // them without one: those looking for work, and a pushing worker itself, which
        // picks up what it queued after its batch. Every futex wake costs ~15 µs, and a
        // wake nobody needed costs a context switch more.
        let takers = self.lookers.load(Ordering::SeqCst) + IS_WORKER.with(|w| w.get()) as usize;
        if takers <= before {
            self.wake_one();
        }
    }

    /// Lists `ctx` without waking anyone; returns how many services were listed before it.
    fn enqueue(&self, ctx: Arc<Context>) -> usize {
        let mut qs = self.services.lock().unwrap_or_else(|e| e.into_inner());
        qs.push_back(ctx);
        self.len.fetch_add(1, Ordering::SeqCst)
    }

    pub fn pop(&self) -> Option<Arc<Context>> {
        if self.len.load(Ordering::SeqCst) == 0 {
            return None;
        }
        let mut qs = self.services.lock().unwrap_or_else(|e| e.into_inner());
        let c = qs.pop_front();
        if c.is_some() {
            self.len.fetch_sub(1, Ordering::SeqCst);
            // Written under the lock only: a plain increment.
            self.pops.store(self.pops.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
        }
        c
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

    /// An idle worker starts looking for work (`stop_looking` when it found some).
    fn start_looking(&self) {
        self.lookers.fetch_add(1, Ordering::SeqCst);
    }

    fn stop_looking(&self) {
        self.lookers.fetch_sub(1, Ordering::SeqCst);
    }

    /// Parks a worker that was looking for work until there is work, a wake, or `timeout`
    /// passes; it is looking again when this returns.
    fn sleep(&self, timeout: Duration) {
        let guard = self.park.lock().unwrap_or_else(|e| e.into_inner());
        self.sleepers.fetch_add(1, Ordering::SeqCst);
        self.lookers.fetch_sub(1, Ordering::SeqCst);
        // Checked after announcing ourselves and before we stop counting as a looker, so a
        // push either sees a sleeper to wake, or we see its service.
        if self.is_empty() && !self.quit.load(Ordering::SeqCst) {
            let _ = self.wake.wait_timeout(guard, timeout);
        }
        self.lookers.fetch_add(1, Ordering::SeqCst);
        self.sleepers.fetch_sub(1, Ordering::SeqCst);
    }

    /// A worker that was looking for work waits in the socket poll instead of sleeping,
    /// if no other thread holds it; false if it did not.
    fn watch_sockets(&self) -> bool {
        crate::socket::worker_watch(
            MAX_SLEEP,
            // Busy polling pays for a lone worker waiting on a reply; while other workers
            // run, the cores are in use, and a spinner would only take one from them.
            self.others_running() == 0,
            || !self.is_empty() || self.quitting(),
            || {
                // As in `sleep`: announced first, then the queue checked.
                self.watchers.fetch_add(1, Ordering::SeqCst);
                self.lookers.fetch_sub(1, Ordering::SeqCst);
                self.is_empty() && !self.quitting()
            },
            || {
                self.lookers.fetch_add(1, Ordering::SeqCst);
                self.watchers.fetch_sub(1, Ordering::SeqCst);
            },
        )
    }

    /// Workers other than the calling one (which is looking for work) that are running.
    fn others_running(&self) -> usize {
        let idle = self.sleepers() + self.watchers.load(Ordering::SeqCst) + self.lookers.load(Ordering::SeqCst);
        self.workers.load(Ordering::SeqCst).saturating_sub(idle)
    }

    /// Workers asleep (not counting one in the socket poll).
    pub fn sleepers(&self) -> usize {
        self.sleepers.load(Ordering::SeqCst)
    }

    /// Workers asleep or waiting in the socket poll.
    pub fn idle(&self) -> usize {
        self.sleepers() + self.watchers.load(Ordering::SeqCst)
    }

    /// Brings in one idle worker, if there is one: a sleeper, else the one in the socket poll.
    pub fn wake_one(&self) {
        if self.sleepers() > 0 {
            self.wake_sleeper();
        } else if self.watchers.load(Ordering::SeqCst) > 0 {
            crate::socket::wake_watcher();
        }
    }

    /// Wakes one sleeping worker.
    pub fn wake_sleeper(&self) {
        let _guard = self.park.lock().unwrap_or_else(|e| e.into_inner());
        self.wake.notify_one();
    }

    fn wake_all(&self) {
        let _guard = self.park.lock().unwrap_or_else(|e| e.into_inner());
        self.wake.notify_all();
        crate::socket::wake_watcher();
    }

    /// Every worker stops after its current batch.
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
    use crate::context::tests::new_context;
    use crate::message::Message;

    fn fill(ctx: &Arc<Context>, n: i32) {
        for i in 0..n {
            // Marked scheduled from birth: the pushes list nothing.
            assert_eq!(ctx.queue().push(Message::empty(0, i, 0)), Pushed::Queued);
        }
    }

    #[test]
    fn a_batch_is_sized_by_the_worker_weight() {
        let monitor = Monitor::new();
        for (weight, want) in [(-1, 1), (0, 8), (1, 4), (2, 2)] {
            let ctx = new_context(0x00fd_0001);
            fill(&ctx, 8);
            let next = dispatch_batch(&monitor, Some(ctx.clone()), weight);
            assert_eq!(ctx.message_count(), want, "weight {weight}");
            assert_eq!(ctx.queue().len(), 8 - want as usize);
            // Nothing else waits (the run queue of this test process is empty): the same
            // service runs again.
            assert!(next.is_some_and(|n| Arc::ptr_eq(&n, &ctx)));
        }
    }

    #[test]
    fn a_retired_service_is_not_dispatched_and_its_queue_is_emptied() {
        let ctx = new_context(0x00fd_0002);
        fill(&ctx, 3);
        ctx.mark_retired();
        dispatch_batch(&Monitor::new(), Some(ctx.clone()), 0);
        assert_eq!(ctx.message_count(), 0);
        assert!(ctx.queue().is_empty());
        // Emptied, it is no longer scheduled: the next push asks for it to be listed.
        assert_eq!(ctx.queue().push(Message::empty(0, 9, 0)), Pushed::Ready);
    }

    #[test]
    fn weights_follow_upstreams_table() {
        assert_eq!((weight(0), weight(4), weight(8), weight(16), weight(24), weight(100)), (-1, 0, 1, 2, 3, 0));
    }
}
