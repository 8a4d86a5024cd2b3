-- http.tlshelper: TLS for httpc, httpd servers and websocket (wss), over the ltls module.
--
-- The TLS state (ltls) never touches the socket: these functions move its bytes through
-- http.sockethelper.  newctx(), newtls(role, ctx, hostname) make the states;
-- init_requestfunc / init_responsefunc give the client / server handshake; readfunc,
-- writefunc, readallfunc and closefunc the matching byte-stream functions.

local sockethelper = require "http.sockethelper"
local ltls = require "ltls.c"

local tlshelper = {}

local function send(write, s)
	if s and s ~= "" then
		write(s)
	end
end

-- Client handshake: hello first, then answers until the state says it is done.
function tlshelper.init_requestfunc(fd, ctx)
	local read, write = sockethelper.readfunc(fd), sockethelper.writefunc(fd)
	return function(hostname)
		if hostname then
			ctx:set_ext_host_name(hostname)
		end
		send(write, ctx:handshake())
		while not ctx:finished() do
			send(write, ctx:handshake(read()))
		end
	end
end

-- Server handshake: answers the client until done, then sends what is left (session tickets).
function tlshelper.init_responsefunc(fd, ctx)
	local read, write = sockethelper.readfunc(fd), sockethelper.writefunc(fd)
	return function()
		repeat
			send(write, ctx:handshake(read()))
		until ctx:finished()
		send(write, ctx:write())
	end
end

function tlshelper.closefunc(ctx)
	return function()
		ctx:close()
	end
end

-- read(sz): sz plaintext bytes, or (sz nil) what is there (at least some).
function tlshelper.readfunc(fd, ctx)
	local raw = sockethelper.readfunc(fd)
	local plain = ""
	local function short(sz)
		return (sz and #plain < sz) or (not sz and plain == "")
	end
	return function(sz)
		if short(sz) then
			-- records that came with the last handshake bytes are decrypted first
			plain = plain .. ctx:read()
		end
		while short(sz) do
			plain = plain .. ctx:read(raw())
		end
		local s
		if sz then
			s, plain = plain:sub(1, sz), plain:sub(sz + 1)
		else
			s, plain = plain, ""
		end
		return s
	end
end

function tlshelper.writefunc(fd, ctx)
	local write = sockethelper.writefunc(fd)
	return function(s)
		return write(ctx:write(s))
	end
end

function tlshelper.readallfunc(fd, ctx)
	return function()
		return ctx:read(sockethelper.readall(fd) or "")
	end
end

-- The byte-stream interface httpc and the examples use for one TLS connection.
function tlshelper.interface(fd, ctx, role)
	local t = {
		read = tlshelper.readfunc(fd, ctx),
		write = tlshelper.writefunc(fd, ctx),
		readall = tlshelper.readallfunc(fd, ctx),
		close = tlshelper.closefunc(ctx),
	}
	if role == "server" then
		t.init = tlshelper.init_responsefunc(fd, ctx)
	else
		t.init = tlshelper.init_requestfunc(fd, ctx)
	end
	return t
end

-- newctx() and newtls(method, ctx, hostname) are ltls's own.
tlshelper.newctx = ltls.newctx
tlshelper.newtls = ltls.newtls

return tlshelper
