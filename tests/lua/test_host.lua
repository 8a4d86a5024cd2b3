-- What the host gives a service of the Lua layer: skynet.profile (cpu time of the running
-- coroutine, not counting its sleeps), skynet.codecache, the GC mode, and "signal 1".
local skynet = require "skynet"
require "skynet.manager"
local core = require "skynet.core"
local profile = require "skynet.profile"
local cache = require "skynet.codecache"
local t = require "check"
local check = t.check

skynet.start(function()
	check(coroutine.resume == profile.resume and coroutine.wrap == profile.wrap,
		"coroutine.resume/wrap are skynet.profile's")
	local t0 = skynet.now()
	profile.start()
	local x = 0
	for i = 1, 20000000 do
		x = x + i
	end
	skynet.sleep(50)
	local ti = profile.stop()
	local wall = (skynet.now() - t0) / 100
	check(ti > 0.005, "the busy loop counts", ti)
	check(ti < wall - 0.4, "the sleep does not count", ti, wall)

	check(cache.mode() == "ON", "codecache mode defaults to ON")
	cache.mode "OFF"
	check(cache.mode() == "OFF", "codecache mode can be set")
	cache.mode "ON"
	check(pcall(cache.clear), "codecache.clear")

	local mode = skynet.getenv "lua_gcmode" or "generational"
	local previous = collectgarbage(mode == "generational" and "incremental" or "generational")
	check(previous == mode, "the state collects in " .. mode .. " mode", previous)
	collectgarbage(mode)

	core.command("SIGNAL", skynet.address(skynet.self()) .. " 1")
	t.finish(SERVICE_NAME)
	skynet.sleep(10)
	skynet.abort()
end)
