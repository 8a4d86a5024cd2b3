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

-- Client packets a gate passes on (skynet.redirect, the socket as session) stay one open
-- "request" in their agent, not one per packet: its kill sends back at most one error.
local function kill_after_client_packets()
	skynet.register_protocol { name = "client", id = skynet.PTYPE_CLIENT }
	local agent = skynet.newservice("lt_client")
	for _ = 1, 100 do
		skynet.redirect(agent, 0, "client", 7, "packet")
	end
	check(skynet.call(agent, "lua", "count") == 100, "the agent took 100 client packets")
	-- The agent is idle: the kill ends it at once, so whatever the core sends for its open
	-- requests is in this service's queue when the kill returns.
	skynet.kill(agent)
	local queued = skynet.stat("mqlen")
	check(queued <= 1, "at most one error came back for the 100 client packets", queued)
end

skynet.start(function()
	kill_while_held()
	kill_after_client_packets()
	t.finish("test_killheld")
	skynet.abort()
end)
