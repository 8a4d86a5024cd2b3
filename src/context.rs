//! A service: its module instance, callback and queue, and the dispatch of its messages.

use crate::handle::registry;
use crate::harbor;
use crate::log::{self, ServiceLog};
use crate::message::*;
use crate::ffi::skynet::{Callback, CallbackSlot};
use crate::module::Instance;
use crate::pending::{self, Pending};
use crate::mq::MessageQueue;
use crate::scheduler;
use crate::timer;
use std::cell::Cell;
use std::ffi::{c_int, c_void, CString};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, AtomicUsize, Ordering::*};
use std::sync::{Arc, Mutex};

pub struct Context {
    handle: u32,
    /// The module instance this service runs (None only in tests): released with it.
    instance: Option<Instance>,
    callback: CallbackSlot,
    queue: Arc<MessageQueue>,
    session_id: AtomicI32,
    reserved: AtomicBool,
    retired: AtomicBool,
    endless: AtomicBool,
    profile: bool,
    /// Written on every dispatch: on a cache line of their own, away from what senders read.
    stats: Stats,
    logfile: Mutex<Option<ServiceLog>>,
    has_logfile: AtomicBool,
    /// Requests taken and not answered: each gets PTYPE_ERROR when the service goes.
    pending: Pending,
}

/// The counters a dispatch updates.
#[derive(Default)]
#[repr(align(64))]
struct Stats {
    /// In timer::busy_ticks.
    cpu_cost: AtomicU64,
    cpu_start: AtomicU64,
    message_count: AtomicU64,
}

static TOTAL: AtomicUsize = AtomicUsize::new(0);
static PROFILE: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// The service whose message this thread is running (or a thread marker, as upstream).
    static CURRENT: Cell<u32> = const { Cell::new(0) };
}

pub fn current_handle() -> u32 {
    CURRENT.with(|c| c.get())
}

/// Marks a non-worker thread as upstream does (handle = -kind) for memory accounting.
pub fn init_thread(kind: i32) {
    CURRENT.with(|c| c.set((-kind) as u32));
}

pub fn total() -> usize {
    TOTAL.load(SeqCst)
}

pub fn set_profile(enable: bool) {
    PROFILE.store(enable, SeqCst);
}

impl Context {
    pub fn handle(&self) -> u32 {
        self.handle
    }
    pub fn queue(&self) -> &Arc<MessageQueue> {
        &self.queue
    }
    /// The pointer C code knows this service by.
    pub fn as_c_ptr(self: &Arc<Self>) -> *mut c_void {
        Arc::as_ptr(self) as *mut c_void
    }

    pub fn is_retired(&self) -> bool {
        self.retired.load(Acquire)
    }

    /// Called by the registry when the handle is retired: no more dispatch.
    pub fn mark_retired(&self) {
        self.retired.store(true, Release);
    }

    /// Stops counting this service as keeping the node alive (skynet_context_reserve).
    pub fn reserve(&self) {
        if !self.reserved.swap(true, SeqCst) {
            TOTAL.fetch_sub(1, SeqCst);
        }
    }

    pub fn set_callback(&self, ud: *mut c_void, cb: Option<Callback>) {
        self.callback.set(ud, cb);
    }

    /// Queues a message for this service (and schedules it if it was idle).
    pub fn push(self: &Arc<Self>, msg: Message) {
        scheduler::pushed(self, self.queue.push(msg));
    }

    pub fn new_session(&self) -> i32 {
        let s = self.session_id.fetch_add(1, Relaxed).wrapping_add(1);
        if s <= 0 {
            self.session_id.store(1, Relaxed);
            1
        } else {
            s
        }
    }

    pub fn take_endless(&self) -> bool {
        self.endless.swap(false, Relaxed)
    }
    pub fn set_endless(&self) {
        self.endless.store(true, Relaxed);
    }
    pub fn cpu_cost_us(&self) -> u64 {
        timer::busy_us(self.stats.cpu_cost.load(Relaxed))
    }
    /// Microseconds of cpu the message now running has used (0 without profiling).
    pub fn running_time_us(&self) -> u64 {
        if self.profile {
            timer::busy_us(timer::busy_ticks().saturating_sub(self.stats.cpu_start.load(Relaxed)))
        } else {
            0
        }
    }
    pub fn message_count(&self) -> u64 {
        self.stats.message_count.load(Relaxed)
    }
    pub fn signal(&self, sig: c_int) {
        if let Some(i) = &self.instance {
            i.signal(sig);
        }
    }

    pub fn open_log(&self) {
        let mut f = self.logfile.lock().unwrap_or_else(|e| e.into_inner());
        if f.is_none() {
            *f = ServiceLog::open(self.handle);
            self.has_logfile.store(f.is_some(), Release);
        }
    }
    pub fn close_log(&self) {
        let mut f = self.logfile.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(log) = f.take() {
            self.has_logfile.store(false, Release);
            log.close(self.handle);
        }
    }

    /// Runs the callback on one message; the payload is freed unless the callback keeps it.
    pub fn dispatch(&self, msg: Message) {
        let prev = CURRENT.with(|c| c.replace(self.handle));
        let ptype = msg.ptype();
        if self.has_logfile.load(Relaxed) {
            if let Some(f) = self.logfile.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
                f.output(msg.source, ptype, msg.session, msg.payload.bytes());
            }
        }
        if pending::is_request(ptype, msg.session, msg.source) {
            self.pending.open((msg.source, msg.session));
        }
        // One thread dispatches a service at a time: no read-modify-write needed.
        self.stats.message_count.store(self.stats.message_count.load(Relaxed) + 1, Relaxed);
        let Message { source, session, payload, .. } = msg;
        if self.profile {
            let start = timer::busy_ticks();
            self.stats.cpu_start.store(start, Relaxed);
            self.callback.call(self, ptype, session, source, payload);
            let spent = timer::busy_ticks().saturating_sub(start);
            self.stats.cpu_cost.store(self.stats.cpu_cost.load(Relaxed) + spent, Relaxed);
        } else {
            self.callback.call(self, ptype, session, source, payload);
        }
        CURRENT.with(|c| c.set(prev));
    }

    /// Dispatches everything queued now (used to drain the logger before exit).
    pub fn dispatch_all(&self) {
        while let Some(m) = self.queue.pop() {
            self.dispatch(m);
        }
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        self.close_log();
        drop(self.instance.take());
        // The service is gone for good: its open requests will never be answered otherwise.
        for (caller, session) in self.pending.take_all() {
            answer_error(self.handle, caller, session);
        }
        // Messages that came after the service went (and after a worker last bounced them).
        for m in self.queue.drain() {
            bounce(self.handle, m);
        }
        if !self.reserved.load(SeqCst) {
            TOTAL.fetch_sub(1, SeqCst);
        }
    }
}

/// Launches module `name` with `param`; the new handle, or None (logged) on failure.
pub fn launch(name: &str, param: &str) -> Option<u32> {
    let Some(module) = crate::module::query(name) else {
        log::error(current_handle(), &format!("error: launch {name} failed: no module `{name}` on cpath or built in"));
        return None;
    };
    let Some(instance) = Instance::create(module) else {
        log::error(current_handle(), &format!("error: launch {name} failed: {name}_create returned NULL"));
        return None;
    };
    TOTAL.fetch_add(1, SeqCst);
    let profile = PROFILE.load(Relaxed);
    let (handle, ctx) = registry().register(|handle| {
        Arc::new(Context::new(handle, Some(instance), MessageQueue::new(handle), profile))
    });
    // No arguments reach the module as NULL, as upstream passes them (a logger writes to
    // stdout only when its parameter is NULL).
    let cparam = (!param.is_empty()).then(|| CString::new(param.replace('\0', "")).unwrap_or_default());
    let prev = CURRENT.with(|c| c.replace(handle));
    let r = ctx.instance.as_ref().map_or(1, |i| i.init(&ctx, cparam.as_deref()));
    CURRENT.with(|c| c.set(prev));
    if r == 0 {
        crate::start::note_launch(handle, name, param);
        scheduler::start(ctx);
        log::error(handle, &format!("LAUNCH {name} {param}"));
        Some(handle)
    } else {
        log::error(handle, &format!("error: launch {name} FAILED"));
        registry().retire(handle);
        let queue = ctx.queue.clone();
        drop(ctx);
        // Init never finished, so the queue never reached the run queue: bounce what it holds.
        for m in queue.drain() {
            bounce(handle, m);
        }
        None
    }
}

impl Context {
    fn new(handle: u32, instance: Option<Instance>, queue: Arc<MessageQueue>, profile: bool) -> Context {
        Context {
            handle,
            instance,
            callback: CallbackSlot::default(),
            queue,
            session_id: AtomicI32::new(0),
            reserved: AtomicBool::new(false),
            retired: AtomicBool::new(false),
            endless: AtomicBool::new(false),
            profile,
            stats: Stats::default(),
            logfile: Mutex::new(None),
            has_logfile: AtomicBool::new(false),
            pending: Pending::default(),
        }
    }
}

/// A message that will never be handled: its payload goes, and a waiting sender is told.
pub fn bounce(from: u32, msg: Message) {
    let ptype = msg.ptype();
    let (source, session) = (msg.source, msg.session);
    drop(msg);
    if source != 0 && ptype != PTYPE_RESPONSE && ptype != PTYPE_ERROR {
        let _ = push(source, Message::empty(from, session, PTYPE_ERROR));
    }
}

/// Tells `caller` that its request `session` to `from` failed.
fn answer_error(from: u32, caller: u32, session: i32) {
    if harbor::is_remote(caller) {
        harbor::send_to_handle(caller, from, session, PTYPE_ERROR, Payload::empty());
    } else {
        let _ = push(caller, Message::empty(from, session, PTYPE_ERROR));
    }
}

/// Queues a message for a local service; gives it back if there is no such service.
pub fn push(handle: u32, msg: Message) -> Result<(), Message> {
    registry().with(handle, msg, |ctx, m| ctx.push(m))
}

/// Queues the message `make` builds from `value` for a local service; gives `value` back,
/// unused, if there is no such service (so what it owns is freed as a whole).
pub fn deliver<T>(handle: u32, value: T, make: impl FnOnce(T) -> Message) -> Result<(), T> {
    registry().with(handle, value, |ctx, v| ctx.push(make(v)))
}

/// A handle as the logs name it (formatted only when a log line is written).
struct Hex(u32);

impl std::fmt::Display for Hex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:x}", self.0)
    }
}

/// The checks and conversions both send paths share: the size limit, PTYPE_TAG_ALLOCSESSION,
/// and the copy unless PTYPE_TAG_DONTCOPY. Ok is the session (allocated if asked) and the
/// payload to queue; Err the return code (a buffer the core owns is freed with `data`).
fn prepare(ctx: Option<&Context>, to: &dyn std::fmt::Display, ptype: i32, session: i32, data: Borrowed) -> Result<(i32, Payload), i32> {
    let from = ctx.map_or(0, |c| c.handle);
    let refuse = |code: i32, why: String| {
        log::error(from, &why);
        Err(code)
    };
    if data.len() & MESSAGE_TYPE_MASK != data.len() {
        return refuse(-2, format!("error: The message to {to} is too large"));
    }
    let session = if ptype & PTYPE_TAG_ALLOCSESSION == 0 {
        session
    } else {
        match ctx {
            Some(c) => c.new_session(),
            None => return refuse(-1, "error: a session can only be allocated by a service".into()),
        }
    };
    Ok((session, data.into_payload()))
}

/// skynet_send: `ptype` carries the DONTCOPY/ALLOCSESSION tags; returns the session, or -1
/// for a dead or zero destination, -2 for an oversize message. A buffer given up with
/// DONTCOPY is always consumed; any other is copied.
pub fn send(ctx: Option<&Context>, source: u32, destination: u32, ptype: i32, session: i32, data: Borrowed) -> i32 {
    let from = ctx.map_or(0, |c| c.handle);
    let (session, payload) = match prepare(ctx, &Hex(destination), ptype, session, data) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let ptype = ptype & 0xff;
    if let Some(c) = ctx {
        if let Some(req) = pending::settled_by(ptype, session, source, destination, from) {
            c.pending.close(req);
        }
    }
    let source = if source == 0 { from } else { source };
    if destination == 0 {
        if !payload.is_null() {
            log::error(from, "error: Destination address can't be 0");
            return -1;
        }
        return session;
    }
    if harbor::is_remote(destination) {
        harbor::send_to_handle(destination, source, session, ptype, payload);
        return session;
    }
    match push(destination, Message::new(source, session, payload, ptype)) {
        Ok(()) => session,
        Err(_) => -1,
    }
}

/// skynet_sendname: `:hex` and `.local` names resolve here; other names are global, for the
/// harbor.
pub fn send_name(ctx: Option<&Context>, source: u32, name: &str, ptype: i32, session: i32, data: Borrowed) -> i32 {
    let from = ctx.map_or(0, |c| c.handle);
    let source = if source == 0 { from } else { source };
    let destination = if let Some(hex) = name.strip_prefix(':') {
        u32::from_str_radix(hex, 16).unwrap_or(0)
    } else if let Some(local) = name.strip_prefix('.') {
        if local == "launcher" && !data.is_null() && data.len() <= 8 {
            crate::start::launcher_report(from, ptype & 0xff, data.bytes());
        }
        registry().find_name(local)
    } else {
        let (session, payload) = match prepare(ctx, &name, ptype, session, data) {
            Ok(p) => p,
            Err(code) => return code,
        };
        harbor::send_to_name(name, source, session, ptype & 0xff, payload);
        return session;
    };
    if destination == 0 {
        return -1;
    }
    send(ctx, source, destination, ptype, session, data)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn new_context(handle: u32) -> Arc<Context> {
        TOTAL.fetch_add(1, SeqCst);
        Arc::new(Context::new(handle, None, MessageQueue::new(handle), false))
    }

    #[test]
    fn sessions_are_positive_and_wrap_to_one() {
        let c = new_context(0x00fe_0001);
        assert_eq!(c.new_session(), 1);
        assert_eq!(c.new_session(), 2);
        c.session_id.store(i32::MAX, SeqCst);
        assert_eq!(c.new_session(), 1);
    }
}
