-- The gate tests' watchdog: one echo_agent per connection, as examples/watchdog.lua does
-- with its sproto agents. It logs every socket event it is told. With gate_accept set, it
-- takes the packets itself ("accept") and echoes them.
local skynet = require "skynet"
local driver = require "skynet.socketdriver"

local gate
local agents = {}	-- fd -> agent

-- the client of fd leaves: the gate forgets it, its agent ends
local function drop(fd)
	local a = agents[fd]
	if not a then
		return
	end
	agents[fd] = nil
	skynet.call(gate, "lua", "kick", fd)
	skynet.send(a, "lua", "disconnect")
end

-- with gate_accept in the config, no agents: the gate sends packets here ("accept")
local accept_mode = skynet.getenv "gate_accept" ~= nil

local on_socket = {
	open = function(fd)
		if accept_mode then
			return skynet.call(gate, "lua", "accept", fd)
		end
		local a = skynet.newservice("echo_agent")
		agents[fd] = a
		skynet.call(a, "lua", "start", { gate = gate, client = fd, watchdog = skynet.self() })
	end,
	close = function(fd)
		skynet.error("watchdog: socket close", fd)
		drop(fd)
	end,
	error = function(fd, msg)
		skynet.error("watchdog: socket error", fd, msg)
		drop(fd)
	end,
	warning = function(fd, size)
		skynet.error("watchdog: socket warning", fd, size)
	end,
	data = function(fd, msg)
		skynet.error("watchdog: data from unforwarded fd", fd, #msg)
		driver.send(fd, string.pack(">s2", msg))
	end,
}

local commands = {
	start = function(conf)
		return skynet.call(gate, "lua", "open", conf)
	end,
	close = function(fd)
		skynet.error("watchdog: kick", fd)
		drop(fd)
	end,
	-- the gate stops listening; its connections go on
	stop = function()
		skynet.call(gate, "lua", "close")
		skynet.error("watchdog: gate closed")
	end,
}

skynet.start(function()
	gate = skynet.newservice("gate")
	skynet.dispatch("lua", function(_, _, cmd, arg, ...)
		if cmd ~= "socket" then
			return skynet.retpack(commands[cmd](arg, ...))
		end
		on_socket[arg](...)	-- events need no reply
	end)
end)
