-- An HTTP server: `./skynet examples/config.http`, then http://127.0.0.1:8001/.
--
-- The main service listens and hands each connection to one of its agents (round robin);
-- an agent answers every request on it (keep-alive) with what it received: host, path,
-- query fields, header, body.  GET /chunked?n=N answers with N chunks (transfer-encoding:
-- chunked).  A malformed request gets its status (400, 413, 431, 501, 505), a request not
-- complete in time gets 408; the connection is then closed, and only that one.
-- Config keys (all optional): http_port (8001), http_agents (20), http_bodylimit (8192
-- bytes), http_timeout (10 seconds per request), http_protocol ("http"), certfile and
-- keyfile (PEM files for https).

local skynet = require "skynet"
local socket = require "skynet.socket"
local httpd = require "http.httpd"
local sockethelper = require "http.sockethelper"
local urllib = require "http.url"

-- `simpleweb agent <protocol>` is an agent; otherwise `simpleweb [main [<protocol> [<port>]]]`
-- (protocol "http" or "https": that needs the ltls module and the certfile, keyfile keys)
local mode, protocol, port_arg = ...
protocol = protocol or skynet.getenv "http_protocol" or "http"

local function config(key, default)
	local v = skynet.getenv(key)
	return v and tonumber(v) or default
end

if mode == "agent" then

local bodylimit = config("http_bodylimit", 8192)
local timeout = math.floor(config("http_timeout", 10) * 100)

local function response(id, write, ...)
	local ok, err = httpd.write_response(write, ...)
	if not ok then
		-- err == sockethelper.socket_error: the peer has gone
		skynet.error(string.format("fd = %d, %s", id, tostring(err)))
	end
	return ok
end

local tls_server_ctx
local function gen_interface(fd)
	if protocol == "https" then
		local tls = require "http.tlshelper"
		if not tls_server_ctx then
			tls_server_ctx = tls.newctx()
			-- a key and certificate for a test:
			-- openssl req -x509 -newkey rsa:2048 -days 3650 -nodes -keyout server-key.pem -out server-cert.pem
			tls_server_ctx:set_cert(skynet.getenv "certfile" or "./server-cert.pem",
				skynet.getenv "keyfile" or "./server-key.pem")
		end
		return tls.interface(fd, tls.newtls("server", tls_server_ctx), "server")
	end
	assert(protocol == "http", "Invalid protocol: " .. tostring(protocol))
	return { read = sockethelper.readfunc(fd), write = sockethelper.writefunc(fd) }
end

local function describe(url, header, body)
	local out = {}
	if header.host then
		out[#out + 1] = "host: " .. header.host
	end
	local path, query = urllib.parse(url)
	out[#out + 1] = "path: " .. path
	for k, v in pairs(urllib.parse_query(query)) do
		if type(v) == "table" then
			v = table.concat(v, ",")
		end
		out[#out + 1] = string.format("query: %s= %s", k, v)
	end
	out[#out + 1] = "-----header----"
	for k, v in pairs(header) do
		if type(v) == "table" then
			v = table.concat(v, ",")
		end
		out[#out + 1] = string.format("%s = %s", k, v)
	end
	out[#out + 1] = "-----body----\n" .. body
	return path, query, table.concat(out, "\n")
end

local function chunks(n)
	local i = 0
	return function()
		i = i + 1
		if i <= n then
			return string.format("chunk %d of %d\n", i, n)
		end
	end
end

-- Answers the requests of one connection until it closes or breaks a rule.
local function serve(id, addr)
	if not socket.start(id) then
		return
	end
	local interface = gen_interface(id)
	if interface.init then
		interface.init()
	end
	local write = interface.write
	while true do
		local finished, expired = false, false
		skynet.timeout(timeout, function()
			if not finished then
				expired = true
				skynet.error(string.format("fd = %d %s: request not complete in %.1f s, 408",
					id, tostring(addr), timeout / 100))
				response(id, write, 408, nil, { connection = "close" })
				socket.close(id)
			end
		end)
		local code, url, method, header, body, version = httpd.read_request(interface.read, bodylimit)
		finished = true
		if expired then
			break
		end
		if not code then
			if url ~= sockethelper.socket_error then
				skynet.error(string.format("fd = %d %s: %s", id, tostring(addr), tostring(url)))
			end
			break
		end
		if code ~= 200 then
			skynet.error(string.format("fd = %d %s: bad request, %d %s", id, tostring(addr), code,
				tostring(url)))
			response(id, write, code, nil, { connection = "close" })
			break
		end
		local keep = httpd.keepalive(header, version)
		local reply = { ["content-type"] = "text/plain" }
		if not keep then
			reply.connection = "close"
		end
		local path, query, text = describe(url, header, body)
		local ok
		if path == "/chunked" then
			local n = tonumber(urllib.parse_query(query).n) or 3
			ok = response(id, write, 200, chunks(n), reply)
		elseif method == "HEAD" then
			ok = response(id, write, 200, nil, reply)
		else
			ok = response(id, write, 200, text, reply)
		end
		if not ok or not keep then
			break
		end
	end
	socket.close(id)
	if interface.close then
		interface.close()
	end
end

skynet.start(function()
	skynet.dispatch("lua", function(_, _, id, addr)
		serve(id, addr)
	end)
end)

else

skynet.start(function()
	local agents = {}
	for i = 1, config("http_agents", 20) do
		agents[i] = skynet.newservice(SERVICE_NAME, "agent", protocol)
	end
	local balance = 1
	local port = tonumber(port_arg) or config("http_port", 8001)
	local id = assert(socket.listen("0.0.0.0", port))
	skynet.error(string.format("Listen web port %d protocol:%s", port, protocol))
	socket.start(id, function(fd, addr)
		skynet.send(agents[balance], "lua", fd, addr)
		balance = balance % #agents + 1
	end)
end)

end
