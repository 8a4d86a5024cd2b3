-- snax.gateserver: the skeleton of a TCP gate. It listens, accepts, cuts each connection's
-- byte stream into packets (a 2-byte big-endian length, then that many bytes: skynet.netpack)
-- and hands every packet to the handler, which decides where it goes.
--
--   gateserver.start(handler)     makes the calling service a gate (or, with handler.embed,
--                                 only installs its "lua" dispatch: call it in skynet.start)
--   gateserver.openclient(fd)     start reading a connection (after handler.connect)
--   gateserver.closeclient(fd)    close a connection; handler.disconnect follows
--   gateserver.kick(fd)           the same as closeclient
--
-- Lua commands the gate answers: "open" conf (listen; returns what handler.open returns),
-- "close" (stop listening); any other goes to handler.command(cmd, source, ...).
-- conf: address ("0.0.0.0"), port, maxclient (1024), nodelay, backlog, and ours:
--   packet_timeout  seconds a connection may sit in the middle of a packet without sending
--                   any byte of it before it is closed (default 30; 0: never)
--   maxbytes        bytes a connection may send per second; beyond it reading pauses until
--                   the next second (default: no limit)
--   maxpending      KiB of replies a connection may leave unread before it is closed
--                   (default: no limit; handler.warning is told either way)
--
-- handler: connect(fd, addr), message(fd, msg, sz) (msg is a C block the handler owns:
-- redirect it or free it), and optionally disconnect(fd), error(fd, msg),
-- warning(fd, size_in_KiB), open(source, conf), command(cmd, source, ...), embed.
local skynet = require "skynet"
local netpack = require "skynet.netpack"
local driver = require "skynet.socketdriver"

local gateserver = {}

local listen_id		-- the listening socket, while there is one
local packets		-- netpack's queue object (nil until the first partial packet)
local clients = {}	-- fd -> client record, for every accepted connection not yet closed
local nclients = 0

-- A client record: { open = true while reading may go on (false once the gate closed it),
-- started, paused, bytes (this second), delivered (packets so far), stall (seconds stuck),
-- seen (partial state at the last tick) }.

local function log(fmt, ...)
	skynet.error(string.format("gateserver: " .. fmt, ...))
end

function gateserver.openclient(fd)
	local c = clients[fd]
	if c and c.open then
		c.started = true
		if not c.paused then
			driver.start(fd)
		end
	end
end

function gateserver.closeclient(fd)
	local c = clients[fd]
	if c and c.open then
		c.open = false
		driver.close(fd)
	end
end

gateserver.kick = gateserver.closeclient

-- close at once, dropping what is unsent: for a client that does not behave
local function force_close(fd, c)
	c.open = false
	driver.shutdown(fd)
end

function gateserver.start(handler)
	assert(handler.message, "gateserver: handler.message is missing")
	assert(handler.connect, "gateserver: handler.connect is missing")

	local limits = {}	-- maxclient, maxbytes, maxpending, packet_timeout
	local waiting_listen	-- { co, id, addr, port, err } while "open" waits for the listener
	local ticking = false

	local function deliver(fd, msg, sz)
		local c = clients[fd]
		if c and not c.open then
			-- closed by the gate, the close event is on its way: drop quietly, count
			c.dropped = (c.dropped or 0) + 1
			skynet.trash(msg, sz)
			return
		elseif c then
			c.delivered = c.delivered + 1
			local maxbytes = limits.maxbytes
			if maxbytes then
				c.bytes = c.bytes + sz + 2
				if c.bytes > maxbytes and not c.paused then
					c.paused = true
					driver.pause(fd)
					log("fd %d paused: %d bytes within a second (maxbytes %d)", fd, c.bytes, maxbytes)
				end
			end
			handler.message(fd, msg, sz)
		else
			local text = netpack.tostring(msg, sz)
			if #text > 32 then	-- a packet may be 64 KiB of anything: the log gets its start
				text = string.format("%q...(%d bytes)", text:sub(1, 32), #text)
			end
			skynet.error(string.format("Drop message from fd (%d) : %s", fd, text))
		end
	end

	-- Packets of one read beyond the first wait in the queue; a fork keeps draining it
	-- while a handler.message blocks.
	local function drain()
		local fd, msg, sz = netpack.pop(packets)
		if not fd then
			return
		end
		skynet.fork(drain)
		repeat
			deliver(fd, msg, sz)
			fd, msg, sz = netpack.pop(packets)
		until not fd
	end

	-- once a second: resume paused clients, count seconds stuck inside a packet
	local function tick()
		local stuck = {}
		local timeout = limits.packet_timeout
		if timeout > 0 and packets then
			local p = netpack.partials(packets)
			for i = 1, #p, 3 do
				stuck[p[i]] = p[i + 1] * 65536 * 2 + p[i + 2]
			end
		end
		for fd, c in pairs(clients) do
			c.bytes = 0
			if c.paused then
				c.paused = false
				if c.open and c.started then
					driver.start(fd)
				end
			end
			local now = stuck[fd]
			if now and c.open and now == c.seen and c.delivered == c.seen_delivered then
				c.stall = c.stall + 1
				if c.stall >= timeout then
					local got, want = now // (65536 * 2), now % (65536 * 2)
					log("fd %d closed: inside a packet (%d of %s bytes) with no byte for %ds",
						fd, got, want > 0 and tostring(want) or "?", c.stall)
					force_close(fd, c)
				end
			else
				c.stall = 0
			end
			c.seen, c.seen_delivered = now, c.delivered
		end
	end

	local function start_ticking()
		if ticking or (limits.packet_timeout <= 0 and not limits.maxbytes) then
			return
		end
		ticking = true
		skynet.fork(function()
			while listen_id or next(clients) do
				skynet.sleep(100)
				tick()
			end
			ticking = false
		end)
	end

	local CMD = {}

	function CMD.open(source, conf)
		assert(not listen_id, "gateserver: already listening")
		local address = conf.address or "0.0.0.0"
		limits.maxclient = conf.maxclient or 1024
		limits.maxbytes = conf.maxbytes
		limits.maxpending = conf.maxpending
		limits.packet_timeout = conf.packet_timeout or 30
		limits.nodelay = conf.nodelay
		skynet.error("Listen on", address, conf.port)
		local w = { co = coroutine.running() }
		w.id = driver.listen(address, conf.port, conf.backlog)
		listen_id, waiting_listen = w.id, w
		skynet.wait(w.co)
		waiting_listen = nil
		if w.err then
			listen_id = nil
			error(string.format("gateserver: listen on %s:%s failed: %s", address, conf.port, w.err))
		end
		conf.address, conf.port = w.addr, w.port
		driver.start(listen_id)
		start_ticking()
		if handler.open then
			return handler.open(source, conf)
		end
	end

	function CMD.close()
		assert(listen_id, "gateserver: not listening")
		driver.close(listen_id)
	end

	local EVENT = {}

	EVENT.data = deliver
	EVENT.more = drain

	function EVENT.open(fd, addr)
		if nclients >= limits.maxclient then
			log("refuse fd %d from %s: %d clients already (maxclient)", fd, addr, nclients)
			driver.close(fd)
			return
		end
		nclients = nclients + 1
		clients[fd] = { open = true, bytes = 0, delivered = 0, stall = 0 }
		if limits.nodelay then
			driver.nodelay(fd)
		end
		start_ticking()
		handler.connect(fd, addr)
	end

	-- a connection that was accepted is gone: forget it, tell the handler
	local function gone(fd, why, msg)
		local c = clients[fd]
		if not c then
			return false
		end
		clients[fd] = nil
		nclients = nclients - 1
		if c.dropped then
			log("fd %d: %d packets dropped after it was closed", fd, c.dropped)
		end
		if why == "error" then
			if c.open then
				driver.shutdown(fd)
			end
			if handler.error then
				handler.error(fd, msg)
			elseif handler.disconnect then
				handler.disconnect(fd)
			end
		elseif handler.disconnect then
			handler.disconnect(fd)
		end
		return true
	end

	function EVENT.close(fd)
		if fd == listen_id then
			listen_id = nil
		else
			gone(fd, "close")
		end
	end

	function EVENT.error(fd, msg)
		if fd == listen_id then
			local w = waiting_listen
			if w and w.co then
				w.err = msg
				skynet.wakeup(w.co)
				w.co = nil
			else
				skynet.error("gateserver accept error:", msg)
			end
		else
			gone(fd, "error", msg)
		end
	end

	function EVENT.warning(fd, size)
		local c = clients[fd]
		local maxpending = limits.maxpending
		if c and c.open and maxpending and size >= maxpending then
			log("fd %d closed: %d KiB of replies unread (maxpending %d KiB)", fd, size, maxpending)
			force_close(fd, c)
		end
		if handler.warning then
			handler.warning(fd, size)
		end
	end

	-- CONNECT events: the listener's bound address (asked for by "open"), or a start/transfer
	function EVENT.init(id, addr, port)
		local w = waiting_listen
		if w and w.co and id == w.id then
			w.addr, w.port = addr, port
			skynet.wakeup(w.co)
			w.co = nil
		end
	end

	-- PTYPE_SOCKET: netpack turns each event into a kind and its values
	local function unpack_event(msg, sz)
		return netpack.filter(packets, msg, sz)
	end
	local function on_event(_, _, q, kind, ...)
		packets = q
		local f = kind and EVENT[kind]
		if f then
			f(...)
		end
	end
	skynet.register_protocol { name = "socket", id = skynet.PTYPE_SOCKET,
		unpack = unpack_event, dispatch = on_event }

	local function install()
		skynet.dispatch("lua", function(_, source, cmd, ...)
			local f = CMD[cmd]
			if f then
				skynet.ret(skynet.pack(f(source, ...)))
			elseif handler.command then
				skynet.ret(skynet.pack(handler.command(cmd, source, ...)))
			else
				error(string.format("gateserver: unknown command %s", tostring(cmd)))
			end
		end)
	end

	if handler.embed then
		install()
	else
		skynet.start(install)
	end
end

return gateserver
