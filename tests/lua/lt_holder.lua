-- Keeps every "hold" request unanswered and every "block" one suspended mid-call; answers
-- "ping" and "size" at once.
local skynet = require "skynet"

local held = {}

skynet.start(function()
	skynet.dispatch("lua", function(_, _, cmd, arg)
		if cmd == "hold" then
			held[#held + 1] = skynet.response()
		elseif cmd == "block" then
			skynet.wait()	-- mid-call: its coroutine waits for a wakeup that never comes
		elseif cmd == "size" then
			skynet.ret(skynet.pack(#arg))
		else
			skynet.ret(skynet.pack("pong"))
		end
	end)
end)
