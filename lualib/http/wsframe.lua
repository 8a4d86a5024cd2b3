-- http.wsframe: the WebSocket frame codec (RFC 6455 section 5), apart from any socket so
-- that it can be read, tested and fuzzed on its own. http.websocket drives it.
--
-- encode(op, data, masking_key) -> the bytes of one final frame (masked with the 32-bit
--   key when one is given).
-- receive(ws) -> "message", data, "text"|"binary" | "ping"|"pong", payload |
--   "close", code, reason. `ws` is the reading state of one connection: ws.read(n) gives n
--   bytes (or raises), ws.mode is "server" or "client" (whose peer must or must not mask),
--   ws.max_size bounds a frame and a reassembled message; fragments in progress are kept
--   in ws between calls, so control frames between fragments come out in order.
-- A frame the RFC forbids raises a violation (is_violation(e), e.code the close code to
-- answer with: 1002 protocol error, 1007 bad UTF-8, 1009 too big; e.reason for the log).

local crypt = require "skynet.crypt"

local M = {}

local OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10
M.OP_TEXT, M.OP_BINARY, M.OP_CLOSE, M.OP_PING, M.OP_PONG = OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG
local opname = { [OP_CONT] = "frame", [OP_TEXT] = "text", [OP_BINARY] = "binary",
	[OP_CLOSE] = "close", [OP_PING] = "ping", [OP_PONG] = "pong" }

local Violation = {}
Violation.__index = Violation
Violation.__tostring = function(v)
	return string.format("websocket protocol error %d: %s", v.code, v.reason)
end

local function violation(code, reason)
	error(setmetatable({ code = code, reason = reason }, Violation), 0)
end

function M.is_violation(e)
	return getmetatable(e) == Violation
end

function M.encode(op, data, masking_key)
	data = data or ""
	local n = #data
	local first = 0x80 | op
	local maskbit = masking_key and 0x80 or 0
	local head
	if n < 126 then
		head = string.pack("BB", first, maskbit | n)
	elseif n < 0x10000 then
		head = string.pack(">BBI2", first, maskbit | 126, n)
	else
		head = string.pack(">BBI8", first, maskbit | 127, n)
	end
	if not masking_key then
		return head .. data
	end
	local key = string.pack(">I4", masking_key)
	return head .. key .. (n > 0 and crypt.xor_str(data, key) or "")
end

local function read_frame(ws)
	local read = ws.read
	local b1, b2 = string.unpack("BB", read(2))
	local fin = b1 & 0x80 ~= 0
	if b1 & 0x70 ~= 0 then
		violation(1002, "reserved bits set without a negotiated extension")
	end
	local op = b1 & 0x0f
	if not opname[op] then
		violation(1002, "reserved opcode " .. op)
	end
	local masked = b2 & 0x80 ~= 0
	local len = b2 & 0x7f
	if op >= 8 then
		if not fin then
			violation(1002, "fragmented control frame")
		end
		if len > 125 then
			violation(1002, "control frame payload over 125 bytes")
		end
	end
	if ws.mode == "server" and not masked then
		violation(1002, "unmasked frame from a client")
	elseif ws.mode == "client" and masked then
		violation(1002, "masked frame from a server")
	end
	if len == 126 then
		len = string.unpack(">I2", read(2))
	elseif len == 127 then
		len = string.unpack(">i8", read(8))
		if len < 0 then
			violation(1002, "64-bit payload length with the high bit set")
		end
	end
	local max = ws.max_size
	if max and len > max then
		violation(1009, string.format("frame of %d bytes over the limit of %d", len, max))
	end
	if not masked then
		return fin, op, len > 0 and read(len) or ""
	end
	if len == 0 then
		read(4)
		return fin, op, ""
	end
	-- the masking key and the payload in one read
	local keyed = read(4 + len)
	return fin, op, crypt.xor_str(keyed:sub(5), keyed:sub(1, 4))
end

-- Close codes a peer may send (RFC 6455 7.4.1 and the IANA registry).
local function valid_close_code(code)
	return (code >= 1000 and code <= 1003) or (code >= 1007 and code <= 1014)
		or (code >= 3000 and code <= 4999)
end

local function parse_close(payload)
	local n = #payload
	if n == 0 then
		return nil, ""
	end
	if n == 1 then
		violation(1002, "close frame with a 1-byte payload")
	end
	local code = string.unpack(">I2", payload)
	local reason = payload:sub(3)
	if not valid_close_code(code) then
		violation(1002, "invalid close code " .. code)
	end
	if not utf8.len(reason) then
		violation(1007, "close reason is not valid UTF-8")
	end
	return code, reason
end

function M.receive(ws)
	while true do
		local fin, op, payload = read_frame(ws)
		if op == OP_CLOSE then
			return "close", parse_close(payload)
		elseif op == OP_PING then
			return "ping", payload
		elseif op == OP_PONG then
			return "pong", payload
		end
		local parts = ws.parts
		if op == OP_CONT then
			if not parts then
				violation(1002, "continuation frame with no message to continue")
			end
			parts[#parts + 1] = payload
			ws.partsize = ws.partsize + #payload
		else
			if parts then
				violation(1002, "new data frame while a fragmented message is open")
			end
			if not fin then
				ws.parts, ws.partop, ws.partsize = { payload }, op, #payload
			end
		end
		local max = ws.max_size
		if ws.parts and max and ws.partsize > max then
			violation(1009, string.format("message over the limit of %d bytes", max))
		end
		if fin then
			if ws.parts then
				payload, op = table.concat(ws.parts), ws.partop
				ws.parts, ws.partop, ws.partsize = nil, nil, nil
			end
			if op == OP_TEXT and not utf8.len(payload) then
				violation(1007, "text message is not valid UTF-8")
			end
			return "message", payload, opname[op]
		end
	end
end

return M
