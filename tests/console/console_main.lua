-- The console suite's node: a debug_console on the port the config names
-- (console_port), and a few services for the client to look at.
local skynet = require "skynet"
require "skynet.manager"

skynet.start(function()
	local port = assert(tonumber(skynet.getenv "console_port"))
	local target = skynet.newservice("console_target", "alpha")
	skynet.name(".ctarget", target)
	skynet.newservice("console_target", "beta")
	skynet.newservice("debug_console", "127.0.0.1", port)
	skynet.error(string.format("console suite ready target=%s", skynet.address(target)))
end)
