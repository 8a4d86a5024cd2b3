-- skynet.socket: blocking-style sockets for Lua services.
--
-- The socket thread reports every event to the owning service as a PTYPE_SOCKET
-- message; skynet.socketdriver.unpack turns it into (kind, id, ...), and the
-- connection object of that id handles it: received bytes go into its buffer, and
-- the task parked on it is woken when what it waits for is there.  A read never
-- blocks the service, only the reading task (skynet.wait / skynet.wakeup).
--
-- Fields of a connection object (class Conn):
--   id        the socket id
--   buf, pool receive buffer and its node pool (nil for listening and UDP sockets)
--   up        true once the socket thread said the socket is usable; false after
--             it is gone (closed by either side, failed)
--   opening   true while open/start/bind waits for the first answer; the error
--             text replaces it when that answer is an error
--   demand    what the parked reader needs: a byte count (0: anything), a line
--             separator string, or true (the peer's close); nil: nobody reads
--   reader    the parked task, or nil
--   closer    the task inside socket.close waiting for the reader to leave
--   held      nil: reading; true: paused by us; false: closing, never resume
--   accept    callback of a listening socket started with socket.start(id, f),
--             or of an UDP socket (data, address)
--   listening true for a socket made by socket.listen
--   udp       true for UDP sockets
--   limit     close the connection when more bytes than this are unread

local driver = require "skynet.socketdriver"
local skynet = require "skynet"
local core = require "skynet.core"

local assert = assert
local type = type
local format = string.format
local running = coroutine.running
local log = skynet.error
local wait, wakeup = skynet.wait, skynet.wakeup
local push, pop = driver.push, driver.pop

-- unread bytes past which a socket's reading is paused until its reader catches up
local HIGH_WATER = 128 * 1024

local socket = {}

-- id -> connection object.  Whatever is still here when the service's Lua state
-- closes is closed with it.
local conns = setmetatable({}, {
	__gc = function(t)
		for id in pairs(t) do
			driver.close(id)
			t[id] = nil
		end
	end,
})

local close_hooks = {}	-- id -> function(id), called once on the CLOSE event

local Conn = {}
Conn.__index = Conn

local function new_conn(fields)
	return setmetatable(fields, Conn)
end

-- Waking, parking and the data event are plain functions, not methods: every message runs
-- them, and a method call costs a metatable lookup.

-- Wake the parked reader, if any.
local function rouse(c)
	local task = c.reader
	c.reader = nil
	return task and wakeup(task)
end

-- Stop reading from the socket until a task waits on it again. Never yields: data events
-- call it with no task of their own.
function Conn:hold(buffered)
	if self.held ~= nil then
		return false
	end
	local what = format("Pause socket (%d)", self.id)
	log(buffered and format("%s size : %d", what, buffered) or what)
	driver.pause(self.id)
	self.held = true
	return true
end

-- Park the running task until an event wakes it; a paused socket is resumed first.
local function park(c)
	assert(not c.reader)
	local me = running()
	c.reader = me
	local resume = c.held
	if resume then
		log(format("Resume socket (%d)", c.id))
		driver.start(c.id)
	end
	wait(me)
	c.demand = nil	-- met, or the socket went away
	if resume then
		c.held = nil
	end
	-- socket.close waits for the last reader to have looked at the buffer
	local closer = c.closer
	return closer and wakeup(closer)
end

-- Park until `want` (see `demand`) is met or the socket goes away.
local function await(c, want)
	assert(not c.demand)
	c.demand = want
	park(c)
end

---------------------------------------------------------------------------
-- events; each handler runs with the connection of the event's id

-- Data events run with no task of their own (skynet.lua's protocol `inline`), so this never
-- yields.
local function on_data(c, size, data)
	local buf = c.buf
	if buf == nil then
		log("socket: drop package from " .. c.id)
		return driver.drop(data, size)
	end
	local buffered = push(buf, c.pool, data, size)
	local want = c.demand
	local met
	if type(want) == "number" then
		-- a reader waiting for a byte count asked for that much: no limit then
		met = buffered >= want
	else
		if c.limit and buffered > c.limit then
			log(format("socket buffer overflow: fd=%d size=%d", c.id, buffered))
			return driver.close(c.id)
		end
		-- a line separator: is there a whole line? (true, readall's demand, waits for the close)
		met = type(want) == "string" and driver.readline(buf, nil, want) ~= nil
	end
	if met then
		c.demand = nil
	end
	-- pause a big buffer, unless a reader still needs more of it (readall needs
	-- everything up to the close, which a paused socket would never see)
	if buffered > HIGH_WATER and (met or want == nil) then
		c:hold(buffered)
	end
	if met then
		rouse(c)
	end
end
Conn.on_data = on_data

-- CONNECT: the answer to connect, start, bind and listen
function Conn:on_connect(port, addr)
	if self.up then
		return
	end
	if self.listening then
		self.addr, self.port = addr, port
	end
	self.up = true
	rouse(self)
end

function Conn:on_close()
	self.up = false
	rouse(self)
end

function Conn:on_accept(newid, addr)
	local accept = self.accept
	if accept then
		return accept(newid, addr)
	end
	driver.close(newid)
end

function Conn:on_error(_, err)
	if self.accept then
		-- a listening or UDP socket stays: the error concerns one operation
		log("socket: accept error:", err)
		return
	end
	if self.up then
		log("socket: error on", self.id, err)
	elseif self.opening then
		self.opening = err
	end
	self.up = false
	driver.shutdown(self.id)
	rouse(self)
end

function Conn:on_udp(size, data, from)
	local accept = self.accept
	if not accept then
		log("socket: drop udp package from " .. self.id)
		return driver.drop(data, size)
	end
	local payload = skynet.tostring(data, size)
	core.trash(data, size)
	accept(payload, from)
end

local function warn_default(id, kbytes)
	log(format("WARNING: %d K bytes need to send out (fd = %d)", kbytes, id))
end

-- WARNING: the send queue of the socket grew past a threshold
function Conn:on_warning(kbytes)
	(self.warn or warn_default)(self.id, kbytes)
end

-- data for an id that is no connection of this service
local function drop_data(id, size, data)
	log("socket: drop package from " .. id)
	driver.drop(data, size)
end

-- event type numbers of skynet_socket.h -> handler, and what to do when the id
-- belongs to no connection of this service
local events = {
	[1] = { "on_data", drop_data },
	[2] = { "on_connect" },
	[3] = { "on_close", driver.close },
	[4] = { "on_accept", function(_, newid)
		driver.close(newid)
	end },
	[5] = { "on_error", function(id, _, err)
		driver.shutdown(id)
		log("socket: error on unknown", id, err)
	end },
	[6] = { "on_udp", function(id, size, data)
		log("socket: drop udp package from " .. id)
		driver.drop(data, size)
	end },
	[7] = { "on_warning" },
}

-- Data events take no task: on_data never yields, and the reader it wakes runs right after.
-- Other events may call a user's callback, which may yield, and go the task path.
local function inline(msg, sz)
	local kind, id, size, data = driver.unpack(msg, sz)
	if kind ~= 1 then
		return false
	end
	local c = conns[id]
	if c then
		on_data(c, size, data)
	else
		drop_data(id, size, data)
	end
	return true
end

local function dispatch(_, _, kind, id, ...)
	local ev = events[kind]
	if ev == nil then
		return log("socket: unknown event type", kind, id)
	end
	local c = conns[id]
	if c then
		c[ev[1]](c, ...)
	elseif ev[2] then
		ev[2](id, ...)
	end
	if kind == 3 then
		local hook = close_hooks[id]
		close_hooks[id] = nil
		if hook then
			hook(id)
		end
	end
end

skynet.register_protocol {
	name = "socket",
	id = skynet.PTYPE_SOCKET,	-- 6
	unpack = driver.unpack,
	dispatch = dispatch,
	inline = inline,
}

---------------------------------------------------------------------------
-- TCP

-- Register `id` and wait for the socket thread's first answer about it.
-- Returns id, or nil and the error the socket thread reported.
local function attach(id, accept)
	if id < 0 then
		-- the core refused at once (and logged why)
		return nil, "socket failed"
	end
	assert(not close_hooks[id], "socket has onclose callback")
	local old = conns[id]
	assert(old == nil or old.listening, "socket is not closed")
	local c = new_conn { id = id, up = false, opening = true, accept = accept }
	if not accept then
		c.buf, c.pool = driver.buffer(), {}
	end
	conns[id] = c
	park(c)
	local err = c.opening
	c.opening = nil
	if not c.up then
		conns[id] = nil
		return nil, err
	end
	return id
end

-- call method `name` of the connection `id`, when there is one
local function with(id, name, ...)
	local c = conns[id]
	if c then
		return c[name](c, ...)
	end
end

-- the connection `id`, which must exist
local function must(id)
	return assert(conns[id])
end

-- true when this service has no socket `id` (never had, or closed it)
function socket.invalid(id)
	return conns[id] == nil
end

-- nil for an unknown id; else true once the socket is neither up nor opening
function socket.disconnected(id)
	local c = conns[id]
	if c == nil then
		return nil
	end
	return not (c.up or c.opening)
end

function socket.open(addr, port) return attach(driver.connect(addr, port)) end
function socket.bind(os_fd) return attach(driver.bind(os_fd)) end
function socket.stdin() return socket.bind(0) end

-- Take over a socket id (accepted, listening or handed over by another service).
-- With `func`, a listening socket calls func(newid, addr) for each connection.
function socket.start(id, func)
	driver.start(id)
	return attach(id, func)
end

function socket.pause(id)
	local c = conns[id]
	if c and c:hold() then
		-- events already queued for this socket get their turn before the caller goes on
		skynet.yield()
	end
end

function Conn:shutdown()
	-- the CLOSE event follows; socket.close(id) still has to be called
	driver.shutdown(self.id)
end

function socket.shutdown(id) return with(id, "shutdown") end

function socket.close_fd(id)
	assert(conns[id] == nil, "Use socket.close instead")
	driver.close(id)
end

-- Close and wait for the socket thread to confirm; a task reading the socket
-- gets to take what is buffered before the buffer goes.
function Conn:close()
	driver.close(self.id)
	if not self.up then
		return
	end
	self.held = false	-- a paused socket is never resumed again
	if not self.reader then
		park(self)
	else
		assert(not self.closer)
		self.closer = running()
		skynet.wait(self.closer)
	end
	self.up = false
end

function socket.close(id)
	local c = conns[id]
	if c then
		c:close()
		conns[id] = nil
	end
end

function socket.read(id, sz)
	local c = must(id)
	local buf, pool = c.buf, c.pool
	if sz then
		local got = pop(buf, pool, sz)
		if not got and c.up and not c.closer then
			await(c, sz)
			got = pop(buf, pool, sz)
		end
		if got then
			return got
		end
		return false, driver.readall(buf, pool)
	end
	-- whatever is there, waiting for something if nothing is
	local got = driver.readall(buf, pool)
	if got == "" and c.up then
		await(c, 0)
		got = driver.readall(buf, pool)
	end
	if got == "" then
		return false, got
	end
	return got
end

function socket.readall(id)
	local c = must(id)
	if not c.up then
		local rest = driver.readall(c.buf, c.pool)
		return rest ~= "" and rest
	end
	await(c, true)
	assert(c.up == false)
	return driver.readall(c.buf, c.pool)
end

function socket.readline(id, sep)
	sep = sep or "\n"
	local c = must(id)
	local line = driver.readline(c.buf, c.pool, sep)
	if line then
		return line
	end
	if c.up then
		await(c, sep)
	end
	if c.up then
		return driver.readline(c.buf, c.pool, sep)
	end
	return false, driver.readall(c.buf, c.pool)
end

-- Wait for data or the close; true while the socket is still up.
function socket.block(id)
	local c = conns[id]
	if not (c and c.up) then
		return false
	end
	await(c, 0)
	return c.up
end

-- Listen; returns the id, and the address and port actually listened on.
function socket.listen(host, port, backlog)
	local id = driver.listen(host, port, backlog)
	assert(conns[id] == nil)
	local c = new_conn { id = id, up = false, listening = true }
	conns[id] = c
	park(c)
	return id, c.addr, c.port
end

-- Forget the socket without closing it (to hand it to another service, which
-- calls socket.start(id)).
function socket.abandon(id)
	local c = conns[id]
	conns[id] = nil
	close_hooks[id] = nil
	if c then
		c.up = false
		rouse(c)
	end
end

-- Close the connection when more than `limit` bytes wait unread in its buffer.
function socket.limit(id, limit) must(id).limit = limit end

function socket.warning(id, callback) must(id).warn = callback end

function socket.onclose(id, callback) close_hooks[id] = callback end

---------------------------------------------------------------------------
-- UDP: datagrams go to the callback(data, address); address is for sendto

local function new_udp(id, callback)
	assert(conns[id] == nil, "socket is not closed")
	conns[id] = new_conn { id = id, up = true, udp = true, accept = callback }
	return id
end

function socket.udp(callback, host, port) return new_udp(driver.udp(host, port), callback) end
function socket.udp_listen(addr, port, callback) return new_udp(driver.udp_listen(addr, port), callback) end
function socket.udp_dial(addr, port, callback) return new_udp(driver.udp_dial(addr, port), callback) end

-- Set the default peer of an UDP socket (then socket.write sends to it).
function socket.udp_connect(id, addr, port, callback)
	local c = conns[id]
	if not c then
		new_udp(id, callback)
	else
		assert(c.udp)
		c.accept = callback or c.accept
	end
	driver.udp_connect(id, addr, port)
end

-- straight from the driver
socket.write = assert(driver.send)
socket.lwrite = assert(driver.lsend)
socket.header = assert(driver.header)
socket.sendto = assert(driver.udp_send)
socket.udp_address = assert(driver.udp_address)
socket.netstat = assert(driver.info)
socket.resolve = assert(driver.resolve)

return socket
