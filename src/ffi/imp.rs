//! skynet_imp.h (skynet_start) and the executable's entry point.

use super::text;
use crate::config::{self, Config};
use std::ffi::{c_char, c_int};

/// C's struct skynet_config.
#[repr(C)]
pub struct SkynetConfig {
    pub thread: c_int,
    pub harbor: c_int,
    pub profile: c_int,
    pub daemon: *const c_char,
    pub module_path: *const c_char,
    pub bootstrap: *const c_char,
    pub logger: *const c_char,
    pub logservice: *const c_char,
}

/// # Safety
/// `c` points to a valid skynet_config whose strings are NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn skynet_start(c: *const SkynetConfig) {
    // SAFETY: as documented.
    let Some(c) = (unsafe { c.as_ref() }) else { return };
    // SAFETY: as documented.
    let s = |p| unsafe { text(p) }.map(|t| t.into_owned());
    let config = Config {
        thread: c.thread.max(1) as usize,
        harbor: c.harbor as u32,
        profile: c.profile != 0,
        daemon: s(c.daemon),
        module_path: s(c.module_path).unwrap_or_else(|| "./cservice/?.so".into()),
        bootstrap: s(c.bootstrap).unwrap_or_else(|| "snlua bootstrap".into()),
        logger: s(c.logger),
        logservice: s(c.logservice).unwrap_or_else(|| "logger".into()),
    };
    if let Err(e) = crate::start::start(&config) {
        eprintln!("skynet: {e}");
        std::process::exit(1);
    }
}

/// `skynet <config>`: reads the config and runs the node; non-zero if it could not start.
///
/// # Safety
/// `argv` holds `argc` NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn skynet_main(argc: c_int, argv: *const *const c_char) -> c_int {
    let path = if argc > 1 && !argv.is_null() {
        // SAFETY: as documented.
        unsafe { text(*argv.add(1)) }.map(|t| t.into_owned())
    } else {
        None
    };
    let Some(path) = path else {
        eprintln!("usage: skynet <config file>");
        return 1;
    };
    crate::ffi::lua::init_code_cache();
    let run = || -> Result<(), String> {
        config::load(&path)?;
        let config = Config::from_env()?;
        crate::start::start(&config)
    };
    match run() {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("skynet: {e}");
            1
        }
    }
}
