-- Start service of examples/config.login: the login server, then the message server it
-- hands users to, listening for them on port 8888 (login_port and gate_port in the
-- config move them).
local skynet = require "skynet"

skynet.start(function()
	local login = skynet.newservice("logind")
	local gate = skynet.newservice("gated", login)
	local port = tonumber(skynet.getenv "gate_port") or 8888
	skynet.call(gate, "lua", "open", { port = port, maxclient = 64, servername = "sample" })
	skynet.error("login example: message server sample on port " .. port)
end)
