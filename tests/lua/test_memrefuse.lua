-- A request the callee cannot take (its arguments do not fit the callee's memory limit, a
-- signal interrupts its dispatch) fails in the caller instead of leaving it waiting, and the
-- callee keeps serving.
local skynet = require "skynet"
local core = require "skynet.core"
require "skynet.manager"
local t = require "check"
local check = t.check

skynet.start(function()
	local small = skynet.newservice("lt_hog", 4 * 1024 * 1024)
	local ok, err = pcall(skynet.call, small, "lua", "grow", string.rep("x", 8 * 1024 * 1024))
	check(not ok, "a request over the callee's memory limit fails in the caller", err)
	check(skynet.call(small, "lua", "ping") == "pong", "the callee still serves")
	local other = skynet.newservice("lt_hog")
	core.command("SIGNAL", skynet.address(other) .. " 0")	-- breaks into its next dispatch
	ok, err = pcall(skynet.call, other, "lua", "ping")
	check(not ok, "a request whose dispatch a signal breaks fails in the caller", err)
	check(skynet.call(other, "lua", "ping") == "pong", "the signalled service still serves")
	t.finish("test_memrefuse")
	skynet.abort()
end)
