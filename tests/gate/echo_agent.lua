-- The gate tests' agent: sends every packet of its client back as it came, except the
-- packet "quit", which has the watchdog kick the client.
local skynet = require "skynet"
local driver = require "skynet.socketdriver"

local fd, watchdog

skynet.register_protocol {
	name = "client",
	id = skynet.PTYPE_CLIENT,
	unpack = skynet.tostring,
	dispatch = function(session, _, text)
		skynet.ignoreret()
		assert(session == fd)
		if text == "quit" then
			skynet.call(watchdog, "lua", "close", fd)
		else
			driver.send(fd, string.pack(">s2", text))
		end
	end,
}

local CMD = {}

function CMD.start(conf)
	fd, watchdog = conf.client, conf.watchdog
	skynet.call(conf.gate, "lua", "forward", fd)
end

function CMD.disconnect()
	skynet.exit()
end

skynet.start(function()
	skynet.dispatch("lua", function(_, _, cmd, ...)
		skynet.ret(skynet.pack(CMD[cmd](...)))
	end)
end)
