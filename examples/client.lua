-- The example's command-line client: talks sproto to examples/config's server on
-- 127.0.0.1:8888 (or the port given). Run it from the repository root, with the server up:
--     ./3rd/lua/lua examples/client.lua [port]
-- It sends "handshake" and set hello=world, then for each line typed: "quit" asks the
-- server to close, any other word is looked up ("get"). Everything the server sends is
-- printed (RESPONSE to our requests, REQUEST heartbeat every 5 seconds).
assert(_VERSION == "Lua 5.5", "Use lua 5.5")
package.path = "lualib/?.lua;examples/?.lua"
package.cpath = "luaclib/?.so"

local sproto = require "sproto"
local proto = require "proto"
local socket = require "client.socket"

-- our requests are c2s; what the server sends us is s2c
local host = sproto.new(proto.s2c):host "package"
local request = host:attach(sproto.new(proto.c2s))
local fd = assert(socket.connect("127.0.0.1", tonumber((...)) or 8888))

local received = ""	-- bytes read but not yet a whole packet
local session = 0

local function send_request(name, args)
	session = session + 1
	socket.send(fd, string.pack(">s2", request(name, args, session)))
	print("Request:", session)
end

-- the next whole packet in `received`, or nil
local function take_packet()
	if #received < 2 then
		return nil
	end
	local size = string.unpack(">I2", received)
	if #received < size + 2 then
		return nil
	end
	local packet = received:sub(3, size + 2)
	received = received:sub(size + 3)
	return packet
end

local function show(title, id, args)
	print(title, id)
	for k, v in pairs(args or {}) do
		print(k, v)
	end
end

local function show_package(kind, ...)
	if kind == "REQUEST" then
		local name, args = ...
		show("REQUEST", name, args)
	else
		assert(kind == "RESPONSE")
		local id, args = ...
		show("RESPONSE", id, args)
	end
end

-- print every packet that has arrived so far
local function poll()
	while true do
		local packet = take_packet()
		if packet then
			show_package(host:dispatch(packet))
		else
			local data = socket.recv(fd)
			if data == nil then
				return
			end
			if data == "" then
				error "Server closed"
			end
			received = received .. data
		end
	end
end

send_request("handshake")
send_request("set", { what = "hello", value = "world" })
while true do
	poll()
	local line = socket.readstdin()
	if line == "quit" then
		send_request("quit")
	elseif line then
		send_request("get", { what = line })
	else
		socket.usleep(100)
	end
end
