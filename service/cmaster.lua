-- cmaster: the master of a harbor network (config: standalone = "host:port").
--
-- It knows every slave (id -> address it listens on) and every global name (name -> handle).
-- Each slave keeps one connection to it. A packet either way is one length byte followed by
-- that many bytes of skynet.packstring(kind, ...):
--   slave -> master  "H" id address   hello: a slave joins
--                    "R" name handle  register a global name
--                    "Q" name         ask for a global name
--   master -> slave  "W" n            (answer to "H") n slaves will connect to you
--                    "C" id address   a new slave: connect to it
--                    "N" name handle  a global name
--                    "D" id           slave id is gone
local skynet = require "skynet"
local socket = require "skynet.socket"

local slaves = {}	-- id -> { fd = fd or 0 when gone, addr = address }
local names = {}	-- global name -> handle

local function encode(...)
	local body = skynet.packstring(...)
	assert(#body <= 255, "harbor master packet too long")
	return string.char(#body) .. body
end

local function receive(fd)
	local n = assert(socket.read(fd, 1), "closed")
	local body = assert(socket.read(fd, n:byte()), "closed")
	return skynet.unpack(body)
end

local function broadcast(packet, except)
	local count = 0
	for id, s in pairs(slaves) do
		if s.fd ~= 0 and id ~= except then
			socket.write(s.fd, packet)
			count = count + 1
		end
	end
	return count
end

local function hello(fd)
	local kind, id, addr = receive(fd)
	assert(kind == "H", "Invalid handshake type " .. tostring(kind))
	assert(math.type(id) == "integer" and id > 0 and id < 256, "Invalid slave id " .. tostring(id))
	assert(type(addr) == "string", "Invalid slave address")
	local old = slaves[id]
	if old and old.fd ~= 0 then
		error(string.format("Slave %d already register on %s", id, old.addr))
	end
	local waiting = broadcast(encode("C", id, addr))
	socket.write(fd, encode("W", waiting))
	slaves[id] = { fd = fd, addr = addr }
	return id, addr
end

local request = {}

function request.R(fd, name, handle)
	assert(type(name) == "string" and math.type(handle) == "integer", "Invalid request")
	if names[name] == nil then
		names[name] = handle
	elseif names[name] ~= handle then
		skynet.error(string.format("Global name %s registered twice (:%08x, kept :%08x)", name, handle, names[name]))
	end
	broadcast(encode("N", name, names[name]))
end

function request.Q(fd, name)
	local handle = names[name]
	if handle then
		socket.write(fd, encode("N", name, handle))
	end
end

local function serve(id, addr)
	local fd = slaves[id].fd
	skynet.error(string.format("Harbor %d (fd=%d) report %s", id, fd, addr))
	while true do
		local ok, kind, a, b = pcall(receive, fd)
		if not ok then
			break
		end
		local f = request[kind]
		if f then
			local fine, err = pcall(f, fd, a, b)
			if not fine then
				skynet.error(string.format("Bad packet from slave %d: %s", id, err))
			end
		else
			skynet.error("Invalid slave message type " .. tostring(kind))
		end
	end
	skynet.error("slave " .. id .. " is down")
	slaves[id].fd = 0
	broadcast(encode("D", id))
	socket.close(fd)
end

-- a new connection: it must say hello before it is served
local function accept(fd, addr)
	skynet.error(("connect from %s %d"):format(addr, fd))
	socket.start(fd)
	local ok, id, saddr = pcall(hello, fd)
	if not ok then
		skynet.error(("disconnect fd = %d, error = %s"):format(fd, tostring(id)))
		return socket.close(fd)
	end
	skynet.fork(serve, id, saddr)
end

skynet.start(function()
	local where = skynet.getenv "standalone"
	skynet.error("master listen socket " .. tostring(where))
	socket.start(socket.listen(where), accept)
end)
