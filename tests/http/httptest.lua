-- The Lua side of the http suite: starts examples/simpleweb and examples/simplewebsocket (the
-- servers the Python clients test), then runs httpc against our own httpd and our websocket
-- client against Python servers.  Prints "TEST OK <name>" or "TEST FAIL <name>: why" for
-- each, then "LUA TESTS DONE".  Ports come from the config (see run.sh).

local skynet = require "skynet"
local httpc = require "http.httpc"
local websocket = require "http.websocket"
local urllib = require "http.url"
local httpd = require "http.httpd"
local sockethelper = require "http.sockethelper"
local socket = require "skynet.socket"

local function port(key)
	return assert(tonumber(skynet.getenv(key)), key)
end

local results = {}

local function test(name, f)
	local ok, err = xpcall(f, debug.traceback)
	if ok then
		print("TEST OK " .. name)
	else
		print("TEST FAIL " .. name .. ": " .. tostring(err))
	end
	results[#results + 1] = ok
end

local function check(cond, fmt, ...)
	if not cond then
		error(string.format(fmt or "check failed", ...), 2)
	end
end

local function has(s, part)
	check(type(s) == "string" and s:find(part, 1, true), "%q not in %q", part, tostring(s))
end

skynet.start(function()
	skynet.newservice("simpleweb")
	skynet.newservice("simplewebsocket")
	local web = "127.0.0.1:" .. port "http_port"
	local pyecho = string.format("ws://127.0.0.1:%d/echo", port "py_echo_port")

	test("url_parse", function()
		local path, query = urllib.parse("/a%20b/c+d?k1=1&k2=x%26y&k3=3&k3=4&k3=5")
		check(path == "/a b/c d", "path %q", path)
		local q = urllib.parse_query(query)
		check(q.k1 == "1" and q.k2 == "x&y", "fields %s %s", q.k1, q.k2)
		check(type(q.k3) == "table" and #q.k3 == 3 and q.k3[3] == "5", "repeated field")
		local p2, q2 = urllib.parse("/plain")
		check(p2 == "/plain" and q2 == "", "no query")
	end)

	test("httpc_get", function()
		local header = {}
		local code, body = httpc.get(web, "/hello?who=lua", header)
		check(code == 200, "status %s", code)
		has(body, "path: /hello")
		has(body, "query: who= lua")
		check(header["content-type"] == "text/plain", "content-type %s", header["content-type"])
	end)

	test("httpc_get_http_scheme", function()
		local code, body = httpc.get("http://" .. web, "/scheme")
		check(code == 200, "status %s", code)
		has(body, "path: /scheme")
	end)

	test("httpc_post_form", function()
		local code, body = httpc.post(web, "/form", { a = "1 2", b = "x&y" })
		check(code == 200, "status %s", code)
		has(body, "a=1%202")
		has(body, "b=x%26y")
		has(body, "content-type = application/x-www-form-urlencoded")
	end)

	test("httpc_post_string_body", function()
		local data = string.rep("0123456789", 10000)  -- 100,000 bytes
		local code, body = httpc.request("POST", web, "/big", nil, { ["x-test"] = "1" }, data)
		check(code == 200, "status %s", code)
		check(body:sub(-#data) == data, "body not echoed (%d bytes back)", #body)
		has(body, "x-test = 1")
	end)

	test("httpc_post_chunked_body", function()
		local parts = { "alpha,", "beta,", "", "gamma" }
		local i = 0
		local code, body = httpc.request("POST", web, "/chunky", nil, nil, function()
			i = i + 1
			return parts[i]
		end)
		check(code == 200, "status %s", code)
		has(body, "transfer-encoding = chunked")
		check(body:sub(-16) == "alpha,beta,gamma", "body %q", body:sub(-40))
	end)

	test("httpc_chunked_reply", function()
		local header = {}
		local code, body = httpc.get(web, "/chunked?n=4", header)
		check(code == 200, "status %s", code)
		check(header["transfer-encoding"] == "chunked", "not chunked")
		check(body == "chunk 1 of 4\nchunk 2 of 4\nchunk 3 of 4\nchunk 4 of 4\n", "body %q", body)
	end)

	test("httpc_head", function()
		local header = {}
		local code = httpc.head(web, "/", header)
		check(code == 200, "status %s", code)
		check(header["content-type"] == "text/plain", "header")
		local body
		code, body = httpc.request("HEAD", web, "/")
		check(code == 200 and body == "", "request HEAD: %s %q", code, tostring(body))
	end)

	test("httpc_request_stream", function()
		local pieces = {}
		local status
		for piece, stream in httpc.request_stream("GET", web, "/chunked?n=3") do
			status = stream.status
			pieces[#pieces + 1] = piece
		end
		check(status == 200, "status %s", status)
		check(table.concat(pieces) == "chunk 1 of 3\nchunk 2 of 3\nchunk 3 of 3\n", "stream %q",
			table.concat(pieces))
		check(#pieces >= 3, "%d pieces", #pieces)
	end)

	test("httpc_stream_length", function()
		local got = {}
		for piece in httpc.request_stream("GET", web, "/len") do
			got[#got + 1] = piece
		end
		has(table.concat(got), "path: /len")
	end)

	test("httpc_timeout_stalled_server", function()
		httpc.timeout = 50  -- 0.5 s
		local t0 = skynet.now()
		local ok, err = pcall(httpc.get, "127.0.0.1:" .. port "py_stall_port", "/")
		local took = skynet.now() - t0
		httpc.timeout = nil
		check(not ok, "request to a stalled server succeeded")
		check(took >= 40 and took < 400, "gave up after %d/100 s", took)
		has(tostring(err), "timeout")
	end)

	test("httpc_bad_ipv6_rejected", function()
		local ok, err = pcall(httpc.get, "::1", "/")
		check(not ok, "accepted")
		has(tostring(err), "bare IPv6")
	end)

	test("httpc_connect_refused", function()
		-- the stall server's port + nothing: a port nobody listens on is the http one of a
		-- stopped node; use port 1 on loopback
		local ok, err = pcall(httpc.get, "127.0.0.1:1", "/")
		check(not ok, "connected to port 1")
		has(tostring(err), "connect failed")
	end)

	test("ws_client_text_binary", function()
		local id = websocket.connect(pyecho)
		websocket.write(id, "hello python")
		local msg, kind = websocket.read(id)
		check(msg == "hello python" and kind == "text", "got %q %s", tostring(msg), tostring(kind))
		local bin = string.char(0, 1, 2, 255, 254) .. string.rep("\0", 70000)
		websocket.write(id, bin, "binary")
		msg, kind = websocket.read(id)
		check(msg == bin and kind == "binary", "binary echo (%s, %s bytes)", tostring(kind), msg and #msg)
		websocket.close(id, 1000, "done")
		check(websocket.is_close(id), "is_close after close")
	end)

	test("ws_client_fragmented_reply_and_ping", function()
		local id = websocket.connect(pyecho, { ["X-Test"] = "frag" })
		websocket.ping(id, "are you there")
		websocket.write(id, "fragment-me")
		local msg = websocket.read(id)
		check(msg == "frag-a;frag-b;frag-c", "got %q", tostring(msg))
		check(websocket.addrinfo(id) == "127.0.0.1:" .. port "py_echo_port", "addrinfo %s",
			tostring(websocket.addrinfo(id)))
		websocket.close(id)
	end)

	test("ws_client_close_code", function()
		local id = websocket.connect(pyecho)
		websocket.write(id, "close-4001")
		local msg, payload, code, reason = websocket.read(id)
		check(msg == false, "got a message")
		check(code == 4001 and reason == "bye from python", "close %s %s", tostring(code), tostring(reason))
		check(payload == string.pack(">I2", 4001) .. "bye from python", "payload")
		check(websocket.is_close(id), "not closed")
	end)

	test("ws_client_rejects_rsv_frame", function()
		local id = websocket.connect(string.format("ws://127.0.0.1:%d/", port "py_bad_port"))
		local msg, _, code = websocket.read(id)
		check(msg == false and code == 1002, "got %s / %s", tostring(msg), tostring(code))
		check(websocket.is_close(id), "not closed")
	end)

	test("ws_client_rejects_masked_frame", function()
		local id = websocket.connect(string.format("ws://127.0.0.1:%d/masked", port "py_bad_port"))
		local msg, _, code = websocket.read(id)
		check(msg == false and code == 1002, "got %s / %s", tostring(msg), tostring(code))
	end)

	test("ws_accept_after_httpd_upgrade", function()
		-- a server that reads the request with httpd and hands /ws to websocket.accept
		local up_port = port "upgrade_port"
		local lid = assert(socket.listen("127.0.0.1", up_port))
		local handle = {
			message = function(wid, msg, kind)
				websocket.write(wid, "upgraded:" .. msg, kind)
			end,
		}
		socket.start(lid, function(id, addr)
			skynet.fork(function()
				socket.start(id)
				local code, url, method, header = httpd.read_request(sockethelper.readfunc(id), 8192)
				if code == 200 and url == "/ws" then
					websocket.accept(id, handle, "ws", addr,
						{ upgrade = { header = header, method = method, url = url } })
				else
					httpd.write_response(sockethelper.writefunc(id), 404, "no such page")
					socket.close(id)
				end
			end)
		end)
		local id = websocket.connect(string.format("ws://127.0.0.1:%d/ws", up_port))
		websocket.write(id, "over an upgraded request")
		local msg = websocket.read(id)
		check(msg == "upgraded:over an upgraded request", "got %q", tostring(msg))
		websocket.close(id, 1000)
		local code = httpc.get("127.0.0.1:" .. up_port, "/other")
		check(code == 404, "status %s", code)
		socket.close(lid)
	end)

	test("ws_client_handshake_refused", function()
		-- our own httpd is not a websocket server: the 200 must be refused
		local ok, err = pcall(websocket.connect, "ws://" .. web .. "/")
		check(not ok, "connected")
		has(tostring(err), "websocket handshake error")
	end)

	-- TLS: run.sh sets https_port, wss_port and py_wss_port when ltls is built and openssl
	-- could make a certificate
	local https_port, wss_port = tonumber(skynet.getenv "https_port"), tonumber(skynet.getenv "wss_port")
	if https_port and pcall(require, "ltls.c") then
		skynet.newservice("simpleweb", "main", "https", https_port)
		skynet.newservice("simplewebsocket", "main", "wss", wss_port)

		test("https_get_post", function()
			local host = "https://127.0.0.1:" .. https_port
			local code, body = httpc.get(host, "/secure?x=1")
			check(code == 200, "status %s", code)
			has(body, "path: /secure")
			local data = string.rep("tls!", 50000)
			code, body = httpc.request("POST", host, "/big", nil, nil, data)
			check(code == 200 and body:sub(-#data) == data, "post over tls")
		end)

		test("wss_echo_ours", function()
			local id = websocket.connect("wss://127.0.0.1:" .. wss_port .. "/tls")
			websocket.write(id, "over tls")
			local msg = websocket.read(id)
			check(msg == "over tls", "got %q", tostring(msg))
			local big = string.rep("x", 100000)
			websocket.write(id, big, "binary")
			msg = websocket.read(id)
			check(msg == big, "big message over tls")
			websocket.close(id, 1000)
		end)

		test("wss_client_python_server", function()
			local id = websocket.connect("wss://127.0.0.1:" .. port "py_wss_port" .. "/")
			websocket.write(id, "fragment-me")
			local msg = websocket.read(id)
			check(msg == "frag-a;frag-b;frag-c", "got %q", tostring(msg))
			websocket.close(id)
		end)
	else
		print "TEST SKIP tls (no ltls module or no certificate)"
	end

	local failed = 0
	for _, ok in ipairs(results) do
		if not ok then
			failed = failed + 1
		end
	end
	print(string.format("LUA TESTS DONE %d passed, %d failed", #results - failed, failed))
end)
