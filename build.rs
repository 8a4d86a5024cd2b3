//! Builds two things the core needs but must not embed:
//! - Lua 5.5 (the sources of the lua-src crate, with our shared-code extension from
//!   lua-share/) as a static archive plus headers under `target/<profile>/lua/`, for the
//!   Makefile to link into the `skynet` executable (the process owns the one Lua; the core
//!   only calls its C API as undefined symbols).
//! - The small C edge that stable Rust cannot write (variadic `skynet_error`).
use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    // OUT_DIR is target/<profile>/build/<pkg>-<hash>/out
    let profile_dir = out_dir.ancestors().nth(3).unwrap().to_path_buf();
    let lua_dir = profile_dir.join("lua");
    let lua_lib_dir = match lua_source_dir() {
        Some(src) => build_shared_lua(&src, &lua_dir.join("src"), &lua_dir),
        None => {
            println!("cargo:warning=lua-src's sources not found: building stock Lua, without shared code");
            lua_src::Build::new().out_dir(&lua_dir).build(lua_src::Lua55).lib_dir().to_path_buf()
        }
    };
    // Only unit tests link it (see lib.rs); the search path alone links nothing.
    println!("cargo:rustc-link-search=native={}", lua_lib_dir.display());

    cc::Build::new()
        .file("src/ffi/variadic.c")
        .include("include")
        .cargo_metadata(false)
        .out_dir(out_dir.join("c"))
        .compile("skynet_variadic");
    // Nothing in Rust calls it, so keep the whole archive.
    println!("cargo:rustc-link-search=native={}", out_dir.join("c").display());
    println!("cargo:rustc-link-lib=static:+whole-archive=skynet_variadic");
    // The Rust cdylib exports only Rust symbols; this script adds the C edge's.
    let script = out_dir.join("export-c.ver");
    std::fs::write(&script, "{ global: skynet_error; };\n").unwrap();
    println!("cargo:rustc-cdylib-link-arg=-Wl,--version-script={}", script.display());
    println!("cargo:rerun-if-changed=src/ffi/variadic.c");
    println!("cargo:rerun-if-changed=lua-share");
    println!("cargo:rerun-if-changed=include");
}

/// Where the lua-src crate keeps Lua 5.5's sources (cargo knows where it unpacked it).
fn lua_source_dir() -> Option<PathBuf> {
    let cargo = env::var("CARGO").ok()?;
    let target = env::var("TARGET").ok()?;
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--offline", "--filter-platform", &target])
        .current_dir(env::var("CARGO_MANIFEST_DIR").ok()?)
        .output()
        .ok()?;
    let json = String::from_utf8(out.stdout).ok()?;
    let key = "\"manifest_path\":\"";
    json.match_indices(key)
        .filter_map(|(at, _)| {
            let rest = &json[at + key.len()..];
            Some(&rest[..rest.find('"')?])
        })
        .map(Path::new)
        .filter(|m| m.parent().and_then(|d| d.file_name()).is_some_and(|n| n.to_string_lossy().starts_with("lua-src-")))
        .filter_map(|m| Some(m.parent()?.join("lua-5.5.1")))
        .find(|d| d.join("lstring.c").is_file())
}

/// Replaces `old` (which must occur once) in `file` by `new`.
fn replace_once(file: &Path, old: &str, new: &str) {
    let text = fs::read_to_string(file).unwrap();
    assert_eq!(text.matches(old).count(), 1, "{}: the place to extend is not where expected", file.display());
    fs::write(file, text.replacen(old, new, 1)).unwrap();
}

/// Inserts `add` right after `anchor` (which must occur once) in `file`.
fn insert_after(file: &Path, anchor: &str, add: &str) {
    replace_once(file, anchor, &format!("{anchor}{add}"));
}

/// Lua 5.5 with shared code (lua-share/lshare.c), built from a copy of `src` in `work` (kept
/// for the sanitizer tests): three hooks go into the copy, the rest is Lua as released.
/// Returns the library's directory.
fn build_shared_lua(src: &Path, work: &Path, lua_dir: &Path) -> PathBuf {
    fs::create_dir_all(work).unwrap();
    for entry in fs::read_dir(src).unwrap() {
        let path = entry.unwrap().path();
        if matches!(path.extension().and_then(|e| e.to_str()), Some("c" | "h")) {
            fs::copy(&path, work.join(path.file_name().unwrap())).unwrap();
        }
    }
    for f in ["lshare.c", "lshare.h"] {
        fs::copy(Path::new("lua-share").join(f), work.join(f)).unwrap();
    }
    // Interning takes the shared string when the state has no copy of its own.
    insert_after(&work.join("lstring.c"), "#include \"lstring.h\"\n", "#include \"lshare.h\"\n");
    insert_after(
        &work.join("lstring.c"),
        "  /* else must create a new string */\n",
        "  {\n    TString *shared = lshare_findstring(L, str, l, h);\n    if (shared != NULL)\n      return shared;\n  }\n",
    );
    // A new state marks its reserved words, which are the shared ones: no write when the
    // mark is there already, so states never write to shared strings.
    replace_once(
        &work.join("llex.c"),
        "    ts->extra = cast_byte(i+1);  /* reserved word */\n",
        "    if (ts->extra != cast_byte(i+1))\n      ts->extra = cast_byte(i+1);  /* reserved word */\n",
    );
    // A state's fixed strings may be the shared ones, which are not in its lists.
    insert_after(
        &work.join("lgc.c"),
        "void luaC_fix (lua_State *L, GCObject *o) {\n  global_State *g = G(L);\n",
        "  if (g->allgc != o)  /* a shared object: fixed already */\n    return;\n",
    );
    let lib_dir = lua_dir.join("lib");
    let include_dir = lua_dir.join("include");
    fs::create_dir_all(&include_dir).unwrap();
    let mut build = cc::Build::new();
    build.warnings(false).cargo_metadata(false).include(work).define("LUA_USE_LINUX", None);
    for entry in fs::read_dir(work).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        // the stand-alone interpreter and compiler have mains of their own
        if name.ends_with(".c") && name != "lua.c" && name != "luac.c" {
            build.file(&path);
        }
    }
    build.out_dir(&lib_dir).compile("lua5.5");
    for h in ["lauxlib.h", "lua.h", "luaconf.h", "lualib.h", "lshare.h"] {
        fs::copy(work.join(h), include_dir.join(h)).unwrap();
    }
    lib_dir
}
