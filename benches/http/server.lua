-- The server of benches/http.sh, written to the http.* API only so that it runs unchanged on
-- our Lua layer and on upstream's: `server http <port> <agents>` answers every keep-alive
-- request with a short text; `server ws <port> <agents>` echoes WebSocket messages.

local skynet = require "skynet"
local socket = require "skynet.socket"
local driver = require "skynet.socketdriver"

-- bench_nodelay = "1": TCP_NODELAY on each connection (neither stack sets it by default)
local nodelay = skynet.getenv "bench_nodelay" == "1"

local mode, port, agents = ...
if not mode then
	-- started as the config's `start` service: the arguments come from the config
	mode, port, agents = skynet.getenv "bench_mode", skynet.getenv "bench_port", skynet.getenv "bench_agents"
end

if mode == "http-agent" then
	local httpd = require "http.httpd"
	local sockethelper = require "http.sockethelper"
	local reply = { ["content-type"] = "text/plain" }
	skynet.start(function()
		skynet.dispatch("lua", function(_, _, id)
			socket.start(id)
			if nodelay then
				driver.nodelay(id)
			end
			local read, write = sockethelper.readfunc(id), sockethelper.writefunc(id)
			while true do
				local code = httpd.read_request(read, 8192)
				if code ~= 200 or not httpd.write_response(write, 200, "hello, bench\n", reply) then
					break
				end
			end
			socket.close(id)
		end)
	end)
elseif mode == "ws-agent" then
	local websocket = require "http.websocket"
	local handle = {
		message = function(id, msg, kind)
			websocket.write(id, msg, kind)
		end,
	}
	skynet.start(function()
		skynet.dispatch("lua", function(_, _, id, addr)
			if nodelay then
				driver.nodelay(id)
			end
			websocket.accept(id, handle, "ws", addr)
		end)
	end)
else
	skynet.start(function()
		local pool = {}
		for i = 1, tonumber(agents) do
			pool[i] = skynet.newservice(SERVICE_NAME, mode .. "-agent")
		end
		local next_agent = 1
		local listen = assert(socket.listen("127.0.0.1", tonumber(port)))
		socket.start(listen, function(id, addr)
			skynet.send(pool[next_agent], "lua", id, addr)
			next_agent = next_agent % #pool + 1
		end)
		skynet.error("bench server ready " .. mode .. " " .. port)
	end)
end
