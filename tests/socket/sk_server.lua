-- Test servers on loopback, one listening port per behaviour; run.py drives them
-- with real Python clients.  Prints "PORTS name=port ..." once all listen.
local skynet = require "skynet"
require "skynet.manager"
local socket = require "skynet.socket"

local function log(...)
	skynet.error(...)
end

-- echo everything back until the peer closes
local function echo(id)
	while true do
		local data = socket.read(id)
		if not data then
			break
		end
		socket.write(id, data)
	end
	socket.close(id)
end

-- lines ended by "\r\n--": answer "<length>:<line>\n"; "quit" closes
local function lines(id)
	while true do
		local line, rest = socket.readline(id, "\r\n--")
		if not line then
			log("LINE closed rest=" .. #(rest or ""))
			break
		end
		if line == "quit" then
			break
		end
		socket.write(id, #line .. ":" .. line .. "\n")
	end
	socket.close(id)
end

-- frames: 4-byte big-endian length then the body; the body comes back with
-- a 4-byte length in front, and socket.lwrite is used for every other frame
local function frames(id)
	local n = 0
	while true do
		local head = socket.read(id, 4)
		if not head then
			break
		end
		local size = socket.header(head)
		local body, rest = socket.read(id, size)
		if not body then
			log("FRAME short body rest=" .. #rest)
			break
		end
		n = n + 1
		local out = string.pack(">I4", #body) .. body
		if n % 2 == 0 then
			socket.lwrite(id, out)
		else
			socket.write(id, { string.pack(">I4", #body), body })
		end
	end
	socket.close(id)
end

-- read until the peer stops writing, then answer the length and the bytes
local function whole(id)
	local all = socket.readall(id)
	socket.write(id, string.pack(">I4", #all) .. all)
	socket.close(id)
end

-- pause at once; resume when the control connection says so
local paused = {}
local to_close = {}	-- connections of the "closer" port, closed by the control port
local function held(id)
	socket.pause(id)
	paused[#paused + 1] = id
	log("HELD " .. id)
	local task = coroutine.running()
	paused.waiter = task
	skynet.wait(task)
	local total = 0
	while true do
		local data = socket.read(id)
		if not data then
			break
		end
		total = total + #data
	end
	log("HELD total=" .. total)
	socket.close(id)
end

local function control(id)
	while true do
		local cmd = socket.readline(id)
		if not cmd then
			break
		end
		if cmd == "resume" then
			skynet.wakeup(paused.waiter)
			socket.write(id, "ok\n")
		elseif cmd == "close" then
			local cid = table.remove(to_close, 1)
			socket.close(cid)
			log("CLOSER closed invalid=" .. tostring(socket.invalid(cid)))
			socket.write(id, "closed\n")
		elseif cmd == "netstat" then
			local n = 0
			for _, s in ipairs(socket.netstat()) do
				if s.type == "TCP" or s.type == "LISTEN" then
					n = n + 1
				end
			end
			socket.write(id, "netstat " .. n .. "\n")
		elseif cmd == "exit" then
			socket.write(id, "bye\n")
			socket.close(id)
			skynet.abort()
			return
		end
	end
	socket.close(id)
end

-- wait for 1,000,000 bytes; the peer resets before that
local function big(id)
	assert(socket.read(id, 100))
	socket.write(id, "go\n")
	local data, rest = socket.read(id, 1000000)
	log(string.format("RESET read=%s rest=%d disconnected=%s", tostring(data), #rest, tostring(socket.disconnected(id))))
	local more, left = socket.read(id, 10)
	log(string.format("RESET again=%s left=%q", tostring(more), left))
	socket.close(id)
	log("RESET invalid=" .. tostring(socket.invalid(id)))
end

-- read n bytes, n given by the first line
local function exact(id)
	local n = tonumber(socket.readline(id))
	local data = socket.read(id, n)
	socket.write(id, string.format("%d %d\n", #data, (data:byte(-1))))
	local rest = socket.read(id)
	log("EXACT done " .. tostring(rest))
	socket.close(id)
end

-- buffer limit: socket.limit 1000, peer sends more without us reading
local function limited(id)
	socket.limit(id, 1000)
	socket.onclose(id, function(cid)
		log("LIMIT onclose " .. cid)
	end)
	local ok = socket.block(id)	-- wakes for the first data
	log("LIMIT block=" .. tostring(ok))
	-- now nobody reads: the next packets pile up past the limit
	socket.readall(id)
	log("LIMIT closed")
	socket.close(id)
end

-- a big write to a client that does not read: the WARNING event reaches our callback
local function flood(id)
	socket.warning(id, function(wid, kbytes)
		log(string.format("FLOOD warning id=%s kbytes=%d", tostring(wid == id), kbytes))
	end)
	local chunk = string.rep("f", 65536)
	for _ = 1, 128 do
		socket.write(id, chunk)
	end
	log("FLOOD written")
	local ack = socket.readline(id)
	log("FLOOD ack=" .. tostring(ack))
	socket.close(id)
end

-- read a line, then abandon the socket to a new service that starts it
local function handoff(id)
	local first = socket.readline(id)
	socket.abandon(id)
	log("HANDOFF first=" .. tostring(first) .. " invalid=" .. tostring(socket.invalid(id)))
	skynet.newservice("sk_agent", id)
end

-- close (from the control connection's task) while this task is blocked reading:
-- the reader gets false, close returns after it
local function closer(id)
	to_close[#to_close + 1] = id
	log("CLOSER reading")
	local data, rest = socket.read(id)
	log(string.format("CLOSER reader=%s rest=%q", tostring(data), tostring(rest)))
end

-- socket.shutdown: the connection ends now; a read then returns false
local function shut(id)
	local line = socket.readline(id)
	socket.shutdown(id)
	local data = socket.read(id)
	log("SHUT line=" .. tostring(line) .. " read=" .. tostring(data) .. " invalid=" .. tostring(socket.invalid(id)))
	socket.close(id)
	log("SHUT closed invalid=" .. tostring(socket.invalid(id)))
end

local handlers = {
	shut = shut,
	flood = flood, handoff = handoff, closer = closer,
	echo = echo, line = lines, frame = frames, all = whole, hold = held,
	ctl = control, reset = big, exact = exact, limit = limited,
}

skynet.start(function()
	local ports = {}
	for _, name in ipairs { "echo", "line", "frame", "all", "hold", "ctl", "reset", "exact", "limit", "agent",
			"flood", "handoff", "closer", "shut", "reject", "wrapped" } do
		local handler = handlers[name]
		local lid, addr, port = socket.listen("127.0.0.1", 0)
		assert(addr == "127.0.0.1", addr)
		socket.start(lid, function(id, from)
			if name == "reject" then
				-- never started here: closed by its bare id
				socket.close_fd(id)
				log("REJECT " .. from)
				return
			end
			if name == "agent" or name == "wrapped" then
				-- hand the connection to a new service, which starts it
				skynet.newservice("sk_agent", id, name)
				return
			end
			skynet.fork(function()
				local ok = socket.start(id)
				if not ok then
					log("start failed " .. id)
					return
				end
				handler(id)
			end)
		end)
		ports[#ports + 1] = name .. "=" .. port
	end
	log("PORTS " .. table.concat(ports, " "))
end)
