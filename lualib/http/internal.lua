-- http.internal: the HTTP/1.1 message parsing shared by httpd, httpc and websocket.
--
-- Every function reads through a `readbytes(sz)` function (see http.sockethelper): sz bytes,
-- or whatever has arrived when sz is nil; it raises on a dead socket.  Parsers that find a
-- malformed message return nil plus a reason (and, where it matters to a server, the status
-- code that fits: 400, 413, 431) instead of raising, so a server can answer and close.

local M = {}

-- Limits for a message head (request or status line plus header lines) and chunk framing.
M.limits = {
	header_size = 8192,  -- bytes of the head, up to and with the empty line
	header_count = 100,  -- header lines (trailer lines count too)
	chunk_line = 1024,   -- bytes of one chunk-size line (with extensions)
}

-- Reads a message head.  `header` is what has been read already (may be "").  Appends each
-- line of the head to `lines` and returns the bytes read past the empty line that ends it.
-- A head beginning with the empty line has no lines (a chunked body without trailers).
-- Returns nil, reason, status when the head is over the limits: 414 when its first line
-- alone is (a request-target too long, RFC 9112 3), 431 otherwise.
function M.recvheader(readbytes, lines, header)
	local limit = M.limits.header_size
	if header:sub(1, 2) == "\r\n" then
		return header:sub(3)
	end
	local stop = header:find("\r\n\r\n", 1, true)
	while not stop do
		if #header > limit then
			break
		end
		local from = #header - 2
		local more = readbytes()
		header = header .. more
		if header:sub(1, 2) == "\r\n" then
			return header:sub(3)
		end
		stop = header:find("\r\n\r\n", from > 0 and from or 1, true)
	end
	if not stop or stop + 3 > limit then
		local first = header:find("\r\n", 1, true)
		if not first or first > limit then
			return nil, "request line too long", 414
		end
		return nil, "header too large", 431
	end
	local count = 0
	local maxcount = M.limits.header_count
	local pos = 1
	while pos <= stop do
		local e = header:find("\r\n", pos, true)
		count = count + 1
		if count > maxcount then
			return nil, "too many header lines", 431
		end
		lines[#lines + 1] = header:sub(pos, e - 1)
		pos = e + 2
	end
	return header:sub(stop + 4)
end

local function add_field(header, name, value)
	local old = header[name]
	if old == nil then
		header[name] = value
	elseif type(old) == "table" then
		old[#old + 1] = value
	else
		header[name] = { old, value }
	end
end

-- Parses lines[from..] as "name: value" fields into `header` (names lowercased; a name seen
-- twice gets a list of values).  Returns header, or nil, reason for a malformed line.
-- Lenient by default (a line starting with a tab continues the previous value); `strict`
-- applies RFC 9112 section 5: the name is a token right before the colon, no line folding,
-- no control characters in the value.
function M.parseheader(lines, from, header, strict)
	local last
	for i = from, #lines do
		local line = lines[i]
		local c = line:byte(1)
		if c == 9 or c == 32 then
			if strict or not last then
				return nil, "obsolete line folding in header"
			end
			local v = header[last]
			local cont = line:match "^[ \t]*(.-)[ \t]*$"
			if type(v) == "table" then
				v[#v] = v[#v] .. " " .. cont
			else
				header[last] = v .. " " .. cont
			end
		else
			local name, value
			if strict then
				name, value = line:match "^([!#$%%&'*+%-.^_`|~%w]+):[ \t]*(.-)[ \t]*$"
				if not name then
					return nil, "malformed header line"
				end
				if value:find "[%z\1-\8\10-\31\127]" then
					return nil, "control character in header value"
				end
			else
				name, value = line:match "^(.-):%s*(.-)%s*$"
				if not name or name == "" then
					return nil, "malformed header line"
				end
			end
			last = name:lower()
			add_field(header, last, value)
		end
	end
	return header
end

-- Reads one chunk-size line from `body` (plus reads); returns size, rest.
local function chunk_size(readbytes, body)
	local limit = M.limits.chunk_line
	local e = body:find("\r\n", 1, true)
	while not e do
		if #body > limit then
			return nil, "chunk size line too long"
		end
		local from = #body
		body = body .. readbytes()
		e = body:find("\r\n", from > 0 and from or 1, true)
	end
	local line = body:sub(1, e - 1)
	local hex, ext = line:match "^(%x+)[ \t]*(.*)$"
	if not hex or #hex > 15 or (ext ~= "" and ext:byte(1) ~= 59) then  -- 59: ';'
		return nil, "bad chunk size line"
	end
	return tonumber(hex, 16), body:sub(e + 2)
end

local function expect_crlf(readbytes, body)
	if #body < 2 then
		body = body .. readbytes(2 - #body)
	end
	if body:sub(1, 2) ~= "\r\n" then
		return nil
	end
	return body:sub(3)
end

-- Reads a chunked body; `body` holds the bytes already read past the head.  Trailer fields go
-- into `header`.  Returns content, header, rest (bytes past the body); or nil, reason, status
-- (413 over bodylimit, 400 bad framing, 431 trailers over the limits).
function M.recvchunkedbody(readbytes, bodylimit, header, body)
	local parts = {}
	local total = 0
	while true do
		local size
		size, body = chunk_size(readbytes, body)
		if not size then
			return nil, body, 400
		end
		if size == 0 then
			break
		end
		total = total + size
		if bodylimit and total > bodylimit then
			return nil, "body too large", 413
		end
		if #body >= size then
			parts[#parts + 1] = body:sub(1, size)
			body = body:sub(size + 1)
		else
			parts[#parts + 1] = body
			parts[#parts + 1] = readbytes(size - #body)
			body = ""
		end
		body = expect_crlf(readbytes, body)
		if not body then
			return nil, "chunk data not followed by CRLF", 400
		end
	end
	local lines = {}
	local rest, reason, status = M.recvheader(readbytes, lines, body)
	if not rest then
		return nil, reason, status
	end
	local ok, err = M.parseheader(lines, 1, header)
	if not ok then
		return nil, err, 400
	end
	return table.concat(parts), header, rest
end

local function header_lines(out, k, v)
	if type(v) == "table" then
		for _, one in ipairs(v) do
			out[#out + 1] = string.format("%s: %s\r\n", k, one)
		end
	else
		out[#out + 1] = string.format("%s: %s\r\n", k, v)
	end
end

-- Sends a request on `interface` (read, write, readall) and reads the response head.
-- `content` is a string (sent with content-length; as is when `header` says
-- transfer-encoding: chunked) or a function giving pieces until nil (sent chunked).
-- Returns status code, the bytes read past the head, the response header (`recvheader` if
-- given, filled in).
-- Sends a chunked body (RFC 9112 7.1): each piece `next_piece()` gives, until nil, then the
-- last chunk.
function M.write_chunks(write, next_piece)
	while true do
		local s = next_piece()
		if not s then
			break
		end
		if s ~= "" then
			write(string.format("%x\r\n", #s) .. s .. "\r\n")
		end
	end
	write("0\r\n\r\n")
end

function M.request(interface, method, host, url, recvheader, header, content)
	local write = interface.write
	local out = { string.format("%s %s HTTP/1.1\r\n", method, url) }
	local chunked, has_length
	if header then
		local has_host
		for k, v in pairs(header) do
			local lk = k:lower()
			if lk == "host" then
				has_host = true
			elseif lk == "transfer-encoding" and tostring(v):lower() == "chunked" then
				chunked = true
			elseif lk == "content-length" then
				has_length = true
			end
			header_lines(out, k, v)
		end
		if not has_host then
			out[#out + 1] = string.format("host: %s\r\n", host)
		end
	else
		out[#out + 1] = string.format("host: %s\r\n", host)
	end
	if type(content) == "function" then
		if not chunked then
			out[#out + 1] = "transfer-encoding: chunked\r\n"
		end
		out[#out + 1] = "\r\n"
		write(table.concat(out))
		M.write_chunks(write, content)
	elseif content then
		if not chunked and not has_length then
			out[#out + 1] = string.format("content-length: %d\r\n", #content)
		end
		out[#out + 1] = "\r\n"
		write(table.concat(out))
		write(content)
	else
		out[#out + 1] = has_length and "\r\n" or "content-length: 0\r\n\r\n"
		write(table.concat(out))
	end

	local lines = {}
	local body = M.recvheader(interface.read, lines, "")
	if not body then
		error "Recv header failed"
	end
	local code = lines[1] and lines[1]:match "^HTTP/%d%.%d%s+(%d%d%d)"
	if not code then
		error("Invalid HTTP response status line: " .. tostring(lines[1]))
	end
	local h = M.parseheader(lines, 2, recvheader or {})
	if not h then
		error "Invalid HTTP response header"
	end
	return tonumber(code), body, h
end

local function content_length(header)
	local v = header["content-length"]
	if v == nil then
		return nil
	end
	if type(v) == "table" then
		for i = 2, #v do
			if v[i] ~= v[1] then
				error "Invalid content-length"
			end
		end
		v = v[1]
	end
	local n = v:match "^%d+$" and tonumber(v)
	if not n then
		error("Invalid content-length: " .. v)
	end
	return n
end

local function transfer_mode(header)
	local mode = header["transfer-encoding"]
	if mode == nil then
		return "identity"
	end
	if type(mode) == "table" then
		mode = table.concat(mode, ",")
	end
	mode = mode:lower()
	if mode ~= "identity" and mode ~= "chunked" then
		error "Unsupport transfer-encoding"
	end
	return mode
end

local function nobody(code)
	return code == 204 or code == 304 or code < 200
end

-- Reads the response body after M.request.  Returns the body.
function M.response(interface, code, body, header)
	if transfer_mode(header) == "chunked" then
		local content = M.recvchunkedbody(interface.read, nil, header, body)
		if not content then
			error "Invalid response body"
		end
		return content
	end
	local length = content_length(header)
	if length then
		if #body >= length then
			return body:sub(1, length)
		end
		return body .. interface.read(length - #body)
	elseif nobody(code) then
		return ""
	end
	return body .. (interface.readall() or "")
end

-- A response body read piece by piece: `for piece, stream in stream_object do ... end`, or
-- stream() / stream:padding() for the next piece (nil at the end).  Fields: status, header,
-- connected.  stream:close() ends it (to-be-closed variables close it too).
local stream = {}
stream.__index = stream

function stream:close()
	local f = self._onclose
	if f then
		self._onclose = nil
		f(self)
	end
	self._reading = nil
end

function stream:padding()
	local f = self._reading
	if not f then
		return nil, self
	end
	return f(self), self
end

stream.__call = stream.padding
stream.__close = stream.close

-- Reads from the interface; nil when the connection is gone.
local function try_read(self, sz)
	local ok, s = pcall(self._interface.read, sz)
	if ok and s then
		return s
	end
	self.connected = false
	return nil
end

local function finish(self, last)
	self._reading = stream.close
	if self.connected then
		self.connected = nil
	end
	return last
end

local function reading_length(length)
	return function(self)
		if length == 0 then
			return finish(self, "")
		end
		local s = self._body
		self._body = nil
		if s == nil or s == "" then
			s = try_read(self)
			if not s then
				self:close()
				return nil
			end
		end
		if #s >= length then
			return finish(self, s:sub(1, length))
		end
		length = length - #s
		return s
	end
end

local function reading_all(self)
	local s = self._body
	self._body = nil
	if s ~= nil and s ~= "" then
		return s
	end
	s = try_read(self)
	if not s or s == "" then
		self.connected = nil
		self:close()
		return nil
	end
	return s
end

local function reading_chunked(self)
	local read = self._interface.read
	local ok, size, rest = pcall(chunk_size, read, self._body or "")
	if not ok or not size then
		self.connected = false
		self:close()
		return nil
	end
	if size == 0 then
		local lines = {}
		local ok2, after = pcall(M.recvheader, read, lines, rest)
		if not ok2 or not after then
			self.connected = false
			self:close()
			return nil
		end
		M.parseheader(lines, 1, self.header)
		return finish(self, "")
	end
	local piece
	if #rest >= size then
		piece, rest = rest:sub(1, size), rest:sub(size + 1)
	else
		local more = try_read(self, size - #rest)
		if not more then
			self:close()
			return nil
		end
		piece, rest = rest .. more, ""
	end
	local ok3, after = pcall(expect_crlf, read, rest)
	if not ok3 or not after then
		self.connected = false
		self:close()
		return nil
	end
	self._body = after
	return piece
end

local function reading_none(self)
	return finish(self, "")
end

-- How the body after a response head is delimited: chunked, a length, none, or the end of
-- the connection.
local function body_reader(code, header)
	if transfer_mode(header) == "chunked" then
		return reading_chunked
	end
	local length = content_length(header)
	if length then
		return reading_length(length)
	end
	return nobody(code) and reading_none or reading_all
end

function M.response_stream(interface, code, body, header)
	local s = setmetatable({ status = code, header = header, connected = true }, stream)
	s._interface, s._body = interface, body
	s._reading = body_reader(code, header)
	return s
end

return M
