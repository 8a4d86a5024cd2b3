-- The login example's login server (snax.loginserver) on 127.0.0.1:8001. A token is
-- base64(user) "@" base64(server) ":" base64(password); the password is "password".
-- One login per user: a second one kicks the first from its message server.
local skynet = require "skynet"
local crypt = require "skynet.crypt"
local login = require "snax.loginserver"

local gates = {}	-- server name -> message server
local online = {}	-- uid -> { address = message server, subid, server }

local conf = {
	host = "127.0.0.1",
	port = tonumber(skynet.getenv "login_port") or 8001,
	multilogin = false,
	name = "login_master",
}

function conf.auth_handler(token)
	local user, server, password = token:match "^([^@]+)@([^:]+):(.+)$"
	assert(user, "Invalid token")
	assert(crypt.base64decode(password) == "password", "Invalid password")
	return crypt.base64decode(server), crypt.base64decode(user)
end

function conf.login_handler(server, uid, secret)
	print(string.format("%s@%s is login, secret is %s", uid, server, crypt.hexencode(secret)))
	local gate = gates[server]
	if not gate then
		error "Unknown server"
	end
	-- one login per user: the one before is kicked, and must be gone by now
	local before = online[uid]
	if before then
		skynet.call(before.address, "lua", "kick", uid, before.subid)
		assert(online[uid] == nil, string.format("user %s is already online", uid))
	end
	local subid = skynet.call(gate, "lua", "login", uid, secret)
	online[uid] = { address = gate, subid = tostring(subid), server = server }
	return online[uid].subid
end

local commands = {
	register_gate = function(server, address)
		gates[server] = address
	end,
	logout = function(uid)
		local u = online[uid]
		if u then
			print(string.format("%s@%s is logout", uid, u.server))
			online[uid] = nil
		end
	end,
}

function conf.command_handler(command, ...)
	local f = assert(commands[command], command)
	return f(...)
end

login(conf)
