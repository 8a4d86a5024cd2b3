-- The gate tests' agent: sends every packet of its client back as it came, except the
-- packet "quit", which has the watchdog kick the client, and "stop listening", which has
-- it close the gate's listener (answered "stopped").
local skynet = require "skynet"
local driver = require "skynet.socketdriver"

local fd, watchdog

local function on_packet(session, _, text)
	skynet.ignoreret()	-- the session is the fd: nothing to answer
	assert(session == fd)
	if text == "quit" then
		skynet.call(watchdog, "lua", "close", fd)
	elseif text == "stop listening" then
		skynet.call(watchdog, "lua", "stop")
		driver.send(fd, string.pack(">s2", "stopped"))
	else
		driver.send(fd, string.pack(">s2", text))
	end
end

skynet.register_protocol {
	name = "client",
	id = skynet.PTYPE_CLIENT,
	unpack = skynet.tostring,
	dispatch = on_packet,
}

skynet.start(function()
	skynet.dispatch("lua", function(_, _, cmd, conf)
		if cmd == "disconnect" then
			skynet.exit()
			return
		end
		assert(cmd == "start")
		fd, watchdog = conf.client, conf.watchdog
		skynet.call(conf.gate, "lua", "forward", fd)
		skynet.retpack()
	end)
end)
