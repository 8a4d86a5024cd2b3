-- "Memory warning" reports: the first when a state passes 32 MiB, the next at 64 MiB.
local skynet = require "skynet"
require "skynet.manager"
local t = require "check"
local check = t.check

skynet.start(function()
	local hog = skynet.newservice("lt_hog")
	local ok, err, mib = skynet.call(hog, "lua", "grow", 70)
	check(ok and mib > 64, "a service without a limit grows past 64 MiB", err, mib)
	check(skynet.call(hog, "lua", "free") < 2, "memory freed")
	ok = skynet.call(hog, "lua", "grow", 40)
	check(ok, "growing again")
	skynet.send(hog, "debug", "GC")
	t.finish("test_memwarn")
	skynet.abort()
end)
