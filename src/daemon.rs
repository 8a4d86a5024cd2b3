//! Daemon mode (`daemon = "pidfile"`): detach, and keep a pid file that also refuses a second
//! copy of the node.

use crate::ffi::sys;
use std::io::Write;

fn running_pid(pidfile: &str) -> Option<i32> {
    let text = std::fs::read_to_string(pidfile).ok()?;
    let pid: i32 = text.trim().parse().ok()?;
    let alive = pid != std::process::id() as i32 && sys::process_exists(pid);
    alive.then_some(pid)
}

/// Detaches the process and writes its pid. Errors are the reason to report.
pub fn init(pidfile: &str) -> Result<(), String> {
    if let Some(pid) = running_pid(pidfile) {
        return Err(format!("skynet is already running, pidfile {pidfile} names pid {pid}"));
    }
    // First thing at start: no thread exists yet.
    sys::daemonize().map_err(|e| format!("can't daemonize: {e}"))?;
    let mut f = std::fs::File::create(pidfile).map_err(|e| format!("can't create pidfile {pidfile}: {e}"))?;
    writeln!(f, "{}", std::process::id()).map_err(|e| format!("can't write pidfile {pidfile}: {e}"))?;
    sys::silence_std_streams();
    Ok(())
}

pub fn exit(pidfile: &str) {
    let _ = std::fs::remove_file(pidfile);
}
