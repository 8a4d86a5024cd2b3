-- http.sockethelper: byte-stream functions over a skynet.socket id, for the http modules.
--
-- readfunc(fd [, pre]) gives read(sz): sz bytes, or (sz == nil) whatever has arrived;
-- writefunc(fd) gives write(str).  Both raise sockethelper.socket_error when the socket is
-- gone, so a protocol parser can be written as straight-line code and wrapped in one pcall.
-- The error object is a single value: `err == sockethelper.socket_error` tells a dead peer
-- apart from a protocol error; tostring(err) gives the last message once.

local skynet = require "skynet"
local socket = require "skynet.socket"

local sockethelper = {}

local error_mt = {}
local socket_error = setmetatable({}, error_mt)

function error_mt.__call(self, info)
	self.err_info = "[Socket Error] : " .. tostring(info)
	return self
end

function error_mt.__tostring(self)
	local s = self.err_info or "[Socket Error]"
	self.err_info = nil
	return s
end

sockethelper.socket_error = socket_error

-- A read function keeps bytes handed back to it (sockethelper.unread): a parser that read
-- past the end of one message leaves the rest for the next (HTTP keep-alive, pipelining).
local pushback = setmetatable({}, { __mode = "k" })

function sockethelper.readfunc(fd, pre)
	local pending = pre
	if pending == "" then
		pending = nil
	end
	local read = socket.read
	local function readbytes(sz)
		if pending then
			local n = #pending
			if sz == nil or sz == n then
				local s = pending
				pending = nil
				return s
			elseif sz < n then
				local s = pending:sub(1, sz)
				pending = pending:sub(sz + 1)
				return s
			end
			local more = read(fd, sz - n)
			if not more then
				error(socket_error("read failed fd = " .. fd))
			end
			local s = pending .. more
			pending = nil
			return s
		end
		local s = read(fd, sz)
		if not s then
			error(socket_error("read failed fd = " .. fd))
		end
		return s
	end
	pushback[readbytes] = function(s)
		if s ~= "" then
			pending = pending and (s .. pending) or s
		end
	end
	return readbytes
end

-- Hands `s` back to a read function made by readfunc: its next reads return it first.
-- Returns false for a read function of another origin (the bytes are then dropped).
function sockethelper.unread(readbytes, s)
	local f = pushback[readbytes]
	if f then
		f(s)
		return true
	end
	return false
end

sockethelper.readall = socket.readall

function sockethelper.writefunc(fd)
	local write = socket.write
	return function(content)
		if not write(fd, content) then
			error(socket_error("write failed fd = " .. fd))
		end
	end
end

-- Connects to host:port; with a timeout (in 1/100 s) the attempt is abandoned after that
-- long (a late connection is closed when it completes). Raises socket_error on failure.
function sockethelper.connect(host, port, timeout)
	local fd, err
	if timeout then
		local co = coroutine.running()
		local state = "waiting"
		skynet.fork(function()
			local id, e = socket.open(host, port)
			if state == "abandoned" then
				if id then
					socket.close(id)
				end
				return
			end
			fd, err = id, e
			state = "done"
			skynet.wakeup(co)
		end)
		skynet.sleep(timeout)
		if state ~= "done" then
			state = "abandoned"
			err = err or "timeout"
		end
	else
		fd, err = socket.open(host, port)
	end
	if not fd then
		local why = string.format("connect failed host = %s port = %s timeout = %s err = %s",
			tostring(host), tostring(port), tostring(timeout), tostring(err))
		error(socket_error(why))
	end
	return fd
end

-- close: graceful (what was written is sent first); shutdown: at once, pending data dropped.
sockethelper.close = function(fd) return socket.close(fd) end
sockethelper.shutdown = function(fd) return socket.shutdown(fd) end

return sockethelper
