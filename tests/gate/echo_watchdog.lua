-- The gate tests' watchdog: one echo_agent per connection, as examples/watchdog.lua does
-- with its sproto agents. It logs every socket event it is told.
local skynet = require "skynet"

local gate
local agents = {}	-- fd -> agent
local CMD = {}
local SOCKET = {}

function SOCKET.open(fd, addr)
	local a = skynet.newservice("echo_agent")
	agents[fd] = a
	skynet.call(a, "lua", "start", { gate = gate, client = fd, watchdog = skynet.self() })
end

local function drop(fd)
	local a = agents[fd]
	agents[fd] = nil
	if a then
		skynet.call(gate, "lua", "kick", fd)
		skynet.send(a, "lua", "disconnect")
	end
end

function SOCKET.close(fd)
	skynet.error("watchdog: socket close", fd)
	drop(fd)
end

function SOCKET.error(fd, msg)
	skynet.error("watchdog: socket error", fd, msg)
	drop(fd)
end

function SOCKET.warning(fd, size)
	skynet.error("watchdog: socket warning", fd, size)
end

function SOCKET.data(fd, msg)
	skynet.error("watchdog: data from unforwarded fd", fd, #msg)
end

function CMD.start(conf)
	return skynet.call(gate, "lua", "open", conf)
end

function CMD.close(fd)
	skynet.error("watchdog: kick", fd)
	drop(fd)
end

skynet.start(function()
	skynet.dispatch("lua", function(_, _, cmd, sub, ...)
		if cmd == "socket" then
			SOCKET[sub](...)
		else
			skynet.ret(skynet.pack(CMD[cmd](sub, ...)))
		end
	end)
	gate = skynet.newservice("gate")
end)
