-- The login example's agent, one per logged-in user: answers each request with the
-- request itself, a tenth of a second later.
local skynet = require "skynet"

skynet.register_protocol {
	name = "client",
	id = skynet.PTYPE_CLIENT,
	unpack = skynet.tostring,
}

local gate	-- the message server that logged the user in
local uid, subid

local function leave()
	if gate then
		skynet.call(gate, "lua", "logout", uid, subid)
	end
	skynet.exit()
end

local commands = {
	login = function(source, who, sid)	-- the secret (4th) could encrypt the stream
		skynet.error(string.format("%s is login", who))
		gate, uid, subid = source, who, sid
	end,
	logout = function()	-- may come twice
		skynet.error(string.format("%s is logout", uid))
		leave()
	end,
	afk = function()	-- the connection broke; the user may come back
		skynet.error("AFK")
	end,
}

skynet.start(function()
	skynet.dispatch("lua", function(_, source, command, ...)
		local f = assert(commands[command], command)
		skynet.retpack(f(source, ...))
	end)
	skynet.dispatch("client", function(_, _, msg)
		skynet.sleep(10)
		skynet.ret(msg)
	end)
end)
