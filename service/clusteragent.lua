-- clusteragent: serves one connection from another node (started by clusterd with its own
-- handle, the gate's and the fd). The gate forwards each packet of the fd here as a
-- PTYPE_CLIENT message; requests are decoded by skynet.cluster.core, a large one is joined
-- from its parts, then the target (a handle, a local ".name", or an "@name" registered with
-- cluster.register) is called and the reply written back on the fd. Address 0 is a name
-- query (cluster.query).
--
-- A packet that does not decode, a large request whose parts overflow what it announced, or
-- more than MAX_LARGE large requests in progress close the connection with a log line.
local skynet = require "skynet"
local socket = require "skynet.socket"
local core = require "skynet.cluster.core"

local clusterd, gate, fd = ...
clusterd = tonumber(clusterd)
gate = tonumber(gate)
fd = tonumber(fd)

local MAX_LARGE = 1024		-- large requests in progress on one connection
local MAX_SIZE = 0x7fffffff	-- bytes of one large request

local large = {}	-- session -> { size, parts..., addr =, push =, tag =, got = bytes }
local nlarge = 0
local tag		-- the trace tag of the next request
local closed = false

local names	-- "@name" -> address, filled on demand from clusterd
local looking = {}	-- "@name" -> { co... } waiting for the same lookup

local function fresh_names()
	names = setmetatable({}, { __index = function(t, key)
		local list = looking[key]
		if list then
			local co = coroutine.running()
			list[#list + 1] = co
			skynet.wait(co)
			return rawget(t, key)
		end
		list = {}
		looking[key] = list
		local addr = skynet.call(clusterd, "lua", "queryname", key:sub(2))
		if addr and names == t then
			t[key] = addr
		end
		looking[key] = nil
		for _, co in ipairs(list) do
			skynet.wakeup(co)
		end
		return addr
	end })
end
fresh_names()

local function drop(why)
	if closed then
		return
	end
	closed = true
	skynet.error(string.format("cluster agent: connection fd %d closed: %s", fd, why))
	for _, req in pairs(large) do
		-- parts kept as strings: nothing to free
		req.dead = true
	end
	large = {}
	socket.close_fd(fd)
end

local function reply(session, ok, msg, sz)
	if closed then
		if sz then
			skynet.trash(msg, sz)
		end
		return
	end
	if not ok then
		return socket.write(fd, core.packresponse(session, false, tostring(msg)))
	end
	local frames = core.packresponse(session, true, msg, sz)
	if type(frames) == "string" then
		return socket.write(fd, frames)
	end
	-- a large reply: its frames go out one after the other, behind other writes
	for i = 1, #frames do
		socket.lwrite(fd, frames[i])
	end
end

local function serve(addr, session, msg, sz, is_push, trace)
	if addr == 0 then
		local name = skynet.unpack(msg, sz)
		skynet.trash(msg, sz)
		local found = names["@" .. tostring(name)]
		if found then
			reply(session, true, skynet.packstring(found))
		else
			reply(session, false, "name not found")
		end
		return
	end
	if core.isname(addr) then
		addr = names[addr]
	end
	if not addr then
		skynet.trash(msg, sz)
		if not is_push then
			reply(session, false, "Invalid name")
		end
		return
	end
	if is_push then
		skynet.rawsend(addr, "lua", msg, sz)
		return
	end
	local ok, rmsg, rsz
	if trace then
		ok, rmsg, rsz = pcall(skynet.tracecall, trace, addr, "lua", msg, sz)
	else
		ok, rmsg, rsz = pcall(skynet.rawcall, addr, "lua", msg, sz)
	end
	reply(session, ok, rmsg, rsz)
end

-- one decoded packet
local function dispatch(addr, session, msg, sz, more, is_push)
	if session == nil then
		-- a trace tag for the next request
		tag = addr
		return
	end
	if more then
		local req = large[session]
		if addr then
			-- the header of a large request: sz is the announced size
			if req then
				return drop("large request session " .. session .. " started twice")
			end
			if sz > MAX_SIZE then
				return drop(string.format("large request of %d bytes (limit %d)", sz, MAX_SIZE))
			end
			if nlarge >= MAX_LARGE then
				return drop("too many large requests in progress")
			end
			nlarge = nlarge + 1
			large[session] = { sz, addr = addr, push = is_push, tag = tag, got = 0 }
			tag = nil
			return
		end
		-- a part that more parts follow
		if req == nil then
			skynet.trash(msg, sz)
			return drop("a part of unknown large request " .. session)
		end
		req.got = req.got + sz
		if req.got > req[1] then
			skynet.trash(msg, sz)
			return drop(string.format("large request %d overflows its size %d", session, req[1]))
		end
		core.append(req, msg, sz)
		return
	end
	if addr == false then
		-- the last part of a large request
		local req = large[session]
		if req == nil then
			skynet.trash(msg, sz)
			return drop("a part of unknown large request " .. session)
		end
		large[session] = nil
		nlarge = nlarge - 1
		core.append(req, msg, sz)
		msg, sz = core.concat(req)
		if msg == nil then
			if not req.push then
				reply(session, false, "Invalid large req")
			end
			return drop(string.format("large request %d does not add up to %d bytes", session, req[1]))
		end
		return serve(req.addr, session, msg, sz, req.push, req.tag)
	end
	local trace = tag
	tag = nil
	return serve(addr, session, msg, sz, is_push, trace)
end

local function decode(msg, sz)
	return pcall(core.unpackrequest, msg, sz)
end

local function on_packet(_, _, ok, ...)
	skynet.ignoreret()	-- the session of a client message is the fd: never answered
	if closed then
		if ok then
			local _, _, m, s = ...
			if type(m) == "userdata" then
				skynet.trash(m, s)
			end
		end
		return
	end
	if not ok then
		return drop("bad packet: " .. tostring((...)))
	end
	return dispatch(...)
end

skynet.start(function()
	skynet.register_protocol {
		name = "client",
		id = skynet.PTYPE_CLIENT,
		unpack = decode,
		dispatch = on_packet,
	}
	-- the gate forwards the fd's packets to us; it may be gone already
	local ok, err = pcall(skynet.call, gate, "lua", "forward", fd)
	if not ok then
		skynet.error(string.format("cluster agent: forward of fd %d failed: %s", fd, tostring(err)))
	end
	skynet.dispatch("lua", function(_, source, cmd)
		if cmd == "exit" then
			if not closed then
				closed = true
				socket.close_fd(fd)
			end
			skynet.exit()
		elseif cmd == "namechange" then
			fresh_names()
		else
			skynet.error(string.format("Invalid command %s from %s", tostring(cmd), skynet.address(source)))
		end
	end)
end)
