//! skynet_command: the text commands a service gives the core.

use crate::context::{self, Context};
use crate::env;
use crate::handle::registry;
use crate::log;
use crate::message::Borrowed;
use crate::timer;
use std::ffi::CStr;
use std::sync::atomic::{AtomicU32, Ordering::*};

pub enum Reply {
    Nothing,
    Text(String),
    Static(&'static CStr),
}

/// The service told when any service exits (MONITOR).
static MONITOR_EXIT: AtomicU32 = AtomicU32::new(0);

/// One command as a service gave it.
struct Call<'a> {
    ctx: Option<&'a Context>,
    /// The caller's handle (0 without a context).
    from: u32,
    name: &'a str,
    /// The parameter ("" when none was given).
    param: &'a str,
}

impl<'a> Call<'a> {
    /// The caller's context, for commands that act on the caller (logged when missing).
    fn service(&self) -> Option<&'a Context> {
        if self.ctx.is_none() {
            log::error(0, &format!("error: command {} needs a service context", self.name));
        }
        self.ctx
    }

    fn fail(&self, why: &str) -> Reply {
        log::error(self.from, why);
        Reply::Nothing
    }
}

type Command = fn(&Call) -> Reply;

/// Every command, by name; the frequent ones first (the table is scanned in order).
const COMMANDS: &[(&str, Command)] = &[
    ("TIMEOUT", timeout),
    ("REG", reg),
    ("QUERY", query),
    ("NAME", name),
    ("EXIT", exit),
    ("KILL", kill),
    ("LAUNCH", launch),
    ("GETENV", getenv),
    ("SETENV", setenv),
    ("STARTTIME", starttime),
    ("ABORT", abort),
    ("MONITOR", monitor),
    ("STAT", stat),
    ("LOGON", logon),
    ("LOGOFF", logoff),
    ("SIGNAL", signal),
];

pub fn run(ctx: Option<&Context>, cmd: &str, param: Option<&str>) -> Reply {
    let call = Call { ctx, from: ctx.map_or(0, |c| c.handle()), name: cmd, param: param.unwrap_or("") };
    match COMMANDS.iter().find(|(name, _)| *name == cmd) {
        Some((_, command)) => command(&call),
        None => call.fail(&format!("error: unknown command `{cmd}`")),
    }
}

/// TIMEOUT ticks: a session answered after `ticks` centiseconds.
fn timeout(call: &Call) -> Reply {
    let Some(c) = call.service() else { return Reply::Nothing };
    let Some(ticks) = parse_int_prefix(call.param) else {
        return call.fail(&format!("error: TIMEOUT needs a number, not `{}`", call.param));
    };
    let session = c.new_session();
    timer::timeout(c.handle(), ticks.clamp(i32::MIN as i64, i32::MAX as i64) as i32, session);
    Reply::Text(session.to_string())
}

/// REG: the caller's address; REG .name: names the caller.
fn reg(call: &Call) -> Reply {
    let Some(c) = call.service() else { return Reply::Nothing };
    let p = call.param;
    if p.is_empty() {
        Reply::Text(format!(":{:x}", c.handle()))
    } else if let Some(name) = p.strip_prefix('.') {
        if registry().bind_name(c.handle(), name) {
            Reply::Text(name.to_owned())
        } else {
            call.fail(&format!("error: name .{name} is already in use"))
        }
    } else {
        call.fail(&format!("error: Can't register global name {p} in C"))
    }
}

/// QUERY .name: the named service's address.
fn query(call: &Call) -> Reply {
    match call.param.strip_prefix('.').map(|name| registry().find_name(name)) {
        Some(0) | None => Reply::Nothing,
        Some(h) => Reply::Text(format!(":{h:x}")),
    }
}

/// NAME .name :handle: names another service.
fn name(call: &Call) -> Reply {
    let p = call.param;
    let mut words = p.split_whitespace();
    let (Some(name), Some(addr)) = (words.next(), words.next()) else {
        return call.fail(&format!("error: NAME needs `name :handle`, not `{p}`"));
    };
    let Some(handle) = addr.strip_prefix(':').and_then(|h| u32::from_str_radix(h, 16).ok()) else {
        return call.fail(&format!("error: NAME needs a :hex handle, not `{addr}`"));
    };
    match name.strip_prefix('.') {
        Some(local) if registry().bind_name(handle, local) => Reply::Text(local.to_owned()),
        Some(local) => call.fail(&format!("error: can't name :{handle:08x} .{local}")),
        None => call.fail(&format!("error: Can't set global name {name} in C")),
    }
}

/// EXIT: the caller goes.
fn exit(call: &Call) -> Reply {
    if let Some(c) = call.service() {
        exit_service(Some(c), 0);
    }
    Reply::Nothing
}

/// KILL :handle|.name: another service goes.
fn kill(call: &Call) -> Reply {
    if let Some(h) = to_handle(call.from, call.param) {
        exit_service(call.ctx, h);
    }
    Reply::Nothing
}

/// LAUNCH module args: the new service's address.
fn launch(call: &Call) -> Reply {
    let line = call.param.trim_start();
    let (name, args) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    if name.is_empty() {
        return call.fail("error: LAUNCH needs a module name");
    }
    match context::launch(name, args) {
        Some(h) => Reply::Text(format!(":{h:08X}")),
        None => Reply::Nothing,
    }
}

fn getenv(call: &Call) -> Reply {
    env::get_c(call.param).map_or(Reply::Nothing, Reply::Static)
}

/// SETENV key value.
fn setenv(call: &Call) -> Reply {
    let (key, value) = call.param.split_once(' ').unwrap_or((call.param, ""));
    match env::set(key, value) {
        Ok(()) => Reply::Nothing,
        Err(e) => call.fail(&format!("error: SETENV: {e}")),
    }
}

fn starttime(_: &Call) -> Reply {
    Reply::Text(timer::start_time().to_string())
}

fn abort(call: &Call) -> Reply {
    crate::start::abort_from(call.from);
    Reply::Nothing
}

/// MONITOR: the exit monitor's address; MONITOR :handle sets it.
fn monitor(call: &Call) -> Reply {
    if call.param.is_empty() {
        return match MONITOR_EXIT.load(Relaxed) {
            0 => Reply::Nothing,
            h => Reply::Text(format!(":{h:x}")),
        };
    }
    if let Some(h) = to_handle(call.from, call.param) {
        MONITOR_EXIT.store(h, Relaxed);
    }
    Reply::Nothing
}

/// STAT mqlen|endless|cpu|time|message: a figure of the caller.
fn stat(call: &Call) -> Reply {
    let Some(c) = call.service() else { return Reply::Nothing };
    Reply::Text(match call.param {
        "mqlen" => c.queue().len().to_string(),
        "endless" => if c.take_endless() { "1" } else { "0" }.to_string(),
        "cpu" => format!("{:.6}", c.cpu_cost_us() as f64 / 1_000_000.0),
        "time" => format!("{:.6}", c.running_time_us() as f64 / 1_000_000.0),
        "message" => c.message_count().to_string(),
        other => {
            log::error(call.from, &format!("error: unknown STAT `{other}`"));
            String::new()
        }
    })
}

/// The live service a command's parameter names (logged when it names none).
fn target(call: &Call, addr: &str) -> Option<std::sync::Arc<Context>> {
    to_handle(call.from, addr).and_then(|h| registry().grab(h))
}

/// LOGON :handle: that service's messages are logged to logpath/<handle>.log.
fn logon(call: &Call) -> Reply {
    if let Some(t) = target(call, call.param) {
        t.open_log();
    }
    Reply::Nothing
}

fn logoff(call: &Call) -> Reply {
    if let Some(t) = target(call, call.param) {
        t.close_log();
    }
    Reply::Nothing
}

/// SIGNAL :handle [sig]: the module's signal entry of that service.
fn signal(call: &Call) -> Reply {
    let (addr, sig) = call.param.split_once(' ').unwrap_or((call.param, "0"));
    if let Some(t) = target(call, addr) {
        t.signal(parse_int_prefix(sig).unwrap_or(0) as i32);
    }
    Reply::Nothing
}

/// Retires `handle` (0: the caller itself), telling the MONITOR service first.
pub fn exit_service(ctx: Option<&Context>, handle: u32) {
    let from = ctx.map_or(0, |c| c.handle());
    let handle = if handle == 0 {
        log::error(from, "KILL self");
        from
    } else {
        log::error(from, &format!("KILL :{handle:x}"));
        handle
    };
    let monitor = MONITOR_EXIT.load(Relaxed);
    if monitor != 0 {
        context::send(ctx, handle, monitor, crate::message::PTYPE_CLIENT, 0, Borrowed::from_slice(&[]));
    }
    registry().retire(handle);
}

/// `:hex` or `.name` to a handle; logs and gives None when it names nothing.
pub fn to_handle(from: u32, param: &str) -> Option<u32> {
    let word = param.split_whitespace().next().unwrap_or("");
    let h = if let Some(hex) = word.strip_prefix(':') {
        u32::from_str_radix(hex, 16).unwrap_or(0)
    } else if let Some(name) = word.strip_prefix('.') {
        registry().find_name(name)
    } else {
        0
    };
    if h == 0 {
        log::error(from, &format!("error: Can't convert {param} to handle"));
        None
    } else {
        Some(h)
    }
}

/// strtol-like: the leading integer of `s` (decimal, or 0x hex).
fn parse_int_prefix(s: &str) -> Option<i64> {
    let t = s.trim_start();
    let (neg, t) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (radix, t) = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(r) => (16, r),
        None => (10, t),
    };
    let end = t.find(|c: char| !c.is_digit(radix)).unwrap_or(t.len());
    let v = i64::from_str_radix(&t[..end], radix).ok()?;
    Some(if neg { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_has_one_entry() {
        let mut names: Vec<&str> = COMMANDS.iter().map(|(n, _)| *n).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), COMMANDS.len());
        assert!(matches!(run(None, "STARTTIME", None), Reply::Text(_)));
        assert!(matches!(run(None, "NO SUCH COMMAND", None), Reply::Nothing));
    }

    #[test]
    fn parses_leading_integers_like_strtol() {
        assert_eq!(parse_int_prefix("100"), Some(100));
        assert_eq!(parse_int_prefix(" -5 rest"), Some(-5));
        assert_eq!(parse_int_prefix("0x10"), Some(16));
        assert_eq!(parse_int_prefix("abc"), None);
    }
}
