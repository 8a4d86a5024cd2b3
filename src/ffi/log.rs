//! skynet_log.h: a service's message log, on a C `FILE *`.

use crate::env;
use crate::log::ServiceLog;
use std::ffi::{c_int, c_void, CString};
use std::io::Write;

/// Writes through a C stdio stream the caller owns.
struct CFile(*mut libc::FILE);

impl Write for CFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // SAFETY: self.0 is an open FILE* (skynet_log_open's, or the caller's).
        Ok(unsafe { libc::fwrite(buf.as_ptr() as *const c_void, 1, buf.len(), self.0) })
    }
    fn flush(&mut self) -> std::io::Result<()> {
        // SAFETY: as above.
        unsafe { libc::fflush(self.0) };
        Ok(())
    }
}

#[no_mangle]
pub extern "C" fn skynet_log_open(_ctx: *mut c_void, handle: u32) -> *mut libc::FILE {
    let Some(dir) = env::get("logpath") else { return std::ptr::null_mut() };
    let path = format!("{dir}/{handle:08x}.log");
    let Ok(cpath) = CString::new(path.clone()) else { return std::ptr::null_mut() };
    // SAFETY: fopen with valid C strings.
    let f = unsafe { libc::fopen(cpath.as_ptr(), c"ab".as_ptr()) };
    if f.is_null() {
        crate::log::error(handle, &format!("Open log file {path} fail"));
    } else {
        crate::log::error(handle, &format!("Open log file {path}"));
        ServiceLog::new(CFile(f)).opened();
    }
    f
}

/// # Safety
/// `f` is a FILE* from skynet_log_open; it is closed here.
#[no_mangle]
pub unsafe extern "C" fn skynet_log_close(_ctx: *mut c_void, f: *mut libc::FILE, handle: u32) {
    if f.is_null() {
        return;
    }
    ServiceLog::new(CFile(f)).close(handle);
    // SAFETY: as documented.
    unsafe { libc::fclose(f) };
}

/// # Safety
/// `f` is an open FILE*; `buffer` holds `sz` bytes (for PTYPE_SOCKET, a socket message).
#[no_mangle]
pub unsafe extern "C" fn skynet_log_output(
    f: *mut libc::FILE,
    source: u32,
    ptype: c_int,
    session: c_int,
    buffer: *mut c_void,
    sz: usize,
) {
    if !f.is_null() {
        let payload: &[u8] = if buffer.is_null() {
            &[]
        } else {
            // SAFETY: as documented.
            unsafe { std::slice::from_raw_parts(buffer as *const u8, sz) }
        };
        ServiceLog::new(CFile(f)).output(source, ptype, session, payload);
    }
}
