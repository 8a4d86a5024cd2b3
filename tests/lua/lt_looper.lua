-- Helper: "loop" never returns; "endless" tells whether the monitor flagged the service.
local skynet = require "skynet"

skynet.start(function()
	skynet.dispatch("lua", function(_, _, cmd)
		if cmd == "loop" then
			local n = 0
			while true do
				n = n + 1
			end
		elseif cmd == "endless" then
			skynet.ret(skynet.pack(skynet.endless()))
		elseif cmd == "ping" then
			skynet.ret(skynet.pack("pong"))
		end
	end)
end)
