# `make linux` builds the core (libskynet.so), the skynet executable, our C services and Lua
# C modules. `make test` runs every test; `make bench` the benchmarks.

CARGO ?= cargo
CC ?= cc
# The cargo profile of the core: release (default), debug, or any profile of Cargo.toml.
PROFILE ?= release
ifeq ($(PROFILE),release)
CARGO_PROFILE := --release
BUILD := target/release
else ifneq ($(filter debug dev,$(PROFILE)),)
CARGO_PROFILE :=
BUILD := target/debug
else
CARGO_PROFILE := --profile $(PROFILE)
BUILD := target/$(PROFILE)
endif
# build.rs builds Lua into Cargo's OUT_DIR; tools/lua-outputs copies it here after each build.
LUA_INC := $(BUILD)/lua/include
LUA_LIB := $(BUILD)/lua/lib/liblua5.5.a
CFLAGS ?= -O2 -g -Wall
SHARED := -fPIC -shared
MODULE_CFLAGS = $(CFLAGS) -std=gnu99 $(SHARED) -Iinclude -I$(LUA_INC)

CSERVICES := $(patsubst service-src/service_%.c,cservice/%.so,$(wildcard service-src/service_*.c))
LUACLIB_SRC := $(wildcard luaclib-src/*.c)
# Each folder luaclib-src/<name>/ is a Lua C module of its own, luaclib/<name>.so (for
# `require "<name>"` or "<name>.<sub>", e.g. sproto.so gives sproto.core), built from its .c files.
LUACLIB_DIRS := $(patsubst luaclib-src/%/,%,$(sort $(dir $(wildcard luaclib-src/*/*.c))))
# luaclib-src/ltls/ (TLS for https and wss) needs OpenSSL: skipped without its headers.
HAVE_OPENSSL := $(shell printf '\043include <openssl/ssl.h>\n' | $(CC) -E -x c - >/dev/null 2>&1 && echo yes)
ifneq ($(HAVE_OPENSSL),yes)
LUACLIB_DIRS := $(filter-out ltls,$(LUACLIB_DIRS))
endif
LUACLIB_MODS := $(patsubst %,luaclib/%.so,$(LUACLIB_DIRS))
luaclib/ltls.so: MODULE_LIBS := -lssl -lcrypto

.PHONY: linux all core clean test test-c test-asan bench fuzz soak
linux: all
all: skynet $(CSERVICES) $(if $(LUACLIB_SRC),luaclib/skynet.so) $(LUACLIB_MODS) 3rd/lua/lua

# cargo decides what is stale; the copy beside the executable follows the build. It is
# replaced by rename, never rewritten in place: running nodes keep their mapping.
core:
	mkdir -p target
	$(CARGO) build $(CARGO_PROFILE) --message-format=json-render-diagnostics > target/cargo-build-$(PROFILE).json
	sh tools/lua-outputs target/cargo-build-$(PROFILE).json $(BUILD)/lua
	cmp -s $(BUILD)/libskynet.so libskynet.so || \
		{ cp $(BUILD)/libskynet.so libskynet.so.new && mv -f libskynet.so.new libskynet.so; }
$(LUA_LIB): core

# The executable links the one Lua of the process and exports it for C modules (-Wl,-E).
# Linked aside and renamed over the old one only when it changed: a node running the old
# executable keeps it, and one starting meanwhile never sees a half-written file.
skynet: src/main.c core
	$(CC) $(CFLAGS) -o $@.new src/main.c -L. -lskynet \
		-Wl,--whole-archive $(LUA_LIB) -Wl,--no-whole-archive \
		-Wl,-E -Wl,-rpath,'$$ORIGIN' -lm -ldl -lpthread
	if cmp -s $@.new $@; then rm -f $@.new; else mv -f $@.new $@; fi

# A plain Lua interpreter on the same Lua, for command-line clients (examples/client.lua),
# where upstream's tree has one.
3rd/lua/lua: examples/lua.c $(LUA_LIB)
	mkdir -p 3rd/lua
	$(CC) $(CFLAGS) -I$(LUA_INC) -o $@ examples/lua.c \
		-Wl,--whole-archive $(LUA_LIB) -Wl,--no-whole-archive -Wl,-E -lm -ldl -lpthread

cservice/%.so: service-src/service_%.c $(wildcard include/*.h) | cservice $(LUA_LIB)
	$(CC) $(MODULE_CFLAGS) -o $@ $<

luaclib/skynet.so: $(LUACLIB_SRC) $(wildcard luaclib-src/*.h) | luaclib $(LUA_LIB)
	$(CC) $(MODULE_CFLAGS) -Iluaclib-src -o $@ $(LUACLIB_SRC)

.SECONDEXPANSION:
$(LUACLIB_MODS): luaclib/%.so: $$(wildcard luaclib-src/%/*.c luaclib-src/%/*.h) $(wildcard include/*.h) | luaclib $(LUA_LIB)
	$(CC) $(MODULE_CFLAGS) -Iluaclib-src/$* -o $@ $(filter %.c,$^) $(MODULE_LIBS)

cservice luaclib:
	mkdir -p $@

test: linux
	sh tests/run-all.sh

test-c: linux
	sh tests/run-c-tests.sh

test-asan: linux
	SANITIZE=address sh tests/run-c-tests.sh

# UPSTREAM=<upstream skynet tree, built with make linux> compares side by side.
bench: linux
	sh benches/run.sh $(UPSTREAM)
	UPSTREAM=$(UPSTREAM) sh benches/socket.sh
	if [ -n "$(UPSTREAM)" ]; then sh benches/lua.sh $(UPSTREAM); fi
	if [ -n "$(UPSTREAM)" ] && command -v valgrind > /dev/null; then sh benches/spawncount.sh $(UPSTREAM); fi
	UPSTREAM=$(UPSTREAM) sh benches/gate.sh
	UPSTREAM=$(UPSTREAM) sh benches/http.sh
	if [ -n "$(UPSTREAM)" ]; then sh benches/sproto.sh $(UPSTREAM); fi
	if [ -n "$(UPSTREAM)" ]; then sh benches/cluster.sh $(UPSTREAM); fi
	if [ -n "$(UPSTREAM)" ]; then sh benches/stack.sh $(UPSTREAM); fi
	if [ -n "$(UPSTREAM)" ]; then sh benches/db.sh $(UPSTREAM); fi

# FUZZ_SECONDS per target (default 60); FUZZ_TARGETS to pick some (fuzz/targets/*.lua).
fuzz: linux
	FUZZ_SECONDS=$(or $(FUZZ_SECONDS),60) sh fuzz/run.sh $(FUZZ_TARGETS)

# SOAK_SECONDS (default 600) under SOAK_CLIENTS echo clients (default 1,000).
soak: linux
	python3 tests/soak/soak.py ./skynet $(or $(SOAK_SECONDS),600) $(or $(SOAK_CLIENTS),1000)

clean:
	rm -rf skynet libskynet.so cservice luaclib 3rd tests/out
	$(CARGO) clean
