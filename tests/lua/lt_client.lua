-- An agent as a gate feeds it: takes client packets (the session is the client's socket,
-- by the gate's convention) and answers none of them; "count" says how many came.
local skynet = require "skynet"

local packets = 0

skynet.register_protocol {
	name = "client",
	id = skynet.PTYPE_CLIENT,
	unpack = skynet.tostring,
	dispatch = function()
		skynet.ignoreret()	-- the session is the socket: nothing to answer
		packets = packets + 1
	end,
}

skynet.start(function()
	skynet.dispatch("lua", function()
		skynet.ret(skynet.pack(packets))
	end)
end)
