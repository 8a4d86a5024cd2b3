-- snax.loginserver: a login service in the shape of upstream's. `require "snax.loginserver"`
-- gives a function; call it with conf in the service's main chunk:
--
--   conf.host ("0.0.0.0"), conf.port      where clients connect
--   conf.name ("login")                   the master registers itself as "." .. name
--   conf.instance (8)                     slave services doing the handshakes
--   conf.multilogin                       allow one uid to log in twice at the same time
--   conf.auth_handler(token) -> server, uid          (runs in the slaves)
--   conf.login_handler(server, uid, secret) -> subid  (runs in the master)
--   conf.command_handler(command, ...)    the master's other "lua" commands
--
-- The first service of that name becomes the master; it starts `instance` copies of the same
-- service, which find the master's name and become slaves.
--
-- The protocol, one line ("\n" ended) each way, binary fields in base64:
--   S->C challenge (8 random bytes)
--   C->S the client's DH exchange key (8 bytes)
--   S->C the server's DH exchange key; both sides now know secret = DH(secret keys)
--   C->S hmac64(challenge, secret)
--   C->S DES(secret, token)               token as auth_handler understands it
--   S->C "200 " .. base64(subid) | "401 Unauthorized" | "403 Forbidden"
--        | "406 Not Acceptable" (that uid is logging in already)
local skynet = require "skynet"
require "skynet.manager"
local socket = require "skynet.socket"
local crypt = require "skynet.crypt"

local b64encode, b64decode = crypt.base64encode, crypt.base64decode

-- raised when the client's socket is gone, to tell it from other errors
local SOCKET_GONE = setmetatable({}, { __tostring = function() return "socket error" end })

local function socket_check(step, fd, ok)
	if not ok then
		skynet.error(string.format("%s failed: socket (fd = %d) closed", step, fd))
		error(SOCKET_GONE)
	end
	return ok
end

local function send_line(step, fd, text)
	socket_check(step, fd, socket.write(fd, text .. "\n"))
end

local function read_line(step, fd)
	return socket_check(step, fd, socket.readline(fd))
end

---------------------------------------------------------------------------- slave

-- the handshake on fd: returns ok, server, uid, secret (ok false: auth_handler refused)
local function handshake(auth_handler, fd)
	socket.limit(fd, 8192)	-- a client sending a huge line is closed
	local challenge = crypt.randomkey()
	send_line("auth", fd, b64encode(challenge))
	local client_key = b64decode(read_line("auth", fd))
	if #client_key ~= 8 then
		error "Invalid client key"
	end
	local server_key = crypt.randomkey()
	send_line("auth", fd, b64encode(crypt.dhexchange(server_key)))
	local secret = crypt.dhsecret(client_key, server_key)
	local proof = b64decode(read_line("auth", fd))
	if proof ~= crypt.hmac64(challenge, secret) then
		error "challenge failed"
	end
	local token = crypt.desdecode(secret, b64decode(read_line("auth", fd)))
	local ok, server, uid = pcall(auth_handler, token)
	return ok, server, uid, secret
end

local function run_slave(auth_handler)
	skynet.dispatch("lua", function(_, _, fd, addr)
		skynet.error(string.format("connect from %s (fd = %d)", addr, fd))
		local started, err = pcall(socket.start, fd)
		if not started then
			return skynet.retpack(false, err)
		end
		local result = table.pack(pcall(handshake, auth_handler, fd))
		socket.abandon(fd)	-- the master answers the client and closes it
		if result[1] then
			return skynet.retpack(table.unpack(result, 2, result.n))
		elseif result[2] == SOCKET_GONE then
			return skynet.retpack(nil, "socket error")
		end
		skynet.retpack(false, result[2])
	end)
end

---------------------------------------------------------------------------- master

local logging_in = {}	-- uid -> true while its login_handler runs (without multilogin)

-- what the master answers a client the slave authenticated (or failed to): the status line
-- and, for a refusal, the error to raise once it is sent
local function verdict(conf, ok, server, uid, secret)
	if ok == nil then	-- the socket is gone: nothing to answer
		return nil, server
	elseif ok == false then
		return "401 Unauthorized", server
	elseif not conf.multilogin and logging_in[uid] then
		return "406 Not Acceptable", string.format("User %s is already login", uid)
	end
	logging_in[uid] = not conf.multilogin or nil
	local done, subid = pcall(conf.login_handler, server, uid, secret)
	logging_in[uid] = nil
	if done then
		return "200 " .. b64encode(subid or "")
	end
	return "403 Forbidden", subid
end

local function admit(conf, slave, fd, addr)
	local line, err = verdict(conf, skynet.call(slave, "lua", fd, addr))
	if line then
		send_line("response " .. line:sub(1, 3), fd, line)
	end
	if err ~= nil then
		error(err)
	end
end

local function run_master(conf)
	local count = conf.instance or 8
	assert(count > 0, "loginserver: conf.instance must be positive")
	local host = conf.host or "0.0.0.0"
	local port = assert(tonumber(conf.port), "loginserver: conf.port is missing")
	local command_handler = assert(conf.command_handler, "loginserver: conf.command_handler is missing")

	skynet.dispatch("lua", function(_, _, command, ...)
		skynet.retpack(command_handler(command, ...))
	end)

	local slaves = {}
	for i = 1, count do
		slaves[i] = skynet.newservice(SERVICE_NAME)
	end
	local turn = 0

	skynet.error(string.format("login server listen at : %s %d", host, port))
	local listener = socket.listen(host, port)
	socket.start(listener, function(fd, addr)
		turn = turn % count + 1
		local ok, err = pcall(admit, conf, slaves[turn], fd, addr)
		if not ok and err ~= SOCKET_GONE then
			skynet.error(string.format("invalid client (fd = %d) error = %s", fd, tostring(err)))
		end
		socket.close_fd(fd)	-- after what was written to it is sent
	end)
end

local function login(conf)
	local name = "." .. (conf.name or "login")
	skynet.start(function()
		if skynet.localname(name) then
			run_slave(assert(conf.auth_handler, "loginserver: conf.auth_handler is missing"))
		else
			assert(conf.login_handler, "loginserver: conf.login_handler is missing")
			skynet.register(name)
			run_master(conf)
		end
	end)
end

return login
