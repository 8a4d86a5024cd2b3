//! Daemon mode (`daemon = "pidfile"`): detach, and keep a pid file that also refuses a second
//! copy of the node.

use std::io::Write;

fn running_pid(pidfile: &str) -> Option<i32> {
    let text = std::fs::read_to_string(pidfile).ok()?;
    let pid: i32 = text.trim().parse().ok()?;
    // SAFETY: kill with signal 0 only checks that the process exists.
    let alive = pid > 0 && pid != std::process::id() as i32 && unsafe { libc::kill(pid, 0) } == 0;
    alive.then_some(pid)
}

/// Detaches the process and writes its pid. Errors are the reason to report.
pub fn init(pidfile: &str) -> Result<(), String> {
    if let Some(pid) = running_pid(pidfile) {
        return Err(format!("skynet is already running, pidfile {pidfile} names pid {pid}"));
    }
    // SAFETY: daemon(1, 1) forks before any thread exists (called first thing at start).
    if unsafe { libc::daemon(1, 1) } != 0 {
        return Err(format!("can't daemonize: {}", std::io::Error::last_os_error()));
    }
    let mut f = std::fs::File::create(pidfile).map_err(|e| format!("can't create pidfile {pidfile}: {e}"))?;
    writeln!(f, "{}", std::process::id()).map_err(|e| format!("can't write pidfile {pidfile}: {e}"))?;
    // Standard streams go nowhere, as a daemon's should.
    // SAFETY: open/dup2/close on file descriptors this process owns.
    unsafe {
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if null >= 0 {
            for fd in 0..3 {
                libc::dup2(null, fd);
            }
            if null > 2 {
                libc::close(null);
            }
        }
    }
    Ok(())
}

pub fn exit(pidfile: &str) {
    let _ = std::fs::remove_file(pidfile);
}
