-- http.websocket: WebSocket (RFC 6455) servers and clients over skynet.socket.
--
-- Server: websocket.accept(id, handle, protocol, addr, options) runs the connection to its
-- end, calling handle.connect(id), handle.handshake(id, header, url), handle.message(id, msg,
-- "text"|"binary"), handle.ping(id, payload), handle.pong(id, payload),
-- handle.close(id, code, reason), handle.error(id, err), handle.warning(ws, kbytes).
-- options: upgrade = { header, method, url } for a request httpd has already read;
-- max_frame_size (default 256 KiB) bounds a frame and a reassembled message;
-- protocols = a list of accepted subprotocols (default { "chat" }); handshake_timeout (in
-- 1/100 s, default websocket.HANDSHAKE_TIMEOUT, 10 s) for the opening handshake to arrive.
-- Client: websocket.connect(url, header, timeout) -> id; websocket.read(id) -> message, or
-- false, close payload, code, reason.  Both: write(id, data, "text"|"binary", masking_key),
-- ping, pong, close(id, code, reason), addrinfo, real_ip, is_close.
--
-- A peer that breaks the protocol gets a close frame with the code RFC 6455 section 7.4
-- names (1002 protocol error, 1007 bad UTF-8, 1009 too big), a log line, and the connection
-- is closed.

local skynet = require "skynet"
local socket = require "skynet.socket"
local crypt = require "skynet.crypt"
local internal = require "http.internal"
local httpd = require "http.httpd"
local sockethelper = require "http.sockethelper"
local frame = require "http.wsframe"

local socket_error = sockethelper.socket_error

local M = {}

local GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
local DEFAULT_MAX = 256 * 1024

M.MAX_FRAME_SIZE = DEFAULT_MAX
-- 1/100 s a client has for its opening handshake before a 408 and the close (nil: no limit)
M.HANDSHAKE_TIMEOUT = 1000

local OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG =
	frame.OP_TEXT, frame.OP_BINARY, frame.OP_CLOSE, frame.OP_PING, frame.OP_PONG

local conns = {}  -- socket id -> connection state

local is_violation = frame.is_violation

---------------------------------------------------------------------------
-- frames

local function random_mask()
	return string.unpack("<I4", crypt.randomkey())
end

-- Frames a client sends are masked (RFC 6455 5.3): a random key unless one is given.
local function send(ws, op, data, masking_key)
	if ws.mode == "client" and not masking_key then
		masking_key = random_mask()
	end
	ws.write(frame.encode(op, data, masking_key))
end

-- Reads one frame; returns fin, opcode, payload (unmasked).
local receive = frame.receive

---------------------------------------------------------------------------
-- connection state

local function forget(ws)
	if conns[ws.id] == ws then
		conns[ws.id] = nil
	end
	if not ws.closed then
		ws.closed = true
		ws.shut()
	end
end

local function new_conn(id, mode, protocol, hostname)
	local ws = { id = id, mode = mode }
	if protocol == "ws" then
		ws.read = sockethelper.readfunc(id)
		ws.write = sockethelper.writefunc(id)
		ws.shut = function()
			socket.close(id)
		end
	elseif protocol == "wss" then
		local tls = require "http.tlshelper"
		local ctx
		if mode == "client" then
			M.tls_client = M.tls_client or tls.newctx()
			ctx = tls.newtls("client", M.tls_client, hostname)
		else
			if not M.tls_server then
				local c = tls.newctx()
				c:set_cert(skynet.getenv "certfile" or "./server-cert.pem",
					skynet.getenv "keyfile" or "./server-key.pem")
				M.tls_server = c
			end
			ctx = tls.newtls("server", M.tls_server)
		end
		local t = tls.interface(id, ctx, mode)
		t.init(hostname)
		ws.read, ws.write = t.read, t.write
		ws.shut = function()
			socket.close(id)
			t.close()
		end
	else
		error(string.format("invalid websocket protocol:%s", tostring(protocol)))
	end
	conns[id] = ws
	return ws
end

-- Hands bytes read past the handshake back to the frame reader.
local function unread(ws, s)
	if s and s ~= "" and not sockethelper.unread(ws.read, s) then
		local read, pending = ws.read, s
		ws.read = function(sz)
			if not pending then
				return read(sz)
			end
			local p = pending
			if sz == nil or sz == #p then
				pending = nil
				ws.read = read
				return p
			elseif sz < #p then
				pending = p:sub(sz + 1)
				return p:sub(1, sz)
			end
			pending = nil
			ws.read = read
			return p .. read(sz - #p)
		end
	end
end

-- Calls the handler `name` of a server connection (its first argument: the socket id).
local no_handlers = {}
local function call(ws, name, ...)
	local f = (ws.handle or no_handlers)[name]
	return f and f(ws.id, ...)
end

-- After our close frame the peer's frames are read and dropped until its close frame, its
-- end of stream, or `LINGER` (1/100 s) has passed: closing a socket with unread bytes would
-- reset it, and the peer could lose our close frame.
local LINGER = 100

local function drain(ws)
	skynet.timeout(LINGER, function()
		forget(ws)
	end)
	ws.reading = true
	pcall(function()
		while not ws.closed do
			if receive(ws) == "close" then
				break
			end
		end
	end)
	ws.reading = false
	forget(ws)
end

-- Sends our close frame; the connection is closed once the peer answers (or LINGER passed).
local function start_close(ws, payload)
	if ws.closing or ws.closed then
		return
	end
	ws.closing = true
	local ok, err = pcall(send, ws, OP_CLOSE, payload)
	if not ok then
		forget(ws)
		return err
	end
	if not ws.reading then
		skynet.fork(drain, ws)
	else
		skynet.timeout(LINGER, function()
			forget(ws)
		end)
	end
end

-- Ends a connection whose peer broke the protocol: log line, close frame, socket closed.
local function fail(ws, v)
	skynet.error(string.format("websocket %d (%s): %s; closing with %d", ws.id,
		tostring(ws.addr), v.reason, v.code))
	ws.reading = false
	start_close(ws, string.pack(">I2", v.code))
end

---------------------------------------------------------------------------
-- server

local function header_has_token(v, token)
	if type(v) == "table" then
		v = table.concat(v, ",")
	end
	for item in v:gmatch "[^,]+" do
		if item:match "^%s*(.-)%s*$":lower() == token then
			return true
		end
	end
	return false
end

-- Reads and answers the opening handshake.  Returns header, url; or a status code, reason.
local function server_handshake(ws, upgrade)
	local header, method, url, minor
	if upgrade then
		header, method, url = upgrade.header, upgrade.method, upgrade.url
		minor = "1"
	else
		local lines = {}
		local rest, reason, status = internal.recvheader(ws.read, lines, "")
		if not rest then
			return status or 400, reason
		end
		unread(ws, rest)
		local line = lines[1] or ""
		local major
		method, url, major, minor = line:match "^(%S+) (%S+) HTTP/(%d)%.(%d)$"
		if not method then
			return 400, "bad request line"
		end
		if major ~= "1" then
			return 505, "HTTP version " .. major .. "." .. minor
		end
		local err
		header, err = internal.parseheader(lines, 2, {}, true)
		if not header then
			return 400, err
		end
	end
	if method ~= "GET" then
		return 400, "need GET method"
	end
	if minor ~= "1" then
		return 505, "websocket needs HTTP/1.1"
	end
	local up = header.upgrade
	if not up or not header_has_token(up, "websocket") then
		return 426, "Upgrade Required"
	end
	if not header.host then
		return 400, "host Required"
	end
	if not header.connection or not header_has_token(header.connection, "upgrade") then
		return 400, "Connection must Upgrade"
	end
	local key = header["sec-websocket-key"]
	if type(key) ~= "string" then
		return 400, "Sec-WebSocket-Key Required"
	end
	local ok, raw = pcall(crypt.base64decode, key)
	if not ok or #raw ~= 16 then
		return 400, "Sec-WebSocket-Key invalid"
	end
	if header["sec-websocket-version"] ~= "13" then
		return 400, "Sec-WebSocket-Version must 13"
	end
	local chosen = ""
	local offered = header["sec-websocket-protocol"]
	if offered then
		if type(offered) == "table" then
			offered = table.concat(offered, ",")
		end
		local accepted = ws.protocols or { "chat" }
		for name in offered:gmatch "[^%s,]+" do
			for _, want in ipairs(accepted) do
				if name == want then
					chosen = "Sec-WebSocket-Protocol: " .. name .. "\r\n"
					break
				end
			end
			if chosen ~= "" then
				break
			end
		end
		if chosen == "" then
			return 400, "Sec-WebSocket-Protocol need include " .. table.concat(accepted, " or ")
		end
	end
	ws.real_ip = header["x-real-ip"]
	local accept = crypt.base64encode(crypt.sha1(key .. GUID))
	ws.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		.. "Sec-WebSocket-Accept: " .. accept .. "\r\n" .. chosen .. "\r\n")
	return header, url
end

local function serve(ws, options)
	call(ws, "connect")
	local limit = options.handshake_timeout or M.HANDSHAKE_TIMEOUT
	local handshaken = false
	if limit and not options.upgrade then
		skynet.timeout(limit, function()
			if not handshaken and not ws.closed then
				skynet.error(string.format("websocket %d (%s): no handshake in %.1f s, 408",
					ws.id, tostring(ws.addr), limit / 100))
				httpd.write_response(ws.write, 408, nil, { connection = "close" })
				forget(ws)
			end
		end)
	end
	local header, url = server_handshake(ws, options.upgrade)
	handshaken = true
	if type(header) == "number" then
		local code, reason = header, url
		skynet.error(string.format("websocket %d (%s): handshake refused, %d %s", ws.id,
			tostring(ws.addr), code, tostring(reason)))
		httpd.write_response(ws.write, code, reason)
		forget(ws)
		call(ws, "close")
		return
	end
	call(ws, "handshake", header, url)
	while true do
		ws.reading = true
		local what, a, b = receive(ws)
		ws.reading = false
		if what == "close" then
			-- the peer's close: answer it (echoing its code) unless it answers ours, then
			-- close the connection
			if not ws.closing then
				ws.closing = true
				pcall(send, ws, OP_CLOSE, a and string.pack(">I2", a) or nil)
			end
			forget(ws)
			call(ws, "close", a, b)
			return
		elseif ws.closing then
			-- closed by us (websocket.close): frames before the peer's close are dropped
		elseif what == "message" then
			call(ws, "message", a, b)
		elseif what == "ping" then
			send(ws, OP_PONG, a)
			call(ws, "ping", a)
		elseif what == "pong" then
			call(ws, "pong", a)
		end
		if ws.closed then
			call(ws, "close")
			return
		end
	end
end

function M.accept(id, handle, protocol, addr, options)
	options = options or {}
	-- a connection httpd has read the upgrade request of is started already
	local started, why = true, nil
	if not options.upgrade then
		started, why = socket.start(id)
	end
	local ws
	if started then
		started, ws = pcall(new_conn, id, "server", protocol or "ws")
		if not started then
			why = ws
			socket.close(id)
		end
	end
	if not started then
		return false, why
	end
	ws.handle, ws.addr = handle, addr
	ws.max_size = options.max_frame_size or M.MAX_FRAME_SIZE
	ws.protocols = options.protocols
	local on_warning = handle and handle.warning
	if on_warning then
		socket.warning(id, function(_, kbytes)
			on_warning(ws, kbytes)
		end)
	end
	local ok, err = xpcall(serve, function(e)
		if is_violation(e) or e == socket_error then
			return e
		end
		return debug.traceback(tostring(e), 2)
	end, ws, options)
	if ok then
		return true
	end
	if is_violation(err) then
		fail(ws, err)
		call(ws, "error", tostring(err))
		return true
	end
	local closed = ws.closed
	forget(ws)
	if err == socket_error then
		local msg = tostring(err)
		if closed then
			call(ws, "close")
		else
			call(ws, "error", msg)
		end
		return true
	end
	return false, err
end

---------------------------------------------------------------------------
-- client

local function client_handshake(ws, host, uri, header)
	local key = crypt.base64encode(crypt.randomkey() .. crypt.randomkey())
	local fields = {}
	for k, v in pairs(header or {}) do
		fields[k] = v
	end
	for _, kv in ipairs { { "Upgrade", "websocket" }, { "Connection", "Upgrade" },
			{ "Sec-WebSocket-Version", "13" }, { "Sec-WebSocket-Key", key } } do
		assert(fields[kv[1]] == nil, kv[1])
		fields[kv[1]] = kv[2]
	end
	local got = {}
	local code, rest = internal.request(ws, "GET", host, uri, got, fields)
	if code ~= 101 then
		error(string.format("websocket handshake error: code[%s] info:%s", code, rest))
	end
	unread(ws, rest)
	local function need(name, token, message)
		if not (got[name] and header_has_token(got[name], token)) then
			error(message)
		end
	end
	need("upgrade", "websocket", "websocket handshake upgrade must websocket")
	need("connection", "upgrade", "websocket handshake connection must upgrade")
	local accept = got["sec-websocket-accept"]
	if not accept then
		error "websocket handshake need Sec-WebSocket-Accept"
	end
	if accept ~= crypt.base64encode(crypt.sha1(key .. GUID)) then
		error "websocket handshake invalid Sec-WebSocket-Accept"
	end
end

function M.connect(url, header, timeout)
	local protocol, host, uri = url:match "^(wss?)://([^/]+)(.*)$"
	if not protocol then
		error(string.format("invalid protocol: %s", tostring(url:match "^(%a+)://")))
	end
	local addr, port = host:match "^([^:]+):?(%d*)$"
	if not addr then
		addr, port = host:match "^%[(.-)%]:?(%d*)$"
	end
	assert(addr, "invalid websocket host " .. host)
	port = port ~= "" and tonumber(port) or (protocol == "ws" and 80 or 443)
	uri = uri == "" and "/" or uri
	local hostname = not addr:match "^[%d%.]+$" and not addr:find(":", 1, true) and addr or nil
	local id = sockethelper.connect(addr, port, timeout)
	-- TLS (wss) handshakes in new_conn; on any failure the socket is closed before raising
	local ws
	local ok, err = pcall(function()
		ws = new_conn(id, "client", protocol, hostname)
		ws.addr = host
		client_handshake(ws, host, uri, header)
	end)
	if ok then
		return id
	end
	if ws then
		forget(ws)
	else
		socket.close(id)
	end
	error(err, 0)
end

local function must(id)
	local ws = conns[id]
	assert(ws and not ws.closing, "websocket is closed")
	return ws
end

-- Reads the next message (answering pings).  Returns data; or false, close payload, code,
-- reason when the connection is closed (by the peer's close frame, a protocol error or the
-- socket).
function M.read(id)
	local ws = must(id)
	while true do
		ws.reading = true
		local ok, what, a, b = pcall(receive, ws)
		ws.reading = false
		if not ok then
			if is_violation(what) then
				fail(ws, what)
				return false, string.pack(">I2", what.code) .. what.reason, what.code, what.reason
			end
			forget(ws)
			if what == socket_error then
				return false, tostring(what)
			end
			error(what)
		end
		if what == "message" then
			if not ws.closing then
				return a, b
			end
		elseif what == "ping" then
			if not ws.closing then
				send(ws, OP_PONG, a)
			end
		elseif what == "close" then
			if not ws.closing then
				ws.closing = true
				pcall(send, ws, OP_CLOSE, a and string.pack(">I2", a) or nil)
			end
			forget(ws)
			return false, a and (string.pack(">I2", a) .. b) or "", a, b
		end
	end
end

function M.write(id, data, fmt, masking_key)
	local ws = must(id)
	fmt = fmt or "text"
	local op = assert(fmt == "text" and OP_TEXT or fmt == "binary" and OP_BINARY,
		"websocket format must be text or binary")
	send(ws, op, data, masking_key)
end

function M.ping(id, data)
	send(must(id), OP_PING, data)
end

function M.pong(id, data)
	send(must(id), OP_PONG, data)
end

function M.addrinfo(id)
	return must(id).addr
end

function M.real_ip(id)
	return must(id).real_ip
end

function M.close(id, code, reason)
	local ws = conns[id]
	if not ws then
		return
	end
	local payload
	if code then
		payload = string.pack(">I2", code) .. (reason or "")
	end
	local err = start_close(ws, payload)
	if err then
		skynet.error(tostring(err))
	end
end

function M.is_close(id)
	local ws = conns[id]
	return ws == nil or ws.closing == true
end

return M
