-- Run by tinyloader.lua, without the Lua layer: what the snlua host itself gives a service.
local t = require "check"
local check = t.check

check(SERVICE_NAME == "tiny_host", "the loader got the launch line")
check(select("#", ...) == 2 and select(1, ...) == "a" and select(2, ...) == "b", "arguments after the name reach the service")
check(LUA_PATH == "./lualib/?.lua;./lualib/?/init.lua", "LUA_PATH defaults as upstream", LUA_PATH)
check(LUA_CPATH == "./luaclib/?.so", "LUA_CPATH defaults as upstream", LUA_CPATH)
check(LUA_SERVICE == "tests/lua/?.lua", "LUA_SERVICE comes from luaservice", LUA_SERVICE)
check(LUA_PRELOAD == "tests/lua/tiny_preload.lua", "LUA_PRELOAD comes from preload", LUA_PRELOAD)
check(debug.getregistry().LUA_NOENV == true, "libraries are told to ignore the process environment")
check(type(debug.getregistry().skynet_context) == "userdata", "registry.skynet_context holds the context")
check(collectgarbage("isrunning") == false, "the collector is stopped while the loader runs")

local profile = require "skynet.profile"
check(coroutine.resume == profile.resume and coroutine.wrap == profile.wrap,
	"coroutine.resume and coroutine.wrap are skynet.profile's")
local co = coroutine.create(function(n)
	local x = 0
	for i = 1, n do x = x + i end
	local back = coroutine.yield(x)
	return back .. "!"
end)
profile.start(co)
local ok, sum = coroutine.resume(co, 1000000)
check(ok and sum == 500000500000, "profile.resume resumes and returns what the coroutine yields")
local ok2, last = coroutine.resume(co, "done")
check(ok2 and last == "done!", "profile.resume passes values in")
check(coroutine.status(co) == "dead", "the coroutine finished")
local ti = profile.stop(co)
check(type(ti) == "number" and ti > 0 and ti < 5, "profile.stop gives the coroutine's cpu seconds", ti)
check(select(2, coroutine.resume(co)) == "cannot resume dead coroutine", "resuming a dead coroutine fails as stock")
check(not pcall(profile.stop, co), "stop without start is an error")
profile.start()
local e = select(2, pcall(profile.start))
check(tostring(e):find("start profile more than once", 1, true), "start twice is an error", e)
check(profile.stop() >= 0, "profiling the running coroutine")
local e2 = select(2, pcall(profile.stop))
check(tostring(e2):find("Call profile.start() before profile.stop()", 1, true), "stop twice is an error", e2)
check(coroutine.wrap(function(a) return a * 2 end)(21) == 42, "wrap")
local okw, ew = pcall(coroutine.wrap(function() error("boom") end))
check(not okw and ew:find("boom", 1, true), "an error in a wrapped coroutine propagates", ew)
check(not pcall(coroutine.wrap, 1), "wrap wants a function")
local gen = coroutine.wrap(function() for i = 1, 3 do coroutine.yield(i) end end)
check(gen() == 1 and gen() == 2 and gen() == 3, "wrap yields")

local cache = require "skynet.codecache"
check(cache.mode() == "ON", "codecache mode defaults to ON", cache.mode())
check(cache.loadfile == loadfile, "codecache.loadfile is loadfile")
local file = "tests/out/lua/tiny_host_cached.lua"
local function put(text)
	local f = assert(io.open(file, "w"))
	f:write(text)
	f:close()
end
put("return 'first', debug.getinfo(1, 'S').source")
local first, source = loadfile(file)()
put("return 'second'")
check(first == "first" and source == "@" .. file, "a loaded file keeps its source name", source)
check(loadfile(file)() == "first", "a file is loaded once, then served from the cache")
cache.mode "OFF"
check(loadfile(file)() == "second", "mode OFF reads the file")
cache.mode "ON"
check(loadfile(file)() == "first", "mode ON serves the cache again")
cache.clear()
check(loadfile(file)() == "second", "clear forgets the cached files")
os.remove(file)
cache.mode "EXIST"
check(cache.mode() == "EXIST", "codecache mode can be set")
cache.mode "OFF"
check(cache.mode() == "OFF", "codecache mode OFF")
check(not pcall(cache.mode, "BAD"), "an unknown codecache mode is an error")
check(pcall(cache.clear), "codecache.clear")

t.finish("tiny_host")
io.stdout:flush()
os.exit(true)
