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
-- What the gate knows of each connection, kept in one table per fact, most of them holding
-- only the few connections the fact is true of: an idle connection costs one slot of
-- 'delivered' (and none of a table of its own).
local delivered = {}	-- fd -> packets delivered so far, for every accepted connection not yet gone
local nclients = 0
local closing = {}	-- fd -> true: closed by the gate, its close event still to come
local unstarted = {}	-- fd -> true: accepted, not yet opened (openclient)
local paused = {}	-- fd -> true: reading paused until the next tick (maxbytes)
local dropped = {}	-- fd -> packets dropped after the gate closed it
local bytes = {}	-- fd -> bytes received this second (with maxbytes only)
-- Connections inside a packet at the last tick: fd -> the partial state seen then, the
-- packet count then, and the seconds it has not changed.
local stuck_seen, stuck_delivered, stuck_seconds = {}, {}, {}

local function log(fmt, ...)
	skynet.error(string.format("gateserver: " .. fmt, ...))
end

function gateserver.openclient(fd)
	if delivered[fd] and not closing[fd] then
		unstarted[fd] = nil
		if not paused[fd] then
			driver.start(fd)
		end
	end
end

function gateserver.closeclient(fd)
	if delivered[fd] and not closing[fd] then
		closing[fd] = true
		driver.close(fd)
	end
end

gateserver.kick = gateserver.closeclient

-- close at once, dropping what is unsent: for a client that does not behave
local function force_close(fd)
	closing[fd] = true
	driver.shutdown(fd)
end

function gateserver.start(handler)
	assert(handler.message, "gateserver: handler.message is missing")
	assert(handler.connect, "gateserver: handler.connect is missing")

	local limits = {}	-- maxclient, maxbytes, maxpending, packet_timeout
	local waiting_listen	-- { co, id, addr, port, err } while "open" waits for the listener
	local ticking = false

	local function deliver(fd, msg, sz)
		local n = delivered[fd]
		if n and closing[fd] then
			-- closed by the gate, the close event is on its way: drop quietly, count
			dropped[fd] = (dropped[fd] or 0) + 1
			skynet.trash(msg, sz)
			return
		elseif n then
			delivered[fd] = n + 1
			local maxbytes = limits.maxbytes
			if maxbytes then
				local b = (bytes[fd] or 0) + sz + 2
				bytes[fd] = b
				if b > maxbytes and not paused[fd] then
					paused[fd] = true
					driver.pause(fd)
					log("fd %d paused: %d bytes within a second (maxbytes %d)", fd, b, maxbytes)
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
		if next(bytes) then
			bytes = {}
		end
		for fd in pairs(paused) do
			paused[fd] = nil
			if delivered[fd] and not closing[fd] and not unstarted[fd] then
				driver.start(fd)
			end
		end
		local timeout = limits.packet_timeout
		local seen, seen_delivered, seconds = {}, {}, {}
		if timeout > 0 and packets then
			-- a connection stalls while its partial packet and its packet count stay the same
			local p = netpack.partials(packets)
			for i = 1, #p, 3 do
				local fd, now = p[i], p[i + 1] * 65536 * 2 + p[i + 2]
				local n = delivered[fd]
				if n and not closing[fd] then
					local stall = 0
					if stuck_seen[fd] == now and stuck_delivered[fd] == n then
						stall = stuck_seconds[fd] + 1
					end
					if stall >= timeout then
						local got, want = now // (65536 * 2), now % (65536 * 2)
						log("fd %d closed: inside a packet (%d of %s bytes) with no byte for %ds",
							fd, got, want > 0 and tostring(want) or "?", stall)
						force_close(fd)
					else
						seen[fd], seen_delivered[fd], seconds[fd] = now, n, stall
					end
				end
			end
		end
		stuck_seen, stuck_delivered, stuck_seconds = seen, seen_delivered, seconds
	end

	local function start_ticking()
		if ticking or (limits.packet_timeout <= 0 and not limits.maxbytes) then
			return
		end
		ticking = true
		skynet.fork(function()
			while listen_id or next(delivered) do
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
		delivered[fd] = 0
		unstarted[fd] = true
		if limits.nodelay then
			driver.nodelay(fd)
		end
		start_ticking()
		handler.connect(fd, addr)
	end

	-- a connection that was accepted is gone: forget it, tell the handler
	local function gone(fd, why, msg)
		if not delivered[fd] then
			return false
		end
		local was_open = not closing[fd]
		delivered[fd], closing[fd], unstarted[fd], paused[fd], bytes[fd] = nil, nil, nil, nil, nil
		nclients = nclients - 1
		if dropped[fd] then
			log("fd %d: %d packets dropped after it was closed", fd, dropped[fd])
			dropped[fd] = nil
		end
		if why == "error" then
			if was_open then
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
		local maxpending = limits.maxpending
		if delivered[fd] and not closing[fd] and maxpending and size >= maxpending then
			log("fd %d closed: %d KiB of replies unread (maxpending %d KiB)", fd, size, maxpending)
			force_close(fd)
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
