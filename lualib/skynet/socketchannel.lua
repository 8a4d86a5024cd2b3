-- skynet.socketchannel: a client connection that reconnects by itself and matches replies to
-- requests.
--
-- Two ways to match replies:
--   * order mode (no `response` in the description): each request carries a reader function,
--     replies come back in the order the requests were written (pipelined);
--   * session mode (`response` given): the function `response(sock)` reads one reply and
--     returns session, ok, data[, padding]; a request names the session it waits for.
--
-- Every connection ("link") keeps its own waiting list. When a link breaks, everyone waiting
-- on it is woken with an error raised in their own coroutine, and the next request opens a
-- new link (primary host first, then the backups), running `auth` on it before anyone else
-- may use it.

local skynet = require "skynet"
local socket = require "skynet.socket"
local socketdriver = require "skynet.socketdriver"

local running = coroutine.running
local pcall = pcall
local error = error
local setmetatable = setmetatable

local M = {}

-- The error object raised when the connection is lost (or could not be made).
local SOCKET_ERROR = setmetatable({}, { __tostring = function() return "[Error: socket]" end })
M.error = SOCKET_ERROR

local channel = {}
local channel_mt = { __index = channel }

---------------------------------------------------------------------------------------------
-- the object handed to reader functions: sock:read(n), sock:readline(sep); sock[1] is the fd

-- A read that came back empty-handed means the link is gone.
local function got(r)
	return r or error(SOCKET_ERROR)
end

local default_link_methods = {
	read = function(link, n) return got(socket.read(link[1], n)) end,
	readline = function(link, sep) return got(socket.readline(link[1], sep)) end,
}

---------------------------------------------------------------------------------------------
-- waiters: one per request that expects a reply

-- reader: the function that reads its reply (order mode)
local function new_waiter(reader)
	return { co = running(), done = false, reader = reader }
end

-- A reply (ok, data) reached the waiter.
local function deliver(w, ok, data)
	if w.done then
		return
	end
	if ok and w.parts then
		w.parts[#w.parts + 1] = data
		data = w.parts
	end
	w.done = true
	w.ok = ok
	w.data = data
	skynet.wakeup(w.co)
end

-- The link broke under the waiter; err is a message or nil (plain socket error).
local function fail(w, err)
	if w.done then
		return
	end
	w.done = true
	w.broken = true
	w.data = err
	skynet.wakeup(w.co)
end

local function await(w)
	while not w.done do
		skynet.wait(w.co)
	end
	if w.broken then
		error(w.data == nil and SOCKET_ERROR or w.data, 0)
	end
	if not w.ok then
		error(w.data == nil and "assertion failed!" or w.data, 0)
	end
	return w.data
end

---------------------------------------------------------------------------------------------
-- links

-- Ends a link: every waiter on it fails with err, its reader stops, its socket is closed.
local function drop_link(ch, link, err)
	if link.dead then
		return
	end
	link.dead = true
	if ch._link == link then
		ch._link = nil
	end
	if link.sessions then
		local waiting = link.sessions
		link.sessions = {}
		for _, w in pairs(waiting) do
			fail(w, err)
		end
	else
		local q = link.queue
		for i = link.head, link.tail do
			local w = q[i]
			q[i] = nil
			if w then
				fail(w, err)
			end
		end
		link.head, link.tail = 1, 0
	end
	local idle = link.idle
	if idle then
		link.idle = nil
		skynet.wakeup(idle)
	end
	pcall(socket.close, link[1])
end

-- Reads one reply with f; a true padding means more parts follow, gathered into a list.
local function read_reply(f, link)
	local ok, data, more = f(link)
	if not (ok and more) then
		return ok, data
	end
	local parts = { data }
	repeat
		ok, data, more = f(link)
		if not ok then
			return false, data
		end
		parts[#parts + 1] = data
	until not more
	return true, parts
end

local function error_message(e)
	if e == SOCKET_ERROR then
		return nil
	end
	return e
end

-- Order mode: replies are read in the order the requests were queued.
local function read_in_order(ch, link)
	local co = running()
	while not link.dead do
		local h = link.head
		local w = link.queue[h]
		if w == nil then
			link.idle = co
			skynet.wait(co)
			link.idle = nil
		else
			local ok, rok, data = pcall(read_reply, w.reader, link)
			if link.dead then
				break
			end
			link.queue[h] = nil
			link.head = h + 1
			if ok then
				deliver(w, rok, data)
			else
				local msg = error_message(rok)
				fail(w, msg)
				drop_link(ch, link, msg)
			end
		end
	end
end

-- Session mode: the channel's response function says which waiter each reply is for.
local function read_by_session(ch, link)
	local response = ch._response
	while not link.dead do
		local ok, session, rok, data, padding = pcall(response, link)
		if link.dead then
			break
		end
		if not ok or session == nil then
			drop_link(ch, link, ok and nil or error_message(session))
			break
		end
		local w = link.sessions[session]
		if w == nil then
			skynet.error("socket: unknown session :", session)
		elseif padding and rok then
			local parts = w.parts or {}
			w.parts = parts
			parts[#parts + 1] = data
		else
			link.sessions[session] = nil
			deliver(w, rok, data)
		end
	end
end

local function watch_overload(ch, link)
	local notify = ch._overload
	if not notify then
		return
	end
	local fd = link[1]
	socket.warning(fd, function(id, size)
		if link.dead or id ~= fd then
			return
		end
		if size == 0 then
			if ch._overloaded then
				ch._overloaded = false
				notify(false)
			end
		elseif not ch._overloaded then
			ch._overloaded = true
			notify(true)
		else
			skynet.error(string.format("WARNING: %d K bytes need to send out (fd = %d)", size, id),
				ch._host, ch._port)
		end
	end)
end

local function open_link(ch, fd)
	if ch._nodelay then
		socketdriver.nodelay(fd)
	end
	local link = setmetatable({ fd }, ch._link_mt)
	link.dead = false
	if ch._response then
		link.sessions = {}
	else
		link.queue, link.head, link.tail = {}, 1, 0
		socket.onclose(fd, function()
			if not link.dead and link.idle then
				skynet.error("socket closed by peer : ", ch._host, ch._port)
				drop_link(ch, link)
			end
		end)
	end
	ch._link = link
	watch_overload(ch, link)
	if ch._response then
		skynet.fork(read_by_session, ch, link)
	else
		skynet.fork(read_in_order, ch, link)
	end
	return link
end

---------------------------------------------------------------------------------------------
-- connecting

local function addr_key(host, port)
	return tostring(host) .. ":" .. tostring(port)
end

-- One round over the primary host and the backups. Returns true once a link is up (and
-- authenticated), or false and the last error.
local function connect_round(ch, depth)
	if ch._closed then
		return false, "channel closed"
	end
	local list = { { host = ch._host, port = ch._port } }
	local seen = { [addr_key(ch._host, ch._port)] = true }
	local function add_backups()
		for _, b in ipairs(ch._backup or {}) do
			local host, port
			if type(b) == "table" then
				host, port = b.host, b.port or ch._port
			else
				host, port = b, ch._port
			end
			local k = addr_key(host, port)
			if not seen[k] then
				seen[k] = true
				list[#list + 1] = { host = host, port = port }
			end
		end
	end
	add_backups()
	local lasterr
	local i = 0
	while not ch._closed do
		i = i + 1
		local addr = list[i]
		if addr == nil then
			return false, lasterr
		end
		if i > 1 then
			skynet.error("socket: connect to backup host", addr.host, addr.port)
		end
		local fd, err = socket.open(addr.host, addr.port)
		if not fd then
			lasterr = err or "connect failed"
		else
			ch._host, ch._port = addr.host, addr.port
			local link = open_link(ch, fd)
			if not ch._auth then
				return true
			end
			ch._auth_co = running()
			local ok, msg = pcall(ch._auth, ch)
			ch._auth_co = nil
			if ok and ch._link == link then
				return true
			end
			if ok then
				-- auth went through but the link is gone: changehost() in auth, or the peer left
				if addr_key(ch._host, ch._port) ~= addr_key(addr.host, addr.port) and depth < 8 then
					return connect_round(ch, depth + 1)
				end
				lasterr = "connection lost during auth"
			else
				drop_link(ch, link, error_message(msg))
				if msg ~= SOCKET_ERROR then
					skynet.error("socket: auth failed", msg)
				end
				lasterr = "auth failed"
				add_backups()	-- auth may have changed the backup list
			end
		end
	end
	return false, "channel closed"
end

local function keep_connecting(ch, once)
	local delay = 0
	while not ch._closed do
		local ok, err = connect_round(ch, 0)
		if ok then
			if not once then
				skynet.error("socket: connect to", ch._host, ch._port)
			end
			return
		end
		if once then
			return err
		end
		skynet.error("socket: connect", err)
		skynet.sleep(delay)
		if delay < 1000 then
			delay = delay + 100
		end
	end
	return "channel closed"
end

-- Makes sure the channel has a usable link for the running coroutine; raises the socket
-- error when there is none.
local function ensure_link(ch, once)
	local co = running()
	local link = ch._link
	if link and socket.disconnected(link[1]) then
		skynet.error("socket: disconnect detected ", ch._host, ch._port)
		drop_link(ch, link)
		link = nil
	end
	if ch._auth_co == co then
		-- the auth function talks on the link being set up, and nowhere else
		if link then
			return link
		end
		error(SOCKET_ERROR)
	end
	if link and not ch._connecting then
		return link
	end
	if ch._closed then
		error(SOCKET_ERROR)
	end
	local err
	if ch._connecting then
		local q = ch._connecting
		q[#q + 1] = co
		skynet.wait(co)
	else
		ch._connecting = {}
		local ok, e = pcall(keep_connecting, ch, once)
		if ok then
			err = e
		end
		local q = ch._connecting
		ch._connecting = nil
		for _, w in ipairs(q) do
			skynet.wakeup(w)
		end
		if not ok then
			error(e, 0)
		end
	end
	link = ch._link
	if link and not ch._auth_co then
		return link
	end
	skynet.error("Connect failed", err, ch._host, ch._port)
	error(SOCKET_ERROR)
end

---------------------------------------------------------------------------------------------
-- the channel

function M.channel(desc)
	local ch = {
		_host = assert(desc.host, "socketchannel needs a host"),
		_port = desc.port,
		_backup = desc.backup,
		_auth = desc.auth,
		_response = desc.response,
		_nodelay = desc.nodelay,
		_overload = desc.overload,
		_overloaded = false,
		_closed = false,
		_link = nil,
		_connecting = nil,
		_auth_co = nil,
	}
	local methods = default_link_methods
	if desc.socket_read or desc.socket_readline then
		methods = {
			read = desc.socket_read or default_link_methods.read,
			readline = desc.socket_readline or default_link_methods.readline,
		}
	end
	ch._link_mt = { __index = methods }
	return setmetatable(ch, channel_mt)
end

function channel:connect(once)
	self._closed = false
	ensure_link(self, once)
	return true
end

-- Queues a wait for a reply on link: a reader function (order mode) or a session.
local function wait_reply(ch, link, response)
	local w
	if link.sessions then
		w = new_waiter()
		link.sessions[response] = w
	else
		w = new_waiter(response)
		local t = link.tail + 1
		link.tail = t
		link.queue[t] = w
		local idle = link.idle
		if idle then
			link.idle = nil
			skynet.wakeup(idle)
		end
	end
	return await(w)
end

local function broken_write(ch, link)
	drop_link(ch, link)
	error(SOCKET_ERROR)
end

function channel:request(request, response, padding)
	local link = ensure_link(self, true)
	local fd = link[1]
	if padding then
		-- a request in several parts: written at low priority, one after the other
		if not socket.lwrite(fd, request) then
			broken_write(self, link)
		end
		for _, part in ipairs(padding) do
			if not socket.lwrite(fd, part) then
				broken_write(self, link)
			end
		end
	elseif not socket.write(fd, request) then
		broken_write(self, link)
	end
	if response == nil then
		return
	end
	return wait_reply(self, link, response)
end

-- Waits for a reply that no request of ours asked for (a push from the server).
function channel:response(response)
	local link = ensure_link(self)
	return wait_reply(self, link, response)
end

function channel:close()
	if self._closed then
		return
	end
	self._closed = true
	local link = self._link
	if link then
		drop_link(self, link)
	end
end

function channel:changehost(host, port)
	self._host = host
	if port then
		self._port = port
	end
	local link = self._link
	if link and not self._closed then
		drop_link(self, link)
	end
end

function channel:changebackup(backup)
	self._backup = backup
end

-- A channel that is collected closes its socket (no coroutine switch is allowed here).
channel_mt.__gc = function(ch)
	ch._closed = true
	local link = ch._link
	if link and not link.dead then
		link.dead = true
		pcall(socketdriver.close, link[1])
	end
end

return M
