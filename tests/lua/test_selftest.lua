-- Runs examples/selftest.lua (39 checks of the Lua layer's API) and stops the node.
local skynet = require "skynet"
require "skynet.manager"	-- skynet.abort

skynet.start(function()
	-- selftest does its checks in its start function and exits when done.
	pcall(skynet.newservice, "selftest")
	skynet.abort()
end)
