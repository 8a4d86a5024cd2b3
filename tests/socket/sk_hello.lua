-- launched from the console with arguments; ends the node
local skynet = require "skynet"
require "skynet.manager"
local args = table.pack(...)
skynet.start(function()
	skynet.error("HELLO " .. table.concat(args, " ", 1, args.n))
	skynet.abort()
end)
