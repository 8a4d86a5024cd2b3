-- A multicast subscriber: acknowledges every message to the benchmark service.
local skynet = require "skynet"
local mc = require "skynet.multicast"

local sub

skynet.start(function()
	skynet.dispatch("lua", function(_, _, cmd, channel, bench)
		assert(cmd == "subscribe")
		sub = mc.new {
			channel = channel,
			dispatch = function()
				skynet.send(bench, "lua", "ack")
			end,
		}
		sub:subscribe()
		skynet.ret(skynet.pack(true))
	end)
end)
