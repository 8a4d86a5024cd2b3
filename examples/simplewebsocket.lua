-- A WebSocket echo server: `./skynet examples/config.websocket`, then ws://127.0.0.1:9948/.
--
-- The main service listens and hands each connection to one of its agents; an agent runs
-- websocket.accept, which echoes every message back with its type (text or binary).  A
-- demo client in the same node sends "hello world!" and a ping every second (set
-- ws_demo_client = "false" to leave it out).
-- Config keys (all optional): ws_port (9948), ws_agents (20), ws_max_frame_size (bytes,
-- default 256 KiB: a bigger frame or message is closed with 1009), ws_demo_client,
-- ws_handshake_timeout (10 seconds: then 408 and close), ws_protocol ("ws"), certfile and
-- keyfile (PEM files for wss).

local skynet = require "skynet"
local socket = require "skynet.socket"
local service = require "skynet.service"
local websocket = require "http.websocket"

-- `simplewebsocket agent` is an agent; otherwise `simplewebsocket [main [<protocol> [<port>]]]`
-- (protocol "ws" or "wss": that needs the ltls module and the certfile, keyfile keys)
local MODE, PROTOCOL, PORT = ...

local function config(key, default)
	local v = skynet.getenv(key)
	return v and tonumber(v) or default
end

if MODE == "agent" then

local handle = {}

function handle.connect(id)
	print("ws connect from: " .. tostring(id))
end

function handle.handshake(id, header, url)
	print("ws handshake from: " .. tostring(id), "url", url, "addr:", websocket.addrinfo(id))
end

function handle.message(id, msg, msg_type)
	if msg == "close-me" then
		-- lets a client see a close the server starts
		websocket.close(id, 4000, "asked to close")
		return
	end
	websocket.write(id, msg, msg_type)
end

function handle.ping(id)
	print("ws ping from: " .. tostring(id))
end

function handle.pong(id)
	print("ws pong from: " .. tostring(id))
end

function handle.close(id, code, reason)
	print("ws close from: " .. tostring(id), code, reason)
end

function handle.error(id, err)
	print("ws error from: " .. tostring(id), err)
end

local handshake_seconds = config("ws_handshake_timeout", nil)
local options = {
	max_frame_size = config("ws_max_frame_size", nil),
	handshake_timeout = handshake_seconds and math.floor(handshake_seconds * 100),
}

skynet.start(function()
	skynet.dispatch("lua", function(_, _, id, protocol, addr)
		local ok, err = websocket.accept(id, handle, protocol, addr, options)
		if not ok then
			print(err)
		end
	end)
end)

else

-- The demo client: a message and a ping a second, until the server closes.
local function echo_client(protocol, port)
	local skynet = require "skynet"
	local websocket = require "http.websocket"
	local ws = websocket.connect(string.format("%s://127.0.0.1:%d/test_websocket", protocol, port))
	local n = 0
	repeat
		n = n + 1
		local text = "hello world! #" .. n
		print(">: " .. text)
		websocket.write(ws, text)
		local answer, why = websocket.read(ws)
		if answer then
			print("<: " .. answer)
			websocket.ping(ws)
			skynet.sleep(100)
		else
			print("echo server closed: " .. tostring(why))
		end
	until not answer
end

skynet.start(function()
	local agents = {}
	for i = 1, config("ws_agents", 20) do
		agents[i] = skynet.newservice(SERVICE_NAME, "agent")
	end
	local balance = 1
	local protocol = PROTOCOL or skynet.getenv "ws_protocol" or "ws"
	local port = tonumber(PORT) or config("ws_port", 9948)
	local id = assert(socket.listen("0.0.0.0", port))
	skynet.error(string.format("Listen websocket port %d protocol:%s", port, protocol))
	socket.start(id, function(fd, addr)
		skynet.send(agents[balance], "lua", fd, protocol, addr)
		balance = balance % #agents + 1
	end)
	if skynet.getenv "ws_demo_client" ~= "false" then
		service.new("websocket_echo_client", echo_client, protocol, port)
	end
end)

end
