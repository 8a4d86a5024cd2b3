-- http.httpd: reading an HTTP/1.1 request and writing a response (server side).
--
-- read_request(readbytes, bodylimit) -> code, url, method, header, body, version
--   code 200: a well-formed request (version: "1.0" or "1.1"); any other code is the status to answer with, then close
--   the connection (the second result is then the reason, for a log line).  nil, err when
--   the socket failed (err == sockethelper.socket_error for a dead peer).
-- write_response(writefunc, code, body, header) -> true, or false, err
--   body: a string (sent with content-length), a function giving pieces until nil (sent
--   chunked), or nil (no body).

local internal = require "http.internal"
local sockethelper = require "http.sockethelper"

local httpd = {}

local reasons = {
	[100] = "Continue", [101] = "Switching Protocols",
	[200] = "OK", [201] = "Created", [202] = "Accepted", [203] = "Non-Authoritative Information",
	[204] = "No Content", [205] = "Reset Content", [206] = "Partial Content",
	[300] = "Multiple Choices", [301] = "Moved Permanently", [302] = "Found",
	[303] = "See Other", [304] = "Not Modified", [305] = "Use Proxy",
	[307] = "Temporary Redirect", [308] = "Permanent Redirect",
	[400] = "Bad Request", [401] = "Unauthorized", [402] = "Payment Required",
	[403] = "Forbidden", [404] = "Not Found", [405] = "Method Not Allowed",
	[406] = "Not Acceptable", [407] = "Proxy Authentication Required",
	[408] = "Request Time-out", [409] = "Conflict", [410] = "Gone",
	[411] = "Length Required", [412] = "Precondition Failed",
	[413] = "Request Entity Too Large", [414] = "Request-URI Too Large",
	[415] = "Unsupported Media Type", [416] = "Requested range not satisfiable",
	[417] = "Expectation Failed", [426] = "Upgrade Required",
	[431] = "Request Header Fields Too Large",
	[500] = "Internal Server Error", [501] = "Not Implemented", [502] = "Bad Gateway",
	[503] = "Service Unavailable", [504] = "Gateway Time-out",
	[505] = "HTTP Version not supported",
}
httpd.status_message = reasons

-- The length a request's content-length fields give, or nil, reason.  Repeated fields (or
-- a comma list) must all carry the same decimal number (RFC 9110 8.6, RFC 9112 6.3).
local function request_length(v)
	local values = type(v) == "table" and v or { v }
	local n
	for _, one in ipairs(values) do
		for item in (one .. ","):gmatch "[ \t]*([^,]-)[ \t]*," do
			if not item:match "^%d+$" or #item > 15 then
				return nil, "invalid content-length: " .. one
			end
			local x = tonumber(item)
			if n and x ~= n then
				return nil, "conflicting content-length fields"
			end
			n = x
		end
	end
	if not n then
		return nil, "empty content-length"
	end
	return n
end

-- The first bytes of a request, past empty lines before it (RFC 9112 2.2: a server
-- ignores at least one; an old client may send a CRLF after a body), at most 8 of them.
local function request_start(readbytes)
	local s = readbytes()
	for _ = 1, 8 do
		while #s < 2 do
			s = s .. readbytes()
		end
		if s:sub(1, 2) ~= "\r\n" then
			break
		end
		s = s:sub(3)
	end
	return s
end

local function read(readbytes, bodylimit)
	local lines = {}
	local rest, reason, status = internal.recvheader(readbytes, lines, request_start(readbytes))
	if not rest then
		return status or 400, reason
	end
	local line = lines[1]
	if not line then
		return 400, "empty request"
	end
	local method, url, major, minor = line:match "^([!#$%%&'*+%-.^_`|~%w]+) (%S+) HTTP/(%d)%.(%d)$"
	if not method then
		return 400, "bad request line"
	end
	if major ~= "1" or (minor ~= "0" and minor ~= "1") then
		return 505, "HTTP version " .. major .. "." .. minor
	end
	local header, err = internal.parseheader(lines, 2, {}, true)
	if not header then
		return 400, err
	end
	local host = header.host
	if type(host) == "table" then
		return 400, "more than one host field"
	elseif minor == "1" and not host then
		return 400, "HTTP/1.1 request without host"
	end

	local te, cl = header["transfer-encoding"], header["content-length"]
	local body
	if te then
		if cl then
			return 400, "both transfer-encoding and content-length"
		end
		if type(te) == "table" then
			te = table.concat(te, ",")
		end
		te = te:lower():gsub("[ \t]", "")
		if te == "chunked" then
			body, reason, status = internal.recvchunkedbody(readbytes, bodylimit, header, rest)
			if not body then
				return status or 400, reason
			end
			rest = status  -- the third result of a success: bytes past the body
		elseif te == "identity" then
			body = ""
		elseif te:find("chunked", 1, true) then
			return 400, "transfer-encoding chunked is not the final coding"
		else
			return 501, "unsupported transfer-encoding: " .. te
		end
	elseif cl then
		local length, why = request_length(cl)
		if not length then
			return 400, why
		end
		if bodylimit and length > bodylimit then
			return 413, "body of " .. length .. " bytes over the limit of " .. bodylimit
		end
		if #rest >= length then
			body, rest = rest:sub(1, length), rest:sub(length + 1)
		else
			body, rest = rest .. readbytes(length - #rest), ""
		end
	else
		body = ""
	end
	if rest and rest ~= "" then
		sockethelper.unread(readbytes, rest)
	end
	return 200, url, method, header, body, major .. "." .. minor
end

function httpd.read_request(readbytes, bodylimit)
	local ok, code, url, method, header, body, version = pcall(read, readbytes, bodylimit)
	if ok then
		return code, url, method, header, body, version
	end
	return nil, code
end

-- Whether the connection stays open after this request (RFC 9112 9.3): HTTP/1.1 unless
-- "connection: close", HTTP/1.0 only with "connection: keep-alive".  `version` defaults to
-- 1.1.
function httpd.keepalive(header, version)
	local c = header and header.connection
	if type(c) == "table" then
		c = table.concat(c, ",")
	end
	c = c and c:lower() or ""
	if version == "1.0" or version == 1.0 then
		return c:find("keep-alive", 1, true) ~= nil
	end
	return not c:find("close", 1, true)
end

local function write(writefunc, code, body, header)
	local out = { string.format("HTTP/1.1 %03d %s\r\n", code, reasons[code] or "") }
	if header then
		for k, v in pairs(header) do
			if type(v) == "table" then
				for _, one in ipairs(v) do
					out[#out + 1] = string.format("%s: %s\r\n", k, one)
				end
			else
				out[#out + 1] = string.format("%s: %s\r\n", k, v)
			end
		end
	end
	local t = type(body)
	if t == "string" then
		out[#out + 1] = string.format("content-length: %d\r\n\r\n", #body)
		out[#out + 1] = body
		writefunc(table.concat(out))
	elseif t == "function" then
		out[#out + 1] = "transfer-encoding: chunked\r\n\r\n"
		writefunc(table.concat(out))
		internal.write_chunks(writefunc, body)
	elseif t == "nil" then
		if code >= 200 and code ~= 204 and code ~= 304 then
			out[#out + 1] = "content-length: 0\r\n"
		end
		out[#out + 1] = "\r\n"
		writefunc(table.concat(out))
	else
		error("http body must be a string, a function or nil, not " .. t)
	end
end

function httpd.write_response(...)
	return pcall(write, ...)
end

return httpd
