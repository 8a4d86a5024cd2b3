-- http.httpc: an HTTP/1.1 client, one connection per request.
--
-- httpc.request(method, host, url, recvheader, header, content) -> status, body
--   host: "name", "name:port", "1.2.3.4", "[::1]:8080", with an optional "http://" or
--   "https://" (https needs the ltls module).  recvheader: a table the response header is
--   written into.  content: a string, or a function giving pieces until nil (sent chunked).
-- httpc.get(host, url, recvheader, header, content), httpc.post(host, url, form, recvheader),
-- httpc.head(host, url, recvheader, header, content) -> status,
-- httpc.request_stream(...) -> a stream (see http.internal), httpc.dns(server, port).
-- httpc.timeout (in 1/100 s, nil for none) bounds connect plus the whole exchange.

local skynet = require "skynet"
local sockethelper = require "http.sockethelper"
local internal = require "http.internal"

local httpc = {}

local dns  -- skynet.dns, loaded when httpc.dns is called
local use_dns

function httpc.dns(server, port)
	dns = require "skynet.dns"
	dns.server(server, port)
	use_dns = true
end

local default_port = { http = 80, https = 443 }

local function ipv4(s)
	return s:match "^%d+%.%d+%.%d+%.%d+$" ~= nil
end

-- Returns address, port (or nil), kind ("ipv4", "ipv6", "hostname").
local function split_host(s)
	local first = s:find(":", 1, true)
	if not first then
		return s, nil, ipv4(s) and "ipv4" or "hostname"
	end
	if s:find(":", first + 1, true) then
		local addr, port = s:match "^%[(.-)%]:?(%d*)$"
		if not addr then
			error(string.format("Invalid host: bare IPv6 address '%s', use '[%s]' instead", s, s))
		end
		return addr, tonumber(port), "ipv6"
	end
	local h, port = s:match "^(.-):(%d+)$"
	if h then
		return h, tonumber(port), ipv4(h) and "ipv4" or "hostname"
	end
	return s, nil, "hostname"
end

local function parse_target(host)
	local protocol, rest = host:match "^(%a+)://(.*)$"
	if protocol then
		protocol = protocol:lower()
	else
		protocol, rest = "http", host
	end
	local addr, port, kind = split_host(rest)
	port = port or default_port[protocol]
	if not port then
		error("Invalid protocol: " .. protocol)
	end
	return protocol, addr, port, kind, rest
end

local tls_client_ctx

-- What a scheme reads and writes a connection with: read, write, readall, and for TLS the
-- init (handshake) and close steps.
local transports = {}

function transports.http(fd)
	local t = { read = sockethelper.readfunc(fd), write = sockethelper.writefunc(fd) }
	function t.readall()
		return sockethelper.readall(fd)
	end
	return t
end

function transports.https(fd, hostname)
	local tls = require "http.tlshelper"
	tls_client_ctx = tls_client_ctx or tls.newctx()
	return tls.interface(fd, tls.newtls("client", tls_client_ctx, hostname), "client")
end

local function make_interface(protocol, fd, hostname)
	local make = transports[protocol]
	if not make then
		error("Invalid protocol: " .. protocol)
	end
	return make(fd, hostname)
end

local function open(host, timeout)
	local protocol, addr, port, kind, hostheader = parse_target(host)
	local target = addr
	if kind == "hostname" and use_dns then
		local ip, msg = dns.resolve(addr)
		if not ip then
			error(string.format("%s dns resolve failed msg:%s", addr, msg))
		end
		target = ip
	end
	local fd = sockethelper.connect(target, port, timeout)
	local hostname = kind == "hostname" and addr or nil
	local interface = make_interface(protocol, fd, hostname)
	if timeout then
		-- Past the deadline the socket is shut down: a blocked read fails at once.
		skynet.timeout(timeout, function()
			if not interface.finish then
				interface.timedout = true
				sockethelper.shutdown(fd)
			end
		end)
	end
	local handshake = interface.init
	if handshake then
		handshake(hostname)
	end
	return fd, interface, hostheader
end

-- The exchange is over: the deadline no longer applies; socket and TLS state are freed.
local function done(interface, fd)
	interface.finish = true
	sockethelper.close(fd)
	local free = interface.close
	interface.close = nil
	return free and free()
end

local function failure(interface, err)
	if interface.timedout then
		return "http request timeout: " .. tostring(err)
	end
	return err
end

function httpc.request(method, host, url, recvheader, header, content)
	local fd, interface, hostheader = open(host, httpc.timeout)
	local ok, code, body, h = pcall(internal.request, interface, method, hostheader, url,
		recvheader, header, content)
	if ok and method:upper() == "HEAD" then
		body = ""  -- a reply to HEAD has no body, whatever its header says
	elseif ok then
		ok, body = pcall(internal.response, interface, code, body, h)
	else
		body = code
	end
	done(interface, fd)
	if ok then
		return code, body
	end
	error(failure(interface, body))
end

function httpc.head(host, url, recvheader, header, content)
	local fd, interface, hostheader = open(host, httpc.timeout)
	local ok, code = pcall(internal.request, interface, "HEAD", hostheader, url, recvheader,
		header, content)
	done(interface, fd)
	if ok then
		return code
	end
	error(failure(interface, code))
end

function httpc.request_stream(method, host, url, recvheader, header, content)
	local fd, interface, hostheader = open(host, httpc.timeout)
	local ok, code, body, h = pcall(internal.request, interface, method, hostheader, url,
		recvheader, header, content)
	-- The timeout covers connect and the response head; the body is read at the caller's pace.
	interface.finish = true
	if not ok then
		done(interface, fd)
		error(failure(interface, code))
	end
	local ok2, s = pcall(internal.response_stream, interface, code, body, h)
	if not ok2 then
		done(interface, fd)
		error(s)
	end
	s._onclose = function()
		done(interface, fd)
	end
	return s
end

function httpc.get(...)
	return httpc.request("GET", ...)
end

local function escape(s)
	return (tostring(s):gsub("[^%w_]", function(c)
		return string.format("%%%02X", c:byte())
	end))
end

function httpc.post(host, url, form, recvheader)
	local fields = {}
	for k, v in pairs(form) do
		fields[#fields + 1] = escape(k) .. "=" .. escape(v)
	end
	local header = { ["content-type"] = "application/x-www-form-urlencoded" }
	return httpc.request("POST", host, url, recvheader, header, table.concat(fields, "&"))
end

return httpc
