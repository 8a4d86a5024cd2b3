-- cslave: this node's member of a harbor network (config: harbor = id, master =
-- "host:port", address = "host:port" this slave listens on for the other slaves).
--
-- It starts the C "harbor" service and hands it every link to another slave: links it
-- opens itself ("S fd id": the harbor sends our id byte and checks the peer's) and links the
-- others open ("A fd id": we read the peer's id byte here). It keeps the global names it has
-- learnt from the master and answers skynet.harbor's requests (REGISTER, QUERYNAME, LINK,
-- CONNECT, LINKMASTER). Packets to and from the master: see cmaster.lua.
local skynet = require "skynet"
local socket = require "skynet.socket"
local socketdriver = require "skynet.socketdriver"
require "skynet.manager"

local harbor_service
local master_fd
local links = {}		-- harbor id -> fd while linked, false once it went down
local pending_connect = {}	-- id -> address, "C" packets that came before we were ready
local names = {}		-- global name -> handle
local name_waiters = {}	-- global name -> { response, ... }
local link_waiters = {}	-- harbor id -> { response, ... } woken when the link changes
local master_waiters = {}	-- responses woken when the master goes away

-- "harbor" (commands to the C service) and "text" (its notices) carry plain strings
local function as_is(...) return ... end
for name, id in pairs { harbor = skynet.PTYPE_HARBOR, text = skynet.PTYPE_TEXT } do
	skynet.register_protocol { name = name, id = id, pack = as_is, unpack = skynet.tostring }
end

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

local function wake_all(list, ...)
	for _, respond in ipairs(list) do
		respond(true, ...)
	end
end

local function link_changed(id)
	local list = link_waiters[id]
	if list then
		link_waiters[id] = nil
		wake_all(list)
	end
end

local function tell_harbor_name(name, handle)
	skynet.redirect(harbor_service, handle, "harbor", 0, "N " .. name)
end

local function learn_name(name, handle)
	names[name] = handle
	local list = name_waiters[name]
	if list then
		name_waiters[name] = nil
		wake_all(list, handle)
	end
end

local function connect_to(id, address)
	if links[id] then
		return
	end
	local ok, err = pcall(function()
		local fd = assert(socket.open(address), "Can't connect to " .. address)
		socketdriver.nodelay(fd)
		skynet.error(string.format("Connect to harbor %d (fd=%d), %s", id, fd, address))
		links[id] = fd
		socket.abandon(fd)
		skynet.send(harbor_service, "harbor", string.format("S %d %d", fd, id))
		link_changed(id)
	end)
	if not ok then
		skynet.error(err)
	end
end

local function from_master()
	while true do
		local ok, kind, a, b = pcall(receive, master_fd)
		if not ok then
			break
		end
		if kind == "C" then
			if pending_connect then
				pending_connect[a] = b
			else
				connect_to(a, b)
			end
		elseif kind == "N" then
			learn_name(a, b)
			if not pending_connect then
				tell_harbor_name(a, b)
			end
		elseif kind == "D" then
			local fd = links[a]
			links[a] = false
			if fd then
				-- the harbor owns the socket; closing it makes the harbor report the loss
				socketdriver.close(fd)
				link_changed(a)
			end
		else
			skynet.error("Invalid master message type " .. tostring(kind))
		end
	end
	skynet.error("Master disconnect")
	local list = master_waiters
	master_waiters = {}
	wake_all(list)
	socket.close(master_fd)
end

local function accept_from(fd)
	socket.start(fd)
	local b = socket.read(fd, 1)
	if not b then
		skynet.error(string.format("Connection (fd =%d) closed", fd))
		socket.close(fd)
		return false
	end
	local id = b:byte()
	if id == 0 or id == tonumber(skynet.getenv "harbor") then
		skynet.error(string.format("Invalid harbor id %d from fd %d", id, fd))
		socket.close(fd)
		return false
	end
	if links[id] then
		skynet.error(string.format("Slave %d exist (fd =%d)", id, fd))
		socket.close(fd)
		return false
	end
	links[id] = fd
	socket.abandon(fd)
	skynet.error(string.format("Harbor %d connected (fd = %d)", id, fd))
	skynet.send(harbor_service, "harbor", string.format("A %d %d", fd, id))
	link_changed(id)
	return true
end

-- every expected slave has connected: link to the ones announced meanwhile, and give the
-- harbor service the names learnt so far
local function ready()
	local announced
	announced, pending_connect = pending_connect, nil
	for name, handle in pairs(names) do
		tell_harbor_name(name, handle)
	end
	for id, address in pairs(announced) do
		connect_to(id, address)
	end
end

local cmd = {}

function cmd.REGISTER(name, handle)
	if names[name] ~= nil then
		skynet.error(string.format("Global name %s is registered already (:%08x), :%08x refused",
			name, names[name], handle))
		return
	end
	learn_name(name, handle)
	socket.write(master_fd, encode("R", name, handle))
	tell_harbor_name(name, handle)
end

-- the handle of a name: a local ".name" or a known global name at once, else once the
-- master tells it (asked once however many wait)
function cmd.QUERYNAME(name)
	if name:sub(1, 1) == "." then
		return skynet.retpack(skynet.localname(name))
	end
	if names[name] then
		return skynet.retpack(names[name])
	end
	local respond = skynet.response()
	local list = name_waiters[name]
	if list then
		table.insert(list, respond)
	else
		name_waiters[name] = { respond }
		socket.write(master_fd, encode("Q", name))
	end
end

local function wait_link(id)
	local list = link_waiters[id]
	if list == nil then
		list = {}
		link_waiters[id] = list
	end
	list[#list + 1] = skynet.response()
end

-- returns once harbor id is not linked (at once if it is not)
function cmd.LINK(id)
	if links[id] then
		wait_link(id)
	else
		skynet.ret()
	end
end

-- returns once harbor id is linked (at once if it is)
function cmd.CONNECT(id)
	if links[id] then
		skynet.ret()
	else
		wait_link(id)
	end
end

-- returns once the master is gone
function cmd.LINKMASTER()
	master_waiters[#master_waiters + 1] = skynet.response()
end

local function from_harbor(_, _, text)
	local kind, arg = text:sub(1, 1), text:sub(3)
	if kind == "Q" then
		local handle = names[arg]
		if handle then
			tell_harbor_name(arg, handle)
		else
			socket.write(master_fd, encode("Q", arg))
		end
	elseif kind == "D" then
		local id = tonumber(arg)
		if links[id] then
			links[id] = false
			link_changed(id)
		end
	else
		skynet.error("Unknown command ", text)
	end
end

skynet.start(function()
	local master = skynet.getenv "master"
	local id = tonumber(skynet.getenv "harbor")
	local address = assert(skynet.getenv "address", "harbor slave needs an address")
	local listen = socket.listen(address)
	skynet.error("slave connect to master " .. tostring(master))
	master_fd = assert(socket.open(master), "Can't connect to master")

	skynet.dispatch("lua", function(_, _, command, ...)
		local f = assert(cmd[command], command)
		f(...)
	end)
	skynet.dispatch("text", from_harbor)

	harbor_service = assert(skynet.launch("harbor", id, skynet.self()))

	socket.write(master_fd, encode("H", id, address))
	local kind, n = receive(master_fd)
	assert(kind == "W" and math.type(n) == "integer", "slave shakehand failed")
	skynet.error(string.format("Waiting for %d harbors", n))
	skynet.fork(from_master)
	if n > 0 then
		local co = coroutine.running()
		local accepted = 0
		socket.start(listen, function(fd, addr)
			skynet.error(string.format("New connection (fd = %d, %s)", fd, addr))
			socketdriver.nodelay(fd)
			local ok, linked = pcall(accept_from, fd)
			if ok and linked then
				accepted = accepted + 1
				if accepted >= n then
					skynet.wakeup(co)
				end
			end
		end)
		skynet.wait(co)
	end
	socket.close(listen)
	skynet.error("Shakehand ready")
	skynet.fork(ready)
end)
