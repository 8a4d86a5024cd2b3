-- skynet.memlimit: allocations past the limit fail with a memory error the service can
-- catch; it keeps serving, and can use memory again once it has freed some.
local skynet = require "skynet"
require "skynet.manager"
local t = require "check"
local check = t.check

skynet.start(function()
	local hog = skynet.newservice("lt_hog", 8 * 1024 * 1024)
	local ok, err, mib = skynet.call(hog, "lua", "grow", 16)
	check(not ok and err:find("not enough memory", 1, true), "growing past 8 MiB fails", ok, err)
	check(mib <= 8, "the state stays within its limit", mib)
	check(skynet.call(hog, "lua", "ping") == "pong", "the service still answers")
	local after = skynet.call(hog, "lua", "free")
	check(after < 2, "memory freed", after)
	ok, err = skynet.call(hog, "lua", "grow", 4)
	check(ok, "growing within the limit works again", err)
	local free = skynet.newservice("lt_hog")
	ok, err = skynet.call(free, "lua", "grow", 16)
	check(ok, "a service without a limit is not limited", err)
	t.finish("test_memlimit")
	skynet.abort()
end)
