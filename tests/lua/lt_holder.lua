-- Keeps every "hold" request unanswered; answers "ping" and "size" at once.
local skynet = require "skynet"

local held = {}

skynet.start(function()
	skynet.dispatch("lua", function(_, _, cmd, arg)
		if cmd == "hold" then
			held[#held + 1] = skynet.response()
		elseif cmd == "size" then
			skynet.ret(skynet.pack(#arg))
		else
			skynet.ret(skynet.pack("pong"))
		end
	end)
end)
