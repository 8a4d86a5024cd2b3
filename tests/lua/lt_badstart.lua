-- Helper: fails in its start function (reported by the Lua layer).
local skynet = require "skynet"
skynet.start(function()
	error("lt_badstart breaks in its start function")
end)
