-- service gate: a gateserver that reports to a watchdog and forwards packets to agents.
--
-- Lua commands: "open" conf (listen; conf.watchdog, or the caller, becomes the watchdog;
-- returns address, port), "close", "forward" fd [client [agent]] (packets of fd go to the
-- agent, default the caller, as PTYPE_CLIENT messages from `client` (default 0) with session
-- fd), "accept" fd (packets of fd go to the watchdog as "socket" "data"), "kick" fd.
-- The watchdog is sent "lua" messages "socket", event, fd, ...: "open" addr, "close",
-- "error" msg, "warning" size (KiB unsent), "data" msg (a string).
local skynet = require "skynet"
local gateserver = require "snax.gateserver"

local watchdog
-- Where each connection's packets go, one slot per connection: fd -> its agent, or false
-- while they go to the watchdog; and fd -> the source they carry, only where it is not 0.
local agents = {}
local client_of = {}

skynet.register_protocol {
	name = "client",
	id = skynet.PTYPE_CLIENT,
}

local function tell_watchdog(event, fd, ...)
	skynet.send(watchdog, "lua", "socket", event, fd, ...)
end

local handler = {}

function handler.open(source, conf)
	watchdog = conf.watchdog or source
	return conf.address, conf.port
end

function handler.connect(fd, addr)
	agents[fd] = false
	tell_watchdog("open", fd, addr)
end

function handler.message(fd, msg, sz)
	local agent = agents[fd]
	if agent then
		-- the block goes on to the agent as it is; the agent's unpack frees it
		skynet.redirect(agent, client_of[fd] or 0, "client", fd, msg, sz)
	else
		local text = skynet.tostring(msg, sz)
		skynet.trash(msg, sz)
		tell_watchdog("data", fd, text)
	end
end

function handler.disconnect(fd)
	agents[fd], client_of[fd] = nil, nil
	tell_watchdog("close", fd)
end

function handler.error(fd, msg)
	agents[fd], client_of[fd] = nil, nil
	tell_watchdog("error", fd, msg)
end

function handler.warning(fd, size)
	tell_watchdog("warning", fd, size)
end

local CMD = {}

function CMD.forward(source, fd, client, address)
	assert(agents[fd] ~= nil, "gate: forward of an unknown fd")
	agents[fd] = address or source
	client_of[fd] = client ~= 0 and client or nil
	gateserver.openclient(fd)
end

function CMD.accept(source, fd)
	assert(agents[fd] ~= nil, "gate: accept of an unknown fd")
	agents[fd], client_of[fd] = false, nil
	gateserver.openclient(fd)
end

function CMD.kick(source, fd)
	gateserver.closeclient(fd)
end

function handler.command(cmd, source, ...)
	local f = CMD[cmd]
	if not f then
		error(string.format("gate: unknown command %s", tostring(cmd)))
	end
	return f(source, ...)
end

gateserver.start(handler)
