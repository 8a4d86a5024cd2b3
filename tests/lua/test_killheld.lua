-- Nobody waits forever: callers of a service killed while it holds their requests get an
-- error from skynet.call (the core answers them for the dead service).
local skynet = require "skynet"
require "skynet.manager"
local t = require "check"
local check = t.check

local function kill_while_held()
	local holder = skynet.newservice("lt_holder")
	local main = coroutine.running()
	local results = {}
	for i = 1, 3 do
		skynet.fork(function()
			results[i] = { pcall(skynet.call, holder, "lua", i == 2 and "block" or "hold") }
			if #results == 3 then
				skynet.wakeup(main)
			end
		end)
	end
	-- served after the three holds, in order: they were all taken
	check(skynet.call(holder, "lua", "ping") == "pong", "the holder answers a ping")
	skynet.kill(holder)
	if #results < 3 then
		skynet.wait(main)
	end
	for i = 1, 3 do
		check(results[i][1] == false, "held call " .. i .. " fails after the kill", table.unpack(results[i]))
	end
end

skynet.start(function()
	kill_while_held()
	t.finish("test_killheld")
	skynet.abort()
end)
