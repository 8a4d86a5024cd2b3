-- Start service of the gate tests: a watchdog, its gate, and the gate's limits from the
-- config (gate_port, default 0: any free one; gate_maxclient, gate_packet_timeout,
-- gate_maxbytes, gate_maxpending). It logs "gate test: listening on <addr> <port>" once the
-- gate accepts. benches/gate.sh runs it too, on our stack and on upstream's.
local skynet = require "skynet"

local function num(key)
	local v = skynet.getenv(key)
	return v and tonumber(v)
end

skynet.start(function()
	local watchdog = skynet.newservice("echo_watchdog")
	local addr, port = skynet.call(watchdog, "lua", "start", {
		address = "127.0.0.1",
		port = num "gate_port" or 0,
		maxclient = num "gate_maxclient",
		packet_timeout = num "gate_packet_timeout",
		maxbytes = num "gate_maxbytes",
		maxpending = num "gate_maxpending",
		backlog = num "gate_backlog",
		nodelay = true,
	})
	skynet.error("gate test: listening on", addr, port)
	skynet.exit()
end)
