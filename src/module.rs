//! C service modules: `<name>_create/_init/_release/_signal`, found as `?.so` on the `cpath`
//! search path, else among the modules built into the core (registered at start-up). A `.so`
//! on the path wins, so a tree's own module replaces ours.

use crate::log;
pub use crate::ffi::module::{Builtin, Instance, Module};
use std::sync::{Mutex, OnceLock};

struct Loader {
    path: String,
    builtins: Vec<&'static Builtin>,
    loaded: Vec<&'static Module>,
}

fn loader() -> &'static Mutex<Loader> {
    static LOADER: OnceLock<Mutex<Loader>> = OnceLock::new();
    LOADER.get_or_init(|| Mutex::new(Loader { path: "./cservice/?.so".into(), builtins: Vec::new(), loaded: Vec::new() }))
}

/// Sets the search path (`cpath`): `;`-separated patterns, each with one `?`.
pub fn init(path: &str) {
    loader().lock().unwrap_or_else(|e| e.into_inner()).path = path.to_owned();
}

/// Makes `module` available by its name when no `.so` on the path has that name.
pub fn register_builtin(module: &'static Builtin) {
    let mut l = loader().lock().unwrap_or_else(|e| e.into_inner());
    if !l.builtins.iter().any(|b| b.name == module.name) {
        l.builtins.push(module);
    }
}

/// Finds (loading on first use) the module called `name`.
pub fn query(name: &str) -> Option<&'static Module> {
    let mut l = loader().lock().unwrap_or_else(|e| e.into_inner());
    if let Some(m) = l.loaded.iter().find(|m| m.name() == name) {
        return Some(m);
    }
    let module = open_shared(&l.path, name)
        .or_else(|| l.builtins.iter().find(|b| b.name == name).map(|b| Module::builtin(b)))?;
    let module: &'static Module = Box::leak(Box::new(module));
    l.loaded.push(module);
    Some(module)
}

fn open_shared(path: &str, name: &str) -> Option<Module> {
    let mut last_error = String::new();
    for pattern in path.split(';').filter(|p| !p.is_empty()) {
        let Some(file) = expand(pattern, name) else {
            log::error(0, &format!("error: invalid C service path pattern `{pattern}` (needs one ?)"));
            continue;
        };
        match Module::open(&file, name) {
            Ok(m) => return Some(m),
            Err(e) if e.contains("_init") => log::error(0, &format!("error: {e}")),
            Err(e) => last_error = e,
        }
    }
    if !last_error.is_empty() && !last_error.contains("No such file") {
        log::error(0, &format!("error: can't load C service `{name}`: {last_error}"));
    }
    None
}

fn expand(pattern: &str, name: &str) -> Option<String> {
    let (head, tail) = pattern.split_once('?')?;
    Some(format!("{head}{name}{tail}"))
}
