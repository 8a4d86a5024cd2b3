-- Helper: holds memory on request. Launched with a byte count, it sets that memory limit.
local skynet = require "skynet"
local limit = tonumber((...))
if limit then
	skynet.memlimit(limit)
end

local hold = {}

-- Adds blocks of distinct strings until the state holds `mib` MiB more than now.
local function grow(mib)
	local target = collectgarbage "count" + mib * 1024
	local n = #hold
	while collectgarbage "count" < target do
		local block = {}
		for j = 1, 256 do
			block[j] = string.rep("x", 200) .. n .. "." .. j
		end
		n = n + 1
		hold[n] = block
	end
end

skynet.start(function()
	skynet.dispatch("lua", function(_, _, cmd, n)
		if cmd == "grow" then
			local ok, err = pcall(grow, n)
			skynet.ret(skynet.pack(ok, tostring(err), collectgarbage "count" / 1024))
		elseif cmd == "free" then
			hold = {}
			collectgarbage()
			skynet.ret(skynet.pack(collectgarbage "count" / 1024))
		elseif cmd == "ping" then
			skynet.ret(skynet.pack("pong"))
		end
	end)
end)
