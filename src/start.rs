//! Starting and stopping a node: the logger, bootstrap, and the worker, timer, socket and
//! monitor threads; exit once no service is left, with the logger drained last.

use crate::config::Config;
use crate::context;
use crate::handle::{self, registry};
use crate::log;
use crate::message::{Message, PTYPE_SYSTEM};
use crate::monitor::Monitor;
use crate::scheduler::run_queue as global;
use crate::{daemon, harbor, memory, module, socket, timer};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering::*};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const THREAD_SOCKET: i32 = 2;
pub const THREAD_TIMER: i32 = 3;
pub const THREAD_MONITOR: i32 = 4;

static HANGUP: AtomicBool = AtomicBool::new(false);
static LOGGER: AtomicU32 = AtomicU32::new(0);
// The node's start is watched through two services: the bootstrap, and the `start` service
// (config `start`, default "main") that the bootstrap launches as `snlua <start>`.
static BOOTSTRAP: AtomicU32 = AtomicU32::new(0);
static START_SERVICE: AtomicU32 = AtomicU32::new(0);
static START_FAILED: AtomicBool = AtomicBool::new(false);
/// Some service has reported that it failed to start.
static SOME_LAUNCH_FAILED: AtomicBool = AtomicBool::new(false);

/// Remembers the first `snlua <start>` launched: the node's start service.
pub fn note_launch(handle: u32, module: &str, param: &str) {
    if module != "snlua" || START_SERVICE.load(Relaxed) != 0 {
        return;
    }
    let start = crate::env::get("start").unwrap_or_else(|| "main".into());
    if param.split_whitespace().next() == Some(start.as_str()) {
        let _ = START_SERVICE.compare_exchange(0, handle, SeqCst, SeqCst);
    }
}

/// A service that cannot start tells `.launcher` "ERROR" (snlua does it when its file or
/// loader fails, skynet.lua when the start function raises), as text or packed by
/// skynet.pack. From the bootstrap or the start service that means the node cannot start:
/// it stops and exits non-zero, whichever snlua and Lua layer they run on.
pub fn launcher_report(from: u32, ptype: i32, payload: &[u8]) {
    const PTYPE_LUA: i32 = 10;
    const PACKED_ERROR: &[u8] = b"\x2cERROR"; // a short string of 5 bytes, as skynet.pack writes it
    let failed = match ptype {
        crate::message::PTYPE_TEXT => payload == b"ERROR",
        PTYPE_LUA => payload == PACKED_ERROR,
        _ => false,
    };
    if !failed || from == 0 {
        return;
    }
    SOME_LAUNCH_FAILED.store(true, SeqCst);
    let which = if from == BOOTSTRAP.load(SeqCst) {
        "bootstrap"
    } else if from == START_SERVICE.load(SeqCst) {
        "start"
    } else {
        return;
    };
    fail_start(from, &format!("the {which} service failed to start"));
}

/// ABORT. The bootstrap aborts the node after a service it cannot do without (the harbor's
/// cdummy, cmaster or cslave) failed to start: then the node failed to start too.
pub fn abort_from(from: u32) {
    if from != 0 && from == BOOTSTRAP.load(SeqCst) && SOME_LAUNCH_FAILED.load(SeqCst) {
        fail_start(from, "the bootstrap service aborted the node");
    } else {
        abort();
    }
}

fn fail_start(from: u32, why: &str) {
    if !START_FAILED.swap(true, SeqCst) {
        log::error(from, &format!("error: {why}: the node stops"));
    }
    abort();
}

/// ABORT: every service but the logger is retired now; the logger goes once it has written
/// everything queued for it (upstream retires it at once and loses those lines).
pub fn abort() {
    let logger = LOGGER.load(SeqCst);
    for h in registry().handles() {
        if h != logger {
            registry().retire(h);
        }
    }
}

/// True once the node should stop. With only the logger left (after ABORT, or when every
/// other service has exited) the logger is retired as soon as its queue is empty.
fn finished() -> bool {
    let total = context::total();
    if total == 0 {
        return true;
    }
    let logger = LOGGER.load(SeqCst);
    if total == 1 && logger != 0 {
        if let Some(ctx) = registry().grab(logger) {
            if ctx.queue().is_empty() {
                drop(ctx);
                registry().retire(logger);
            }
        }
    }
    false
}

extern "C" fn on_hangup(_: libc::c_int) {
    HANGUP.store(true, SeqCst);
}


/// Starts the node and returns when it has stopped. Errors say why it could not start.
pub fn start(config: &Config) -> Result<(), String> {
    crate::ffi::sys::install_signals(on_hangup);
    memory::tune_allocator();
    if let Some(pidfile) = &config.daemon {
        daemon::init(pidfile)?;
    }
    harbor::init(config.harbor);
    handle::init(config.harbor);
    module::init(&config.module_path);
    module::register_builtin(&crate::snlua::SNLUA);
    timer::init();
    socket::init();
    context::set_profile(config.profile);

    let logger = context::launch(&config.logservice, config.logger.as_deref().unwrap_or(""))
        .ok_or_else(|| format!("Can't launch {} service", config.logservice))?;
    LOGGER.store(logger, SeqCst);
    registry().bind_name(logger, "logger");
    log::reset_logger();

    let line = config.bootstrap.trim();
    let (name, args) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    let Some(bootstrap) = context::launch(name, args.trim_start()) else {
        log::error(0, &format!("Bootstrap error : {line}"));
        drain_logger();
        return Err(format!("bootstrap `{line}` failed (see the log above)"));
    };
    // Set before any worker runs: a report from the bootstrap comes from its messages.
    BOOTSTRAP.store(bootstrap, SeqCst);

    run_threads(config.thread);
    if START_FAILED.load(SeqCst) {
        return Err("the node failed to start (see the log above)".into());
    }

    harbor::exit();
    socket::free();
    if let Some(pidfile) = &config.daemon {
        daemon::exit(pidfile);
    }
    Ok(())
}

/// Before the threads run, or after they stopped: write out what the logger still holds.
fn drain_logger() {
    if let Some(ctx) = registry().grab(LOGGER.load(SeqCst)) {
        ctx.dispatch_all();
    }
}

fn run_threads(workers: usize) {
    let monitors: Vec<Arc<Monitor>> = (0..workers).map(|_| Arc::new(Monitor::new())).collect();
    let mut threads = Vec::new();
    let watched = monitors.clone();
    threads.push(spawn("skynet-monitor", move || monitor_thread(&watched)));
    threads.push(spawn("skynet-timer", timer_thread));
    threads.push(spawn("skynet-socket", socket_thread));
    threads.extend(crate::scheduler::spawn_workers(&monitors));
    for t in threads {
        let _ = t.join();
    }
    // Services that are gone may still sit in the run queue: free what they hold.
    while let Some(ctx) = global().pop() {
        drop(ctx.queue().drain());
    }
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new().name(name.into()).spawn(f).expect("spawn thread")
}

fn monitor_thread(monitors: &[Arc<Monitor>]) {
    context::init_thread(THREAD_MONITOR);
    let mut last_check = Instant::now();
    while !global().quitting() {
        std::thread::sleep(Duration::from_millis(100));
        if last_check.elapsed() >= Duration::from_secs(5) {
            last_check = Instant::now();
            for m in monitors {
                m.check();
            }
        }
    }
}

fn timer_thread() {
    context::init_thread(THREAD_TIMER);
    let mut pops_seen = global().pops();
    loop {
        // Work is waiting and nobody took any since the last tick (the busy workers are deep
        // in long callbacks): bring in a sleeper. Waking on every tick with work queued
        // would make workers steal each other's ping-pong and bounce it across cores. Looked
        // at before this tick's timers are listed: right after, the queue always holds work
        // nobody has taken yet, and a second worker would come for what the first one woken
        // for the timers is about to take.
        let pops = global().pops();
        if pops == pops_seen && global().idle() > 0 && !global().is_empty() {
            global().wake_one();
        }
        pops_seen = pops;
        timer::update();
        socket::update_time();
        if finished() {
            break;
        }
        socket::check_watch();
        std::thread::sleep(timer::TICK);
        if HANGUP.swap(false, SeqCst) {
            let logger = registry().find_name("logger");
            if logger != 0 {
                let _ = context::push(logger, Message::empty(0, 0, PTYPE_SYSTEM));
            }
        }
    }
    socket::exit();
    global().set_quit();
}

fn socket_thread() {
    context::init_thread(THREAD_SOCKET);
    socket::guard();
}
