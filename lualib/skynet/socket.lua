-- skynet.socket: blocking-style sockets for Lua services.
--
-- The socket thread reports every event to the owning service as a PTYPE_SOCKET
-- message; skynet.socketdriver.unpack turns it into (kind, id, ...), and the
-- handlers below move received bytes into the connection's buffer and wake the
-- task that waits on it.  A read never blocks the service: the reading task parks
-- with skynet.wait until its demand is met or the connection goes away.
--
-- One connection record per socket id this service uses:
--   id        the socket id
--   buf, pool receive buffer and its node pool (TCP sockets read with socket.read*)
--   up        true once the socket thread said the socket is usable, false after
--             it is gone (closed, failed)
--   opening   true while open/start/bind waits for the first answer; an error
--             string replaces it if that answer is an error
--   demand    what the parked reader needs: a byte count (0: anything), a line
--             separator string, or true (the peer's close); nil: nobody reads
--   reader    the parked task, or nil
--   closer    the task inside socket.close waiting for the reader to leave
--   held      nil: reading normally; true: paused by us; false: closing, never
--             resume it
--   accept    callback of a listening socket started with socket.start(id, f),
--             or of an UDP socket (data, address)
--   listening true for a socket made by socket.listen
--   udp       true for UDP sockets

local driver = require "skynet.socketdriver"
local skynet = require "skynet"
local core = require "skynet.core"

local assert = assert
local type = type
local format = string.format
local running = coroutine.running

-- buffered bytes past which a socket's reading is paused until its reader catches up
local HIGH_WATER = 128 * 1024

local socket = {}

-- Every socket still held when the service's Lua state closes is closed with it.
local conns = setmetatable({}, {
	__gc = function(t)
		for id in pairs(t) do
			driver.close(id)
			t[id] = nil
		end
	end,
})

local close_hooks = {}	-- id -> function(id) called on the CLOSE event

local function log(...)
	skynet.error(...)
end

local function rouse(c)
	local task = c.reader
	if task then
		c.reader = nil
		skynet.wakeup(task)
	end
end

-- Stop reading from the socket until someone waits on it again.
local function hold(c, buffered)
	if c.held ~= nil then
		return
	end
	if buffered then
		log(format("Pause socket (%d) size : %d", c.id, buffered))
	else
		log(format("Pause socket (%d)", c.id))
	end
	driver.pause(c.id)
	c.held = true
	-- events already queued for this socket get their turn before we go on
	skynet.yield()
end

-- Park the running task until an event wakes it; a paused socket is resumed first.
local function park(c)
	assert(not c.reader)
	local me = running()
	c.reader = me
	if c.held then
		log(format("Resume socket (%d)", c.id))
		driver.start(c.id)
		skynet.wait(me)
		c.held = nil
	else
		skynet.wait(me)
	end
	-- socket.close waits for the last reader to have looked at the buffer
	if c.closer then
		skynet.wakeup(c.closer)
	end
end

---------------------------------------------------------------------------
-- events, by the type numbers of skynet_socket.h

local on = {}

-- is the parked reader's demand met with `buffered` bytes in the buffer?
local function demand_met(c, buffered)
	local want = c.demand
	if type(want) == "number" then
		return buffered >= want
	elseif type(want) == "string" then
		return driver.readline(c.buf, nil, want) ~= nil
	end
	return false
end

on[1] = function(id, size, data)	-- DATA
	local c = conns[id]
	if c == nil or c.buf == nil then
		log("socket: drop package from " .. id)
		driver.drop(data, size)
		return
	end
	local buffered = driver.push(c.buf, c.pool, data, size)
	local want = c.demand
	local counting = type(want) == "number"
	if not counting and c.limit and buffered > c.limit then
		log(format("socket buffer overflow: fd=%d size=%d", id, buffered))
		driver.close(id)
		return
	end
	if demand_met(c, buffered) then
		c.demand = nil
		if buffered > HIGH_WATER then
			hold(c, buffered)
		end
		rouse(c)
	elseif not counting and type(want) ~= "string" and buffered > HIGH_WATER then
		-- nobody is reading: stop the flow until someone does
		hold(c, buffered)
	end
end

on[2] = function(id, port, addr)	-- CONNECT (also the answer to start and listen)
	local c = conns[id]
	if c == nil or c.up then
		return
	end
	if c.listening then
		c.addr, c.port = addr, port
	end
	c.up = true
	rouse(c)
end

on[3] = function(id)	-- CLOSE
	local c = conns[id]
	if c then
		c.up = false
		rouse(c)
	else
		driver.close(id)
	end
	local hook = close_hooks[id]
	if hook then
		close_hooks[id] = nil
		hook(id)
	end
end

on[4] = function(id, newid, addr)	-- ACCEPT
	local c = conns[id]
	if c == nil or c.accept == nil then
		driver.close(newid)
		return
	end
	c.accept(newid, addr)
end

on[5] = function(id, _, err)	-- ERROR
	local c = conns[id]
	if c == nil then
		driver.shutdown(id)
		log("socket: error on unknown", id, err)
		return
	end
	if c.accept then
		-- a listening or UDP socket stays: the error concerns one operation
		log("socket: accept error:", err)
		return
	end
	if c.up then
		log("socket: error on", id, err)
	elseif c.opening then
		c.opening = err
	end
	c.up = false
	driver.shutdown(id)
	rouse(c)
end

on[6] = function(id, size, data, from)	-- UDP
	local c = conns[id]
	if c == nil or c.accept == nil then
		log("socket: drop udp package from " .. id)
		driver.drop(data, size)
		return
	end
	local payload = skynet.tostring(data, size)
	core.trash(data, size)
	c.accept(payload, from)
end

local function warn_default(id, kbytes)
	if conns[id] then
		log(format("WARNING: %d K bytes need to send out (fd = %d)", kbytes, id))
	end
end

on[7] = function(id, kbytes)	-- WARNING: the send queue grew past a threshold
	local c = conns[id]
	if c then
		(c.on_warning or warn_default)(id, kbytes)
	end
end

skynet.register_protocol {
	name = "socket",
	id = skynet.PTYPE_SOCKET,	-- 6
	unpack = driver.unpack,
	dispatch = function(_, _, kind, ...)
		local handler = on[kind]
		if handler then
			handler(...)
		else
			log("socket: unknown event type", kind)
		end
	end,
}

---------------------------------------------------------------------------
-- TCP

-- Register `id` and wait for the socket thread's first answer about it.
-- Returns id, or nil and the error the socket thread reported.
local function attach(id, accept)
	assert(not close_hooks[id], "socket has onclose callback")
	local old = conns[id]
	if old and not old.listening then
		error("socket is not closed")
	end
	local c = {
		id = id,
		up = false,
		opening = true,
		accept = accept,
	}
	if accept == nil then
		c.buf = driver.buffer()
		c.pool = {}
	end
	conns[id] = c
	park(c)
	local err = c.opening
	c.opening = nil
	if c.up then
		return id
	end
	conns[id] = nil
	return nil, err
end

-- a negative id: the core refused at once (it logged why)
local function attach_new(id, what)
	if id < 0 then
		return nil, what .. " failed"
	end
	return attach(id)
end

function socket.open(addr, port)
	return attach_new(driver.connect(addr, port), "connect")
end

function socket.bind(os_fd)
	return attach_new(driver.bind(os_fd), "bind")
end

function socket.stdin()
	return socket.bind(0)
end

-- Take over a socket id (accepted, listening or handed over by another service).
-- With `func`, a listening socket calls func(newid, addr) for each connection.
function socket.start(id, func)
	driver.start(id)
	return attach(id, func)
end

function socket.pause(id)
	local c = conns[id]
	if c then
		hold(c)
	end
end

function socket.shutdown(id)
	if conns[id] then
		-- the CLOSE event follows; socket.close(id) still has to be called
		driver.shutdown(id)
	end
end

function socket.close_fd(id)
	assert(conns[id] == nil, "Use socket.close instead")
	driver.close(id)
end

function socket.close(id)
	local c = conns[id]
	if c == nil then
		return
	end
	driver.close(id)
	if c.up then
		c.held = false	-- a paused socket is never resumed again
		if c.reader then
			-- another task is reading it: let that task take what is buffered first
			assert(not c.closer)
			local me = running()
			c.closer = me
			skynet.wait(me)
		else
			park(c)
		end
		c.up = false
	end
	conns[id] = nil
end

local function reading(id)
	local c = conns[id]
	assert(c)
	return c
end

-- Wait until `want` is met (see `demand`) or the socket goes away.
local function await(c, want)
	assert(not c.demand)
	c.demand = want
	park(c)
end

function socket.read(id, sz)
	local c = reading(id)
	local buf, pool = c.buf, c.pool
	if sz == nil then
		-- whatever is there, waiting for something if nothing is
		local got = driver.readall(buf, pool)
		if got ~= "" then
			return got
		end
		if not c.up then
			return false, got
		end
		await(c, 0)
		got = driver.readall(buf, pool)
		if got == "" then
			return false, got
		end
		return got
	end
	local got = driver.pop(buf, pool, sz)
	if got then
		return got
	end
	if c.up and not c.closer then
		await(c, sz)
		got = driver.pop(buf, pool, sz)
		if got then
			return got
		end
	end
	return false, driver.readall(buf, pool)
end

function socket.readall(id)
	local c = reading(id)
	if c.up then
		await(c, true)
		assert(c.up == false)
		return driver.readall(c.buf, c.pool)
	end
	local rest = driver.readall(c.buf, c.pool)
	return rest ~= "" and rest
end

function socket.readline(id, sep)
	sep = sep or "\n"
	local c = reading(id)
	local line = driver.readline(c.buf, c.pool, sep)
	if line then
		return line
	end
	if c.up then
		await(c, sep)
		if c.up then
			return driver.readline(c.buf, c.pool, sep)
		end
	end
	return false, driver.readall(c.buf, c.pool)
end

-- Wait for data or the close; true while the socket is still up.
function socket.block(id)
	local c = conns[id]
	if c == nil or not c.up then
		return false
	end
	await(c, 0)
	return c.up
end

socket.write = assert(driver.send)
socket.lwrite = assert(driver.lsend)
socket.header = assert(driver.header)

function socket.invalid(id)
	return conns[id] == nil
end

function socket.disconnected(id)
	local c = conns[id]
	if c then
		return not (c.up or c.opening)
	end
end

function socket.listen(host, port, backlog)
	local id = driver.listen(host, port, backlog)
	assert(conns[id] == nil)
	local c = { id = id, up = false, listening = true }
	conns[id] = c
	park(c)
	return id, c.addr, c.port
end

-- Forget the socket without closing it (to hand it to another service, which
-- calls socket.start(id)).
function socket.abandon(id)
	local c = conns[id]
	if c == nil then
		return
	end
	c.up = false
	rouse(c)
	close_hooks[id] = nil
	conns[id] = nil
end

-- Close the connection when more than `limit` bytes wait in its buffer.
function socket.limit(id, limit)
	local c = assert(conns[id])
	c.limit = limit
end

---------------------------------------------------------------------------
-- UDP

local function adopt_udp(id, callback)
	assert(not conns[id], "socket is not closed")
	conns[id] = { id = id, up = true, udp = true, accept = callback }
end

function socket.udp(callback, host, port)
	local id = driver.udp(host, port)
	adopt_udp(id, callback)
	return id
end

function socket.udp_connect(id, addr, port, callback)
	local c = conns[id]
	if c == nil then
		adopt_udp(id, callback)
	else
		assert(c.udp)
		if callback then
			c.accept = callback
		end
	end
	driver.udp_connect(id, addr, port)
end

function socket.udp_listen(addr, port, callback)
	local id = driver.udp_listen(addr, port)
	adopt_udp(id, callback)
	return id
end

function socket.udp_dial(addr, port, callback)
	local id = driver.udp_dial(addr, port)
	adopt_udp(id, callback)
	return id
end

socket.sendto = assert(driver.udp_send)
socket.udp_address = assert(driver.udp_address)
socket.netstat = assert(driver.info)
socket.resolve = assert(driver.resolve)

function socket.warning(id, callback)
	local c = assert(conns[id])
	c.on_warning = callback
end

function socket.onclose(id, callback)
	close_hooks[id] = callback
end

return socket
