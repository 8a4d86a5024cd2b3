/*
 * A plain Lua interpreter on the node's own Lua, for command-line clients such as
 * examples/client.lua. `make linux` builds it as 3rd/lua/lua, the path upstream's
 * instructions use:
 *
 *     ./3rd/lua/lua examples/client.lua [args...]
 *
 * It runs one script file (or standard input for "-") with the standard libraries, the
 * script's arguments in the global table `arg` (arg[0] the script) and as `...`.
 * C modules load from package.cpath as usual (the Lua API is exported for them).
 * Exit status: 0 when the script ends normally, 1 on an error (its traceback on stderr).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

static int
traceback(lua_State *L) {
	const char *msg = lua_tostring(L, 1);
	if (msg == NULL) {
		if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
			return 1;
		msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
	}
	luaL_traceback(L, L, msg, 1);
	return 1;
}

/* runs in protected mode: argv[1] is the script, the rest its arguments */
static int
run(lua_State *L) {
	int argc = (int)lua_tointeger(L, 1);
	char **argv = (char **)lua_touserdata(L, 2);
	const char *script = argv[1];
	int i;
	luaL_openlibs(L);
	lua_createtable(L, argc - 2, 2);
	for (i = 0; i < argc; i++) {
		lua_pushstring(L, argv[i]);
		lua_rawseti(L, -2, i - 1);
	}
	lua_setglobal(L, "arg");
	if (luaL_loadfile(L, strcmp(script, "-") == 0 ? NULL : script) != LUA_OK)
		return lua_error(L);
	luaL_checkstack(L, argc, "too many arguments");
	for (i = 2; i < argc; i++)
		lua_pushstring(L, argv[i]);
	lua_call(L, argc - 2, 0);
	return 0;
}

int
main(int argc, char *argv[]) {
	if (argc < 2) {
		fprintf(stderr, "usage: %s script.lua [args...]   (\"-\" reads the script from stdin)\n",
			argc > 0 ? argv[0] : "lua");
		return 2;
	}
	lua_State *L = luaL_newstate();
	if (L == NULL) {
		fprintf(stderr, "%s: cannot create a Lua state (out of memory)\n", argv[0]);
		return 1;
	}
	lua_pushcfunction(L, traceback);
	lua_pushcfunction(L, run);
	lua_pushinteger(L, argc);
	lua_pushlightuserdata(L, argv);
	int status = lua_pcall(L, 2, 0, 1);
	if (status != LUA_OK) {
		const char *msg = lua_tostring(L, -1);
		fprintf(stderr, "%s: %s\n", argv[0], msg ? msg : "(error)");
		fflush(stderr);
	}
	lua_close(L);
	return status == LUA_OK ? 0 : 1;
}
