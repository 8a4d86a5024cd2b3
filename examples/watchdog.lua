-- The example's watchdog: owns the gate, starts an agent for each client that connects and
-- ends it when the client leaves.
--   "start" conf -> address, port (opens the gate: conf as the gate's "open")
--   "close" fd   (an agent asks for its client to be dropped)
-- The gate tells it of connections with "socket" messages: open, close, error, warning, data.
local skynet = require "skynet"

local gate
local agents = {}	-- fd -> agent service

-- forget the client of fd: the gate closes it, its agent exits
local function release(fd)
	local a = agents[fd]
	if a == nil then
		return
	end
	agents[fd] = nil
	skynet.call(gate, "lua", "kick", fd)
	skynet.send(a, "lua", "disconnect")	-- it exits: no reply to wait for
end

-- the gate's "socket" events, by name
local socket_event = {
	open = function(fd, addr)
		skynet.error("New client from : " .. addr)
		local a = skynet.newservice("agent")
		agents[fd] = a
		skynet.call(a, "lua", "start", { gate = gate, client = fd, watchdog = skynet.self() })
	end,
	-- packets of a connection no agent took ("accept"): none in this example
	data = function() end,
}

-- the client is gone (closed, or an error): drop its agent
for _, event in ipairs { "close", "error" } do
	socket_event[event] = function(fd, ...)
		print("socket " .. event, fd, ...)	-- an error has its message
		release(fd)
	end
end

-- size: KiB written to fd that the client has not read yet
socket_event.warning = function(fd, size)
	print("socket warning", fd, size)
end

local command = {}

function command.start(conf)
	return skynet.call(gate, "lua", "open", conf)
end

function command.close(fd)
	release(fd)
end

skynet.start(function()
	gate = skynet.newservice("gate")
	skynet.dispatch("lua", function(_, _, cmd, first, ...)
		if cmd == "socket" then
			-- the gate sends these: no reply
			return socket_event[first](...)
		end
		local f = assert(command[cmd], cmd)
		skynet.retpack(f(first, ...))
	end)
end)
