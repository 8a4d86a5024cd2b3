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

pub fn run(ctx: Option<&Context>, cmd: &str, param: Option<&str>) -> Reply {
    let from = ctx.map_or(0, |c| c.handle());
    let need_ctx = |name: &str| {
        if ctx.is_none() {
            log::error(0, &format!("error: command {name} needs a service context"));
        }
        ctx
    };
    let p = param.unwrap_or("");
    match cmd {
        "TIMEOUT" => {
            let Some(c) = need_ctx(cmd) else { return Reply::Nothing };
            let Some(ticks) = parse_int_prefix(p) else {
                log::error(from, &format!("error: TIMEOUT needs a number, not `{p}`"));
                return Reply::Nothing;
            };
            let session = c.new_session();
            timer::timeout(c.handle(), ticks.clamp(i32::MIN as i64, i32::MAX as i64) as i32, session);
            Reply::Text(session.to_string())
        }
        "REG" => {
            let Some(c) = need_ctx(cmd) else { return Reply::Nothing };
            if p.is_empty() {
                Reply::Text(format!(":{:x}", c.handle()))
            } else if let Some(name) = p.strip_prefix('.') {
                if registry().bind_name(c.handle(), name) {
                    Reply::Text(name.to_owned())
                } else {
                    log::error(from, &format!("error: name .{name} is already in use"));
                    Reply::Nothing
                }
            } else {
                log::error(from, &format!("error: Can't register global name {p} in C"));
                Reply::Nothing
            }
        }
        "QUERY" => match p.strip_prefix('.') {
            Some(name) => match registry().find_name(name) {
                0 => Reply::Nothing,
                h => Reply::Text(format!(":{h:x}")),
            },
            None => Reply::Nothing,
        },
        "NAME" => {
            let mut words = p.split_whitespace();
            let (Some(name), Some(addr)) = (words.next(), words.next()) else {
                log::error(from, &format!("error: NAME needs `name :handle`, not `{p}`"));
                return Reply::Nothing;
            };
            let Some(handle) = addr.strip_prefix(':').and_then(|h| u32::from_str_radix(h, 16).ok()) else {
                log::error(from, &format!("error: NAME needs a :hex handle, not `{addr}`"));
                return Reply::Nothing;
            };
            match name.strip_prefix('.') {
                Some(local) => {
                    if registry().bind_name(handle, local) {
                        Reply::Text(local.to_owned())
                    } else {
                        log::error(from, &format!("error: can't name :{handle:08x} .{local}"));
                        Reply::Nothing
                    }
                }
                None => {
                    log::error(from, &format!("error: Can't set global name {name} in C"));
                    Reply::Nothing
                }
            }
        }
        "EXIT" => {
            if let Some(c) = need_ctx(cmd) {
                exit_service(Some(c), 0);
            }
            Reply::Nothing
        }
        "KILL" => {
            if let Some(h) = to_handle(from, p) {
                exit_service(ctx, h);
            }
            Reply::Nothing
        }
        "LAUNCH" => {
            let line = p.trim_start();
            let (name, args) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
            if name.is_empty() {
                log::error(from, "error: LAUNCH needs a module name");
                return Reply::Nothing;
            }
            match context::launch(name, args) {
                Some(h) => Reply::Text(format!(":{h:08X}")),
                None => Reply::Nothing,
            }
        }
        "GETENV" => env::get_c(p).map_or(Reply::Nothing, Reply::Static),
        "SETENV" => {
            let (key, value) = p.split_once(' ').unwrap_or((p, ""));
            if let Err(e) = env::set(key, value) {
                log::error(from, &format!("error: SETENV: {e}"));
            }
            Reply::Nothing
        }
        "STARTTIME" => Reply::Text(timer::start_time().to_string()),
        "ABORT" => {
            crate::start::abort_from(ctx.map_or(0, |c| c.handle()));
            Reply::Nothing
        }
        "MONITOR" => {
            if p.is_empty() {
                match MONITOR_EXIT.load(Relaxed) {
                    0 => Reply::Nothing,
                    h => Reply::Text(format!(":{h:x}")),
                }
            } else {
                if let Some(h) = to_handle(from, p) {
                    MONITOR_EXIT.store(h, Relaxed);
                }
                Reply::Nothing
            }
        }
        "STAT" => {
            let Some(c) = need_ctx(cmd) else { return Reply::Nothing };
            Reply::Text(match p {
                "mqlen" => c.queue().len().to_string(),
                "endless" => if c.take_endless() { "1" } else { "0" }.to_string(),
                "cpu" => format!("{:.6}", c.cpu_cost_us() as f64 / 1_000_000.0),
                "time" => format!("{:.6}", c.running_time_us() as f64 / 1_000_000.0),
                "message" => c.message_count().to_string(),
                _ => {
                    log::error(from, &format!("error: unknown STAT `{p}`"));
                    String::new()
                }
            })
        }
        "LOGON" | "LOGOFF" => {
            if let Some(target) = to_handle(from, p).and_then(|h| registry().grab(h)) {
                if cmd == "LOGON" {
                    target.open_log();
                } else {
                    target.close_log();
                }
            }
            Reply::Nothing
        }
        "SIGNAL" => {
            let (addr, sig) = p.split_once(' ').unwrap_or((p, "0"));
            if let Some(target) = to_handle(from, addr).and_then(|h| registry().grab(h)) {
                target.signal(parse_int_prefix(sig).unwrap_or(0) as i32);
            }
            Reply::Nothing
        }
        _ => {
            log::error(from, &format!("error: unknown command `{cmd}`"));
            Reply::Nothing
        }
    }
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
    use super::parse_int_prefix;

    #[test]
    fn parses_leading_integers_like_strtol() {
        assert_eq!(parse_int_prefix("100"), Some(100));
        assert_eq!(parse_int_prefix(" -5 rest"), Some(-5));
        assert_eq!(parse_int_prefix("0x10"), Some(16));
        assert_eq!(parse_int_prefix("abc"), None);
    }
}
