-- The login example's message server (snax.msgserver): one msgagent per logged-in user;
-- each request goes to the user's agent as a "client" message and its answer back.
-- Its argument is the login server.
local skynet = require "skynet"
local msgserver = require "snax.msgserver"

local login_service = tonumber(...)
local servername	-- set by "open"
local by_uid = {}	-- uid -> { username, agent, uid, subid }
local by_name = {}	-- username -> the same
local last_subid = 0

local conf = {}

-- the login server hands us a user (it allows one login per user at a time)
function conf.login_handler(uid, secret)
	if by_uid[uid] then
		error(string.format("%s is already login", uid))
	end
	last_subid = last_subid + 1
	local subid = last_subid
	local username = msgserver.username(uid, subid, servername)
	local u = { username = username, agent = skynet.newservice "msgagent", uid = uid, subid = subid }
	skynet.call(u.agent, "lua", "login", uid, subid, secret)
	by_uid[uid], by_name[username] = u, u
	msgserver.login(username, secret)
	return subid
end

-- the user's agent is done with it
function conf.logout_handler(uid, subid)
	local u = by_uid[uid]
	if not u then
		return
	end
	assert(u.username == msgserver.username(uid, subid, servername))
	msgserver.logout(u.username)
	by_uid[uid], by_name[u.username] = nil, nil
	skynet.call(login_service, "lua", "logout", uid, subid)
end

-- the login server wants the user out (it logs in elsewhere)
function conf.kick_handler(uid, subid)
	local u = by_uid[uid]
	if u then
		assert(u.username == msgserver.username(uid, subid, servername))
		pcall(skynet.call, u.agent, "lua", "logout")	-- the agent exits meanwhile
	end
end

-- the gate opened: tell the login server where users of this server go
conf.register_handler = function(name)
	servername = name
	skynet.call(login_service, "lua", "register_gate", name, skynet.self())
end

-- a request goes to the user's agent as a "client" message; its answer is the reply
conf.request_handler = function(username, msg)
	local agent = by_name[username].agent
	return skynet.tostring(skynet.rawcall(agent, "client", msg))
end

-- the connection dropped; the user may come back with a new index
conf.disconnect_handler = function(username)
	local u = by_name[username]
	return u and skynet.call(u.agent, "lua", "afk")
end

msgserver.start(conf)
