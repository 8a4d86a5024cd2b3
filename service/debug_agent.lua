-- debug_agent: the console's end of one remote debugging session.
--
--   start(address, fd)  attach to the service at address (its debugger writes
--                       to socket fd); answered when the session ends:
--                       true, or false and a reason
--   cmd(line)           pass one console line to the debugger
--   ping()              answers while the agent lives
-- The agent exits when its session ends.

local skynet = require "skynet"
local debugchannel = require "skynet.debugchannel"

local writer	-- our end of the channel, once started
local early = {}	-- lines that came before start

local handlers = {}

function handlers.start(address, fd)
	assert(writer == nil, "start more than once")
	-- a handle, or an address text such as ":0000000a" (upstream's console
	-- passes those through as typed)
	skynet.error("Attach to " .. skynet.address(address))
	local chan, name = debugchannel.create()
	writer = chan
	for _, line in ipairs(early) do
		chan:write(line)
	end
	early = nil
	local ok = pcall(skynet.call, address, "debug", "REMOTEDEBUG", fd, name)
	if ok then
		skynet.ret(skynet.pack(true))
	else
		skynet.ret(skynet.pack(false, "Debugger attach failed"))
	end
	skynet.exit()
end

function handlers.cmd(line)
	if writer then
		writer:write(line)
	elseif early then
		early[#early + 1] = line
	end
end

function handlers.ping()
	skynet.ret()
end

skynet.start(function()
	skynet.dispatch("lua", function(_, _, what, ...)
		local fn = assert(handlers[what], what)
		fn(...)
	end)
end)
