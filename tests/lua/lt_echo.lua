-- Helper: answers "args" with its launch arguments, "echo" with what it got, and "env" with
-- what the loader and preload left in its globals.
local skynet = require "skynet"
local args = table.pack(...)

skynet.start(function()
	skynet.dispatch("lua", function(_, _, cmd, ...)
		if cmd == "args" then
			skynet.ret(skynet.pack(table.unpack(args, 1, args.n)))
		elseif cmd == "echo" then
			skynet.ret(skynet.pack(...))
		elseif cmd == "env" then
			skynet.ret(skynet.pack(SERVICE_NAME, SERVICE_PATH, LT_PRELOADED))
		end
	end)
end)
