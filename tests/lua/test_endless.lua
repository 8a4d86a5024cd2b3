-- An endless loop: the monitor flags the stuck service after 5 to 10 s, and "signal 0"
-- (what the debug console's `signal` command sends) breaks the loop with the error
-- "signal 0", in a request handler as in a main chunk.
local skynet = require "skynet"
require "skynet.manager"
local core = require "skynet.core"
local t = require "check"
local check = t.check

local function wait_for(f, ticks)
	for _ = 1, ticks // 10 do
		if f() then
			return true
		end
		skynet.sleep(10)
	end
	return f()
end

skynet.start(function()
	local looper = skynet.newservice("lt_looper")
	local call_result, init_result
	skynet.fork(function()
		call_result = table.pack(pcall(skynet.call, looper, "lua", "loop"))
	end)
	skynet.fork(function()
		init_result = table.pack(pcall(skynet.newservice, "lt_loopinit"))
	end)
	local initaddr
	wait_for(function()
		for addr, line in pairs(skynet.call(".launcher", "lua", "LIST")) do
			if line:find("lt_loopinit", 1, true) then
				initaddr = addr
			end
		end
		return initaddr
	end, 500)
	check(initaddr, "lt_loopinit is listed by the launcher")
	skynet.sleep(1100)
	check(call_result == nil and init_result == nil, "both loops still run after 11 s")
	core.command("SIGNAL", skynet.address(looper))
	if initaddr then
		core.command("SIGNAL", initaddr)
	end
	wait_for(function() return call_result and init_result end, 1000)
	check(call_result and call_result[1] == false, "the looping request was broken: its call fails",
		call_result and call_result[2])
	check(init_result and init_result[1] == false, "the looping main chunk was broken: newservice fails",
		init_result and init_result[2])
	check(skynet.call(looper, "lua", "ping") == "pong", "the broken service still serves")
	check(skynet.call(looper, "lua", "endless") == true, "the monitor had flagged it as endless")
	check(skynet.call(looper, "lua", "endless") == false, "the flag is cleared once read")
	t.finish("test_endless")
	skynet.abort()
end)
