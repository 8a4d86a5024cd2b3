//! Builds two things the core needs but must not embed:
//! - Lua (the release named by `LUA_RELEASE`, from the sources the lua-src crate ships, the
//!   version Cargo.toml pins exactly), with our shared-code extension from lua-share/, as a
//!   static archive plus headers under `$OUT_DIR/lua/`: `lib/liblua5.5.a`, `include/`, and
//!   the patched sources in `src/` (for the sanitizer tests). The Makefile links the archive
//!   into the `skynet` executable (the process owns the one Lua; the core only calls its C
//!   API as undefined symbols) and copies the outputs to `target/<profile>/lua/`.
//!   `SKYNET_LUA_SRC=<dir>` builds from another copy of the same release's `src/` instead.
//!   Nothing falls back silently: sources not found, a different release, or a patch anchor
//!   missing fail the build with the reason.
//! - The small C edge that stable Rust cannot write (variadic `skynet_error`).
use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The Lua release we patch and build: its sources must say so in lua.h.
const LUA_RELEASE: &str = "5.5.1";
/// The crate that ships those sources, at the exact version Cargo.toml pins.
const LUA_SRC_CRATE: &str = "lua-src";
const LUA_SRC_VERSION: &str = "551.1.0";

fn main() {
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    let lua_dir = out_dir.join("lua");
    let src = lua_source_dir().unwrap_or_else(|why| panic!("can't find the Lua {LUA_RELEASE} sources: {why}"));
    check_release(&src);
    let lua_lib_dir = build_shared_lua(&src, &lua_dir.join("src"), &lua_dir);
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
    println!("cargo:rerun-if-env-changed=SKYNET_LUA_SRC");
}

/// The directory of Lua's `.c` and `.h` files: `SKYNET_LUA_SRC`, else the lua-src package
/// (name and version as pinned) among this build's dependencies, as `cargo metadata` lists
/// them, whose `lua-<release>/` holds the sources.
fn lua_source_dir() -> Result<PathBuf, String> {
    if let Ok(dir) = env::var("SKYNET_LUA_SRC") {
        return Ok(PathBuf::from(dir));
    }
    let cargo = env::var("CARGO").map_err(|_| "CARGO is not set (not run by cargo?)")?;
    let target = env::var("TARGET").map_err(|_| "TARGET is not set")?;
    // --filter-platform: only this target's dependencies, so nothing needs downloading.
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--offline", "--filter-platform", &target])
        .current_dir(env::var("CARGO_MANIFEST_DIR").unwrap())
        .output()
        .map_err(|e| format!("cargo metadata: {e}"))?;
    if !out.status.success() {
        return Err(format!("cargo metadata failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let json = String::from_utf8_lossy(&out.stdout);
    let manifest = package_manifest(&json, LUA_SRC_CRATE, LUA_SRC_VERSION)
        .ok_or_else(|| format!("no package {LUA_SRC_CRATE} {LUA_SRC_VERSION} in cargo metadata (is Cargo.toml's pin the same?)"))?;
    let dir = Path::new(&manifest).parent().unwrap().join(format!("lua-{LUA_RELEASE}"));
    if dir.join("lua.h").is_file() {
        Ok(dir)
    } else {
        Err(format!("{} has no lua.h", dir.display()))
    }
}

/// The manifest path of package `name` at `version` in `cargo metadata` output: each package
/// object starts with its name and version, and names its manifest path further on.
fn package_manifest(json: &str, name: &str, version: &str) -> Option<String> {
    let start = json.find(&format!("{{\"name\":\"{name}\",\"version\":\"{version}\""))?;
    let key = "\"manifest_path\":\"";
    let rest = &json[start..];
    let at = rest.find(key)? + key.len();
    let end = rest[at..].find('"')?;
    Some(rest[at..at + end].to_string())
}

/// Fails unless `src/lua.h` is the release we patch (the patch anchors are written for it).
fn check_release(src: &Path) {
    let header = fs::read_to_string(src.join("lua.h")).unwrap_or_else(|e| panic!("{}: {e}", src.join("lua.h").display()));
    let field = |name: &str| {
        header
            .lines()
            .find_map(|l| l.strip_prefix("#define LUA_VERSION_").and_then(|r| r.strip_prefix(name)).map(|v| v.trim().trim_matches('"').to_string()))
            .unwrap_or_default()
    };
    let found = format!("{}.{}.{}", field("MAJOR_N"), field("MINOR_N"), field("RELEASE_N"));
    if found != LUA_RELEASE {
        panic!("{} is Lua {found}, not {LUA_RELEASE}: update LUA_RELEASE and the patch in build.rs together", src.display());
    }
}

/// Replaces `old` (which must occur once) in `file` by `new`.
fn replace_once(file: &Path, old: &str, new: &str) {
    let text = fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let n = text.matches(old).count();
    if n != 1 {
        panic!(
            "the shared-code patch does not apply to Lua {LUA_RELEASE}: {} has {n} places (not 1) matching\n{old}",
            file.display()
        );
    }
    fs::write(file, text.replacen(old, new, 1)).unwrap();
}

/// Inserts `add` right after `anchor` (which must occur once) in `file`.
fn insert_after(file: &Path, anchor: &str, add: &str) {
    replace_once(file, anchor, &format!("{anchor}{add}"));
}

/// Lua 5.5 with shared code (lua-share/lshare.c), built from a copy of `src` in `work` (kept
/// for the sanitizer tests): three hooks and the read-only tables of boxes go into the copy,
/// the rest is Lua as released.
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
    box_patches(work);
    lend_patches(work);
    upvalue_patches(work);
    let lib_dir = lua_dir.join("lib");
    let include_dir = lua_dir.join("include");
    fs::create_dir_all(&include_dir).unwrap();
    let mut build = cc::Build::new();
    build.warnings(false).cargo_metadata(false).include(work).define("LUA_USE_LINUX", None);
    // A state's cache of C strings pushed through the API: 17 one-way sets, not 53 two-way
    // (0.7 KB less in every service; skynet's C modules push few distinct literal strings).
    build.define("STRCACHE_N", "17").define("STRCACHE_M", "1");
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

/// Box tables (lshare.h) are frozen: flagged BITFROZEN, read by many threads at once. Every
/// way of writing to a table checks the flag and calls luaH_thaw (lua-share/lend.inc, added
/// to ltable.c), which raises an error for a box table and gives a lent table a hash part of
/// its own. The two writes a read can make (the length hint of `#`, the metamethod cache)
/// happen only when they change something, which never is the case for a frozen table
/// (lshare.c settles both); a lent table's header is its own, so it may take them.
fn box_patches(work: &Path) {
    insert_after(
        &work.join("ltable.h"),
        "#define setdummy(t)\t\t((t)->flags |= BITDUMMY)\n",
        "\n/* a table of a box (lshare.h), read-only and read by other states, or a lent table,\n\
         ** copied at its first write (luaH_thaw) */\n\
         #define BITFROZEN\t\t(1 << 7)\n#define isfrozen(t)\t\t((t)->flags & BITFROZEN)\n",
    );
    insert_after(
        &work.join("ltable.h"),
        "LUAI_FUNC void luaH_free (lua_State *L, Table *t);\n",
        "LUAI_FUNC int luaH_islent (const Table *t);\n\
         LUAI_FUNC void luaH_lend (Table *t, const Table *tmpl);\n\
         LUAI_FUNC void luaH_thaw (lua_State *L, Table *t);\n",
    );
    let ltable = work.join("ltable.c");
    replace_once(
        &ltable,
        "  lua_assert(hint <= t->asize);\n  *lenhint(t) = hint;\n",
        "  lua_assert(hint <= t->asize);\n  if (*lenhint(t) != hint)\n    *lenhint(t) = hint;\n",
    );
    replace_once(
        &ltable,
        "    *lenhint(t) = asize;\n",
        "    if (*lenhint(t) != asize)\n      *lenhint(t) = asize;\n",
    );
    // A lent table gets a copy of its own there; a box table raises.
    let check = "  if (l_unlikely(isfrozen(t)))\n    luaH_thaw(L, t);\n";
    insert_after(&ltable, "void luaH_set (lua_State *L, Table *t, const TValue *key, TValue *value) {\n", check);
    insert_after(&ltable, "void luaH_setint (lua_State *L, Table *t, lua_Integer key, TValue *value) {\n", check);
    replace_once(
        &ltable,
        "void luaH_resize (lua_State *L, Table *t, unsigned newasize,\n                                          unsigned nhsize) {\n",
        &format!("void luaH_resize (lua_State *L, Table *t, unsigned newasize,\n                                          unsigned nhsize) {{\n{check}"),
    );
    let lend = fs::read_to_string("lua-share/lend.inc").expect("lua-share/lend.inc");
    let mut text = fs::read_to_string(&ltable).unwrap();
    text.push_str(&lend);
    fs::write(&ltable, text).unwrap();
    // The fast paths take a frozen table for a non-table; luaV_finishset then says why.
    let lvm_h = work.join("lvm.h");
    replace_once(
        &lvm_h,
        "  (hres = (!ttistable(t) ? HNOTATABLE : f(hvalue(t), k, val)))",
        "  (hres = ((!ttistable(t) || isfrozen(hvalue(t))) ? HNOTATABLE : f(hvalue(t), k, val)))",
    );
    replace_once(
        &lvm_h,
        "  if (!ttistable(t)) hres = HNOTATABLE; \\\n",
        "  if (!ttistable(t) || isfrozen(hvalue(t))) hres = HNOTATABLE; \\\n",
    );
    let lvm = work.join("lvm.c");
    replace_once(
        &lvm,
        "    else {  /* not a table; check metamethod */\n      tm = luaT_gettmbyobj(L, t, TM_NEWINDEX);\n",
        "    else {  /* not a table; check metamethod */\n      if (l_unlikely(ttistable(t))) {  /* a lent or frozen one */\n        Table *h = hvalue(t);\n        luaH_thaw(L, h);  /* a lent one is its own now */\n        hres = luaH_pset(h, key, val);\n        if (hres == HOK) {\n          luaC_barrierback(L, obj2gco(h), val);\n          return;\n        }\n        continue;  /* as a table */\n      }\n      tm = luaT_gettmbyobj(L, t, TM_NEWINDEX);\n",
    );
    replace_once(
        &lvm,
        "    /* do the equivalent to 'luaV_fastset', but saving 'h' */\n    if (!ttistable(t))\n",
        "    /* do the equivalent to 'luaV_fastset', but saving 'h' */\n    if (!ttistable(t) || isfrozen(hvalue(t)))\n",
    );
    replace_once(
        &work.join("lapi.c"),
        "    case LUA_TTABLE: {\n      hvalue(obj)->metatable = mt;\n",
        "    case LUA_TTABLE: {\n      if (l_unlikely(isfrozen(hvalue(obj))))\n        luaH_thaw(L, hvalue(obj));\n      hvalue(obj)->metatable = mt;\n",
    );
}

/// The openers of the libraries lshare.c lends (lshare_lend) take the template's table when
/// they can and build their own otherwise; math.random and math.randomseed keep their
/// generator in the state's registry, made at first use, instead of in an upvalue, so that
/// the math table holds light functions only.
fn lend_patches(work: &Path) {
    let lend = |file: &str, name: &str, build: &str, rest: &str| {
        let path = work.join(file);
        insert_after(&path, "#include \"lualib.h\"\n", "#include \"lshare.h\"\n");
        replace_once(
            &path,
            &format!("  {build}\n{rest}"),
            &format!("  if (lshare_lend(L, \"{name}\"))\n    return 1;\n  {build}\n{rest}"),
        );
    };
    lend("ltablib.c", "table", "luaL_newlib(L, tab_funcs);", "  return 1;\n");
    lend("loslib.c", "os", "luaL_newlib(L, syslib);", "  return 1;\n");
    lend("ldblib.c", "debug", "luaL_newlib(L, dblib);", "  return 1;\n");
    lend("lutf8lib.c", "utf8", "luaL_newlib(L, funcs);", "  lua_pushlstring(L, UTF8PATT,");
    lend("lmathlib.c", "math", "luaL_newlib(L, mathlib);", "  lua_pushnumber(L, PI);\n");
    lend("lcorolib.c", "coroutine", "luaL_newlib(L, co_funcs);", "  return 1;\n");
    // string's metatable is each state's own (its __index is the state's string table)
    let lstrlib = work.join("lstrlib.c");
    insert_after(&lstrlib, "#include \"lualib.h\"\n", "#include \"lshare.h\"\n");
    replace_once(
        &lstrlib,
        "  luaL_newlib(L, strlib);\n  createmetatable(L);\n",
        "  if (!lshare_lend(L, \"string\"))\n    luaL_newlib(L, strlib);\n  createmetatable(L);\n",
    );
    // io: the standard files are the shared state's, so their stream is never written (a
    // close of one answers "cannot close standard file" without marking it closed first),
    // and a borrowing state takes them, and their metatable, into its registry.
    let liolib = work.join("liolib.c");
    insert_after(&liolib, "#include \"lualib.h\"\n", "#include \"lshare.h\"\n");
    replace_once(
        &liolib,
        "static int aux_close (lua_State *L) {\n  LStream *p = tolstream(L);\n  volatile lua_CFunction cf = p->closef;\n",
        "static int io_noclose (lua_State *L);\n\n\
         static int aux_close (lua_State *L) {\n  LStream *p = tolstream(L);\n  volatile lua_CFunction cf = p->closef;\n\
         \x20 if (cf == &io_noclose)  /* a standard file, maybe other states' too */\n    return io_noclose(L);\n",
    );
    replace_once(
        &liolib,
        "  p->closef = &io_noclose;  /* keep file opened */\n",
        "  if (p->closef != &io_noclose)\n    p->closef = &io_noclose;  /* keep file opened */\n",
    );
    replace_once(
        &liolib,
        "LUAMOD_API int luaopen_io (lua_State *L) {\n",
        "LUAMOD_API int luaopen_io (lua_State *L) {\n\
         \x20 if (lshare_lend(L, \"io\")) {\n\
         \x20   lua_getfield(L, -1, \"stdin\");\n\
         \x20   lua_getmetatable(L, -1);\n\
         \x20   lua_setfield(L, LUA_REGISTRYINDEX, LUA_FILEHANDLE);\n\
         \x20   lua_setfield(L, LUA_REGISTRYINDEX, IO_INPUT);\n\
         \x20   lua_getfield(L, -1, \"stdout\");\n\
         \x20   lua_setfield(L, LUA_REGISTRYINDEX, IO_OUTPUT);\n\
         \x20   return 1;\n\
         \x20 }\n",
    );
    let lmathlib = work.join("lmathlib.c");
    insert_after(&lmathlib, "} RanState;\n", "\nstatic RanState *ranstate (lua_State *L);\n");
    let upvalue_state = "  RanState *state = (RanState *)lua_touserdata(L, lua_upvalueindex(1));\n";
    replace_once(
        &lmathlib,
        &format!("{upvalue_state}  Rand64 rv"),
        "  RanState *state = ranstate(L);\n  Rand64 rv",
    );
    replace_once(
        &lmathlib,
        &format!("static int math_randomseed (lua_State *L) {{\n{upvalue_state}"),
        "/* The state's generator, in its registry: made and seeded at first use. */\n\
         static RanState *ranstate (lua_State *L) {\n\
         \x20 static const char key = 0;  /* its address is the registry key */\n\
         \x20 RanState *state;\n\
         \x20 if (lua_rawgetp(L, LUA_REGISTRYINDEX, &key) == LUA_TUSERDATA) {\n\
         \x20   state = (RanState *)lua_touserdata(L, -1);\n\
         \x20   lua_pop(L, 1);\n\
         \x20   return state;\n\
         \x20 }\n\
         \x20 lua_pop(L, 1);\n\
         \x20 state = (RanState *)lua_newuserdatauv(L, sizeof(RanState), 0);\n\
         \x20 setseed(L, state->s, luaL_makeseed(L), 0);\n\
         \x20 lua_pop(L, 2);  /* the seeds */\n\
         \x20 lua_rawsetp(L, LUA_REGISTRYINDEX, &key);  /* anchored there */\n\
         \x20 return state;\n\
         }\n\n\n\
         static int math_randomseed (lua_State *L) {\n  RanState *state = ranstate(L);\n",
    );
    replace_once(
        &lmathlib,
        "  RanState *state = (RanState *)lua_newuserdatauv(L, sizeof(RanState), 0);\n  setseed(L, state->s, luaL_makeseed(L), 0);  /* initialize with random seed */\n  lua_pop(L, 2);  /* remove pushed seeds */\n  luaL_setfuncs(L, randfuncs, 1);\n",
        "  luaL_setfuncs(L, randfuncs, 0);  /* their generator: ranstate */\n",
    );
}

/// A new closure's local upvalues are found in one walk of the open upvalue list
/// (lua-share/upvals.inc, added to lfunc.c), not one walk each.
fn upvalue_patches(work: &Path) {
    let lfunc = work.join("lfunc.c");
    let fill = fs::read_to_string("lua-share/upvals.inc").expect("lua-share/upvals.inc");
    let mut text = fs::read_to_string(&lfunc).unwrap();
    text.push_str(&fill);
    fs::write(&lfunc, text).unwrap();
    insert_after(
        &work.join("lfunc.h"),
        "LUAI_FUNC UpVal *luaF_findupval (lua_State *L, StkId level);\n",
        "LUAI_FUNC void luaF_fillupvals (lua_State *L, LClosure *cl, const Upvaldesc *uv,\n\
         \x20                              StkId base, UpVal **encup);\n",
    );
    replace_once(
        &work.join("lvm.c"),
        "  int nup = p->sizeupvalues;\n\
         \x20 Upvaldesc *uv = p->upvalues;\n\
         \x20 int i;\n\
         \x20 LClosure *ncl = luaF_newLclosure(L, nup);\n\
         \x20 ncl->p = p;\n\
         \x20 setclLvalue2s(L, ra, ncl);  /* anchor new closure in stack */\n\
         \x20 for (i = 0; i < nup; i++) {  /* fill in its upvalues */\n\
         \x20   if (uv[i].instack)  /* upvalue refers to local variable? */\n\
         \x20     ncl->upvals[i] = luaF_findupval(L, base + uv[i].idx);\n\
         \x20   else  /* get upvalue from enclosing function */\n\
         \x20     ncl->upvals[i] = encup[uv[i].idx];\n\
         \x20   luaC_objbarrier(L, ncl, ncl->upvals[i]);\n\
         \x20 }\n",
        "  LClosure *ncl = luaF_newLclosure(L, p->sizeupvalues);\n\
         \x20 ncl->p = p;\n\
         \x20 setclLvalue2s(L, ra, ncl);  /* anchor new closure in stack */\n\
         \x20 luaF_fillupvals(L, ncl, p->upvalues, base, encup);\n",
    );
}
