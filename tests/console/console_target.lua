-- A service for the console suite: "add" answers a + b (through a few locals,
-- for the debugger to stop on), "get" answers a counter bumped by each add and
-- the label, "churn" leaves about n KB of garbage with the collector stopped
-- (for the console's gc to free), "relay" answers what "get" of service a says,
-- "hold" is answered only after a "free".
local skynet = require "skynet"
local label = ...

local adds = 0
local held	-- the task a "hold" request parks until "free"

local function combine(a, b)
	local total = a + b
	return total
end

skynet.info_func(function()
	return { label = label, adds = adds }
end)

skynet.start(function()
	skynet.dispatch("lua", function(_, _, cmd, a, b)
		if cmd == "add" then
			local first = a
			local second = b
			local result = combine(first, second)
			adds = adds + 1
			skynet.ret(skynet.pack(result))
		elseif cmd == "churn" then
			collectgarbage "stop"
			local junk = {}
			for i = 1, a do
				junk[i] = string.rep(string.char(65 + i % 26), 1000) .. i
			end
			junk = nil
			skynet.ret(skynet.pack(collectgarbage "count"))
		elseif cmd == "relay" then
			local peer = a
			local count, name = skynet.call(peer, "lua", "get")
			local text = name .. "#" .. count
			skynet.ret(skynet.pack(text))
		elseif cmd == "hold" then
			held = coroutine.running()
			skynet.wait(held)
			skynet.ret(skynet.pack("released"))
		elseif cmd == "free" then
			skynet.wakeup(held)
			skynet.ret(skynet.pack(true))
		elseif cmd == "get" then
			skynet.ret(skynet.pack(adds, label))
		else
			error("unknown command " .. tostring(cmd))
		end
	end)
end)
