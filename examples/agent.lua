-- The example's agent: one per client. It speaks sproto with examples/client.lua (schemas
-- in examples/proto.lua, loaded by protoloader): answers handshake, get, set and quit, and
-- sends the client a heartbeat request every 5 seconds.
local skynet = require "skynet"
local socket = require "skynet.socket"
local sprotoloader = require "sprotoloader"

local watchdog
local client_fd
local host		-- decodes the client's packets (c2s), encodes our replies
local make_request	-- encodes our requests to the client (s2c)

local REQUEST = {}

function REQUEST:handshake()
	return { msg = "Welcome to skynet, I will send heartbeat every 5 sec." }
end

function REQUEST:get()
	print("get", self.what)
	return { result = skynet.call("SIMPLEDB", "lua", "get", self.what) }
end

function REQUEST:set()
	print("set", self.what, self.value)
	skynet.call("SIMPLEDB", "lua", "set", self.what, self.value)
end

function REQUEST:quit()
	skynet.call(watchdog, "lua", "close", client_fd)
end

-- a packet to the client: its 2-byte big-endian length, then the bytes
local function send_package(pack)
	socket.write(client_fd, string.pack(">s2", pack))
end

local function serve(name, args, respond)
	local f = REQUEST[name]
	if not f then
		error("no request " .. tostring(name))
	end
	local result = f(args)
	if respond then
		return respond(result)
	end
end

local function on_client(fd, _, kind, ...)
	assert(fd == client_fd)
	skynet.ignoreret()	-- the session is the fd: there is nothing to answer
	skynet.trace()
	if kind ~= "REQUEST" then
		error "This example doesn't support request client"
	end
	local ok, reply = pcall(serve, ...)
	if not ok then
		skynet.error(reply)
	elseif reply then
		send_package(reply)
	end
end

skynet.register_protocol {
	name = "client",
	id = skynet.PTYPE_CLIENT,
	unpack = function(msg, sz)
		return host:dispatch(msg, sz)
	end,
	dispatch = on_client,
}

-- a heartbeat request to the client every 5 seconds, for as long as the agent lives
local function heartbeat()
	while true do
		send_package(make_request "heartbeat")
		skynet.sleep(500)
	end
end

local command = {
	-- conf: gate, client (the fd), watchdog
	start = function(conf)
		watchdog, client_fd = conf.watchdog, conf.client
		-- slots 1 and 2: saved by examples/protoloader.lua
		host = sprotoloader.load(1):host "package"
		make_request = host:attach(sprotoloader.load(2))
		skynet.fork(heartbeat)
		skynet.call(conf.gate, "lua", "forward", client_fd)
	end,
	disconnect = function()
		skynet.exit()
	end,
}

skynet.start(function()
	skynet.dispatch("lua", function(_, _, cmd, ...)
		skynet.trace()
		local f = assert(command[cmd], cmd)
		skynet.retpack(f(...))
	end)
end)
