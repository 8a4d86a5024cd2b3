//! The config file: Lua source, evaluated as upstream does (`include "file"` relative to the
//! including file, `$NAME` replaced from the process environment). Every key lands in the env.

use crate::env;
use crate::ffi::lua;

/// Runs the config file with `include` available and returns its globals as a table.
/// (fuzz/targets/config.lua runs the same file.)
const READER: &str = include_str!("config_reader.lua");

/// Reads `path` into the env. Errors are the reason, for the caller to report.
pub fn load(path: &str) -> Result<(), String> {
    if path.contains('\0') {
        return Err("config path contains NUL".into());
    }
    for (key, value) in lua::eval_table(READER, c"=[skynet config reader]", path)? {
        let key = key.ok_or("config keys must be strings")?;
        let value = value.ok_or_else(|| format!("config key `{key}` has a value that is not a string, number or boolean"))?;
        env::set(&key, &value).map_err(|e| format!("config: {e}"))?;
    }
    Ok(())
}

/// The settings the core itself starts from (skynet_imp.h's struct skynet_config).
#[derive(Debug, Clone)]
pub struct Config {
    pub thread: usize,
    pub harbor: u32,
    pub profile: bool,
    pub daemon: Option<String>,
    pub module_path: String,
    pub bootstrap: String,
    pub logger: Option<String>,
    pub logservice: String,
}

/// A missing key takes its default, which is written back to the env as upstream does.
fn opt(key: &str, default: Option<&str>) -> Option<String> {
    match env::get(key) {
        Some(v) => Some(v),
        None => {
            let d = default?;
            let _ = env::set(key, d);
            Some(d.to_owned())
        }
    }
}

fn opt_int(key: &str, default: i64) -> Result<i64, String> {
    let v = opt(key, Some(&default.to_string())).unwrap_or_default();
    let t = v.trim();
    t.parse::<i64>()
        .or_else(|_| t.parse::<f64>().map(|f| f as i64))
        .map_err(|_| format!("config: `{key}` must be a number, not `{v}`"))
}

impl Config {
    pub fn from_env() -> Result<Config, String> {
        let thread = opt_int("thread", 8)?;
        if !(1..=1024).contains(&thread) {
            return Err(format!("config: thread = {thread} is out of range (1..1024)"));
        }
        let harbor = opt_int("harbor", 1)?;
        if !(0..=255).contains(&harbor) {
            return Err(format!("config: harbor = {harbor} is out of range (0..255)"));
        }
        Ok(Config {
            thread: thread as usize,
            harbor: harbor as u32,
            profile: opt("profile", Some("true")).as_deref() == Some("true"),
            daemon: opt("daemon", None),
            module_path: opt("cpath", Some("./cservice/?.so")).unwrap_or_default(),
            bootstrap: opt("bootstrap", Some("snlua bootstrap")).unwrap_or_default(),
            logger: opt("logger", None),
            logservice: opt("logservice", Some("logger")).unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &std::path::Path, name: &str, text: &str) -> String {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p.to_string_lossy().into_owned()
    }

    #[test]
    fn reads_keys_includes_and_environment_variables() {
        let dir = std::env::temp_dir().join(format!("skynet-config-test-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        write(&dir.join("sub"), "inner.lua", "cfgtest_inner = 'from include'\ncfgtest_count = 3\n");
        std::env::set_var("SKYNET_CFGTEST_VALUE", "substituted");
        let main = write(&dir, "main.lua", "include 'sub/inner.lua'\ncfgtest_var = '$SKYNET_CFGTEST_VALUE'\ncfgtest_flag = false\n");
        load(&main).unwrap();
        assert_eq!(env::get("cfgtest_inner").as_deref(), Some("from include"));
        assert_eq!(env::get("cfgtest_count").as_deref(), Some("3"));
        assert_eq!(env::get("cfgtest_var").as_deref(), Some("substituted"));
        assert_eq!(env::get("cfgtest_flag").as_deref(), Some("false"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn reports_errors_instead_of_crashing() {
        let dir = std::env::temp_dir().join(format!("skynet-config-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bad = write(&dir, "bad.lua", "x = = 1\n");
        assert!(load(&bad).unwrap_err().contains("bad.lua:1:"));
        assert!(load(&dir.join("missing.lua").to_string_lossy()).unwrap_err().contains("can't open config file"));
        let unset = write(&dir, "unset.lua", "x = '$SKYNET_CFGTEST_SURELY_UNSET'\n");
        assert!(load(&unset).unwrap_err().contains("SKYNET_CFGTEST_SURELY_UNSET"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
