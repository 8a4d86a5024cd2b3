//! Builds two things the core needs but must not embed:
//! - Lua 5.5 (from lua-src) as a static archive plus headers under `target/<profile>/lua/`,
//!   for the Makefile to link into the `skynet` executable (the process owns the one Lua;
//!   the core only calls its C API as undefined symbols).
//! - The small C edge that stable Rust cannot write (variadic `skynet_error`).
use std::env;
use std::path::PathBuf;

fn main() {
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    // OUT_DIR is target/<profile>/build/<pkg>-<hash>/out
    let profile_dir = out_dir.ancestors().nth(3).unwrap().to_path_buf();
    let lua_dir = profile_dir.join("lua");
    let lua = lua_src::Build::new().out_dir(&lua_dir).build(lua_src::Lua55);
    // Only unit tests link it (see lib.rs); the search path alone links nothing.
    println!("cargo:rustc-link-search=native={}", lua.lib_dir().display());

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
    println!("cargo:rerun-if-changed=include");
}
