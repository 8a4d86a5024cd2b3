/* libFuzzer target for sproto.core: the input is decoded as every type of the suite's first
 * two schemas (raw and 0-packed), unpacked, and loaded as a binary schema. Whatever the
 * bytes, each call either returns or raises a Lua error; a message that decodes re-encodes
 * to bytes that decode and re-encode to themselves. Build and run: tests/sproto/fuzz/run.sh */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

int luaopen_sproto_core(lua_State *L);

static lua_State *L;

static const char *setup =
	"package.path = './lualib/?.lua;./tests/sproto/?.lua'\n"
	"local sproto = require 'sproto'\n"
	"local core = require 'sproto.core'\n"
	"local cases = require 'cases'\n"
	"local list = {}\n"
	"for i, types in ipairs { { 'Person', 'Data', 'M', 'KV' },\n"
	"		{ 'package', 'Person', 'AddressBook', 'Person.PhoneNumber' } } do\n"
	"	local sp = sproto.parse(cases.schemas[i])\n"
	"	for _, name in ipairs(types) do list[#list + 1] = { sp, name } end\n"
	"end\n"
	"local function fixed(sp, name, t)\n"
	"	if name == 'M' or name == 'AddressBook' then return end -- maps: order of pairs\n"
	"	local e1 = sp:encode(name, t)\n"
	"	local e2 = sp:encode(name, sp:decode(name, e1))\n"
	"	if e1 ~= e2 then error('FUZZ INVARIANT: re-encoding of ' .. name .. ' differs', 0) end\n"
	"end\n"
	"return function(s)\n"
	"	for _, e in ipairs(list) do\n"
	"		local sp, name = e[1], e[2]\n"
	"		local ok, t = pcall(sp.decode, sp, name, s)\n"
	"		if ok then fixed(sp, name, t) end\n"
	"		ok, t = pcall(sp.pdecode, sp, name, s)\n"
	"		if ok then fixed(sp, name, t) end\n"
	"	end\n"
	"	pcall(core.unpack, s)\n"
	"	pcall(core.pack, s)\n"
	"	local obj = core.newproto(s)\n"
	"	if obj then core.querytype(obj, 'x'); core.protocol(obj, 1); core.deleteproto(obj) end\n"
	"end\n";

int
LLVMFuzzerInitialize(int *argc, char ***argv) {
	(void)argc; (void)argv;
	L = luaL_newstate();
	luaL_openlibs(L);
	luaL_requiref(L, "sproto.core", luaopen_sproto_core, 0);
	lua_pop(L, 1);
	if (luaL_dostring(L, setup) != LUA_OK) {
		fprintf(stderr, "fuzz setup: %s\n", lua_tostring(L, -1));
		abort();
	}
	lua_setfield(L, LUA_REGISTRYINDEX, "fuzz_one");
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	lua_getfield(L, LUA_REGISTRYINDEX, "fuzz_one");
	lua_pushlstring(L, (const char *)data, size);
	if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
		fprintf(stderr, "fuzz: %s\n", lua_tostring(L, -1));
		abort();        /* only the invariant raises out of fuzz_one */
	}
	lua_gc(L, LUA_GCSTEP, 0);
	return 0;
}
