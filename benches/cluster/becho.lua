-- benches/cluster.sh: "echo" x -> x, "big" n -> n bytes, "sink" (a send) counted, "count".
local skynet = require "skynet"

local sunk = 0
local big = {}

skynet.start(function()
	skynet.dispatch("lua", function(session, _, cmd, x)
		if cmd == "echo" then
			skynet.retpack(x)
		elseif cmd == "big" then
			big[x] = big[x] or string.rep("B", x)
			skynet.retpack(big[x])
		elseif cmd == "sink" then
			sunk = sunk + 1
		elseif cmd == "count" then
			skynet.retpack(sunk)
		end
	end)
end)
