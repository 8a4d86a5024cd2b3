-- snax.msgserver: a gateserver for clients that logged in through snax.loginserver, with
-- upstream's protocol. Numbers are big-endian; every packet has gateserver's 2-byte length.
--
-- The first packet of a connection is the handshake:
--     username ":" index ":" base64(hmac_hash(secret, username ":" index))
-- with username = base64(uid) "@" base64(server) "#" base64(subid) and index larger than the
-- one of the user's previous connection. The answer is one packet: "200 OK", or
-- "404 User Not Found", "403 Index Expired", "401 Unauthorized", "400 Bad Request" and the
-- connection is closed.
-- Then requests: content .. session (4 bytes); responses: content .. ok (1 byte, 1 or 0)
-- .. session (4 bytes). A client that reconnects (a new index) and sends a session again
-- gets the answer it missed instead of a second call; the last responses of each user are
-- kept for that (conf.expired_number, default 128).
--
-- API: server.userid(username) -> uid, subid, servername; server.username(uid, subid,
-- servername) -> username; server.login(username, secret); server.logout(username);
-- server.ip(username) -> the address of its connection, if any; server.start(conf).
-- conf: login_handler(uid, secret) -> subid, logout_handler(uid, subid),
-- kick_handler(uid, subid) (the "login", "logout", "kick" lua commands),
-- request_handler(username, msg) -> reply string, register_handler(servername) (when the
-- gate opens; the "open" conf has servername), disconnect_handler(username) (optional),
-- expired_number.
local skynet = require "skynet"
local gateserver = require "snax.gateserver"
local netpack = require "skynet.netpack"
local crypt = require "skynet.crypt"
local driver = require "skynet.socketdriver"

local b64encode, b64decode = crypt.base64encode, crypt.base64decode

local server = {}

skynet.register_protocol {
	name = "client",
	id = skynet.PTYPE_CLIENT,
}

local users = {}		-- username -> user record (between login and logout)
local greeting = {}		-- fd -> peer address, until the handshake packet arrived
local by_fd = {}		-- fd -> user record, for connections that shook hands

-- A user record: { username, secret, version (index of its last handshake),
-- serial (responses counted since the last trim), fd, ip, replies = { [session] =
-- { to = fd awaiting it or nil, packet = framed response or nil, version, serial } } }

function server.userid(username)
	local uid, servername, subid = username:match "^([^@]*)@([^#]*)#(.*)$"
	return b64decode(uid), b64decode(subid), b64decode(servername)
end

function server.username(uid, subid, servername)
	return b64encode(uid) .. "@" .. b64encode(servername) .. "#" .. b64encode(tostring(subid))
end

function server.login(username, secret)
	assert(users[username] == nil, "msgserver: user is logged in already")
	users[username] = { username = username, secret = secret, version = 0, serial = 0, replies = {} }
end

function server.logout(username)
	local u = users[username]
	users[username] = nil
	local fd = u and u.fd
	if fd and by_fd[fd] then
		by_fd[fd] = nil
		gateserver.closeclient(fd)
	end
end

function server.ip(username)
	local u = users[username]
	return u and u.fd and u.ip
end

-- nil when the handshake is good (the connection is then the user's), else the answer
local function check_handshake(fd, text, addr)
	local username, index, mac = text:match "^([^:]*):([^:]*):([^:]*)$"
	local u = users[username]
	if not u then
		return "404 User Not Found"
	end
	local n = assert(tonumber(index), "bad index")
	if n <= u.version then
		return "403 Index Expired"
	end
	if crypt.hmac_hash(u.secret, username .. ":" .. index) ~= b64decode(mac) then
		return "401 Unauthorized"
	end
	u.version, u.fd, u.ip = n, fd, addr
	by_fd[fd] = u
end

-- the first packet of a connection: answer it, and close unless it was good
local function shake_hands(fd, addr, msg, sz)
	local ok, refusal = pcall(check_handshake, fd, netpack.tostring(msg, sz), addr)
	if ok and refusal == nil then
		return driver.send(fd, netpack.pack "200 OK")
	end
	if not ok then
		skynet.error(refusal)
	end
	driver.send(fd, netpack.pack(ok and refusal or "400 Bad Request"))
	gateserver.closeclient(fd)
end

function server.start(conf)
	local keep = conf.expired_number or 128
	local request_handler = assert(conf.request_handler, "msgserver: conf.request_handler is missing")
	local commands = {
		login = assert(conf.login_handler, "msgserver: conf.login_handler is missing"),
		logout = assert(conf.logout_handler, "msgserver: conf.logout_handler is missing"),
		kick = assert(conf.kick_handler, "msgserver: conf.kick_handler is missing"),
	}

	-- forget old answers: once 2 * keep went out, those older than the last keep go
	local function trim(u)
		if u.serial < keep * 2 then
			return
		end
		local newest = 0
		for session, r in pairs(u.replies) do
			if r.to == nil then	-- answered
				if r.serial < keep then
					u.replies[session] = nil
				else
					r.serial = r.serial - keep
					newest = math.max(newest, r.serial)
				end
			end
		end
		u.serial = newest + 1
	end

	local function answer(fd, text)
		local u = assert(by_fd[fd], "invalid fd")
		local session = string.unpack(">I4", text, -4)
		local content = text:sub(1, -5)
		local r = u.replies[session]
		if r and r.version == u.version then
			-- the same connection uses the session again: a new request
			u.replies[session] = nil
			if r.packet == nil then
				local why = string.format("Conflict session %s", crypt.hexencode(session))
				skynet.error(why)
				error(why)
			end
			r = nil
		end
		if r then
			-- asked again after a reconnection: the answer goes to this connection
			r.to, r.version, r.serial = fd, u.version, u.serial
			if r.packet == nil then
				return	-- still being worked out; it goes to r.to when done
			end
		else
			r = { to = fd }
			u.replies[session] = r
			local ok, reply = pcall(request_handler, u.username, content)	-- may yield
			if ok then
				reply = (reply or "") .. string.pack(">BI4", 1, session)
			else
				skynet.error(reply)
				reply = string.pack(">BI4", 0, session)
			end
			r.packet = string.pack(">s2", reply)
			r.version, r.serial = u.version, u.serial
		end
		u.serial = u.serial + 1
		if by_fd[r.to] then
			driver.send(r.to, r.packet)
		end
		r.to = nil
		trim(u)
	end

	-- the connection of fd is over (closed or failed): the user, if any, is away
	local function connection_over(fd)
		greeting[fd] = nil
		local u = by_fd[fd]
		if u and conf.disconnect_handler then
			conf.disconnect_handler(u.username)
		end
		-- the disconnect handler may have logged the user out already
		if u and by_fd[fd] then
			by_fd[fd], u.fd = nil, nil
			gateserver.closeclient(fd)
		end
	end

	local function on_packet(fd, msg, sz)
		local addr = greeting[fd]
		if addr then
			greeting[fd] = nil
			return shake_hands(fd, addr, msg, sz)
		end
		local text = netpack.tostring(msg, sz)
		local ok, err = pcall(answer, fd, text)
		if ok then
			return
		end
		skynet.error(string.format("Invalid package %s : %s", err, text))
		if by_fd[fd] then
			gateserver.closeclient(fd)
		end
	end

	local handler = {
		message = on_packet,
		disconnect = connection_over,
		error = connection_over,
		-- every connection is read at once: its first packet is the handshake
		connect = function(fd, addr)
			greeting[fd] = addr
			gateserver.openclient(fd)
		end,
		open = function(_, gateconf)
			return conf.register_handler(assert(gateconf.servername, "msgserver: open needs servername"))
		end,
		command = function(cmd, _, ...)
			local f = commands[cmd]
			if not f then
				error("msgserver: unknown command " .. tostring(cmd))
			end
			return f(...)
		end,
	}

	return gateserver.start(handler)
end

return server
