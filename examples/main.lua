-- Start service of examples/config: the sproto schemas, a console, a debug console, the
-- SIMPLEDB key/value service and the watchdog, which listens for clients on port 8888.
local skynet = require "skynet"

-- the ports: 8888 and 8000, unless the config says otherwise (example_port, debug_port)
local port = tonumber(skynet.getenv "example_port") or 8888
local debug_port = tonumber(skynet.getenv "debug_port") or 8000
local gate_conf = { port = port, maxclient = 64, nodelay = true }

-- services another part of the tree provides: started only when they are there
local function optional(name, ...)
	if package.searchpath(name, skynet.getenv "luaservice") then
		return skynet.newservice(name, ...)
	end
	skynet.error("main: no service " .. name .. ", not started")
end

skynet.start(function()
	skynet.error("Server start")
	skynet.uniqueservice("protoloader")
	local interactive = not skynet.getenv "daemon"
	if interactive then
		optional("console")
	end
	optional("debug_console", debug_port)
	skynet.newservice("simpledb")
	local watchdog = skynet.newservice("watchdog")
	local addr, port = skynet.call(watchdog, "lua", "start", gate_conf)
	skynet.error(string.format("Watchdog listen on %s:%d", addr, port))
	skynet.exit()
end)
