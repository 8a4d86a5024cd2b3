-- debug_console: a line console over TCP for looking into a running node.
--
--   skynet.newservice("debug_console", [ip,] port)     (ip defaults to 127.0.0.1)
--
-- Each connection gets a greeting line, then reads commands, one a line (LF or
-- CRLF).  A command's output is its lines followed by "<CMD OK>", or an error
-- text followed by "<CMD Error>".  A table result prints one "key<TAB>value"
-- line per key, sorted; a table value prints as "k:v<TAB>k:v...".
-- A connection whose first line is "GET /cmd/arg..." (or a POST whose body is a
-- command line) runs that one command and is closed: the HTTP form (the answer
-- is the bare text, as upstream's: curl needs --http0.9).
--
-- Beyond upstream's console: a bare "exit" ends the connection; a line over
-- LINE_LIMIT bytes answers an error; %XX escapes in a GET path are decoded;
-- "debug" reports at once when the session ends by itself (the debugged
-- service died), and the next line is a console command again.

local skynet = require "skynet"
local core = require "skynet.core"
local socket = require "skynet.socket"

local params = table.pack(...)
assert(params.n <= 2, "debug_console [ip] port")
local listen_host = params.n == 2 and params[1] or "127.0.0.1"
local listen_port = tonumber(params[params.n])

local DEFAULT_WAIT = 300	-- centiseconds a service has to answer stat/mem/gc
local LINE_LIMIT = 65536	-- longest command line kept; longer ones are refused
local HTTP_LIMIT = 8192		-- longest HTTP header line or body

local function optional(name)
	local ok, mod = pcall(require, name)
	if ok then
		return mod
	end
end

---------------------------------------------------------------------------
-- a connection: a line reader over socket.read plus a writer

local Conn = {}
Conn.__index = Conn

local function new_conn(fd, peer)
	return setmetatable({ fd = fd, peer = peer, pending = "", skipping = false }, Conn)
end

function Conn:send(...)
	local n = select("#", ...)
	local parts = {}
	for i = 1, n do
		parts[i] = tostring((select(i, ...)))
	end
	socket.write(self.fd, table.concat(parts, "\t") .. "\n")
end

-- The next line without its end of line; nil when the peer has gone.
-- A line over LINE_LIMIT comes back as false (its bytes are dropped).
-- `pending` holds what came after the last line; `partial` (and its byte
-- count `held`) the start of a line whose end has not come yet.
function Conn:line()
	local partial, held = {}, 0
	local chunk = self.pending
	self.pending = ""
	while true do
		local stop = chunk:find("\n", 1, true)
		if stop then
			self.pending = chunk:sub(stop + 1)
			local tail = chunk:sub(1, stop - 1)
			if self.skipping or held + #tail > LINE_LIMIT then
				self.skipping = false
				return false
			end
			partial[#partial + 1] = tail
			local text = table.concat(partial)
			if text:byte(-1) == 13 then
				text = text:sub(1, -2)
			end
			return text
		end
		if not self.skipping then
			partial[#partial + 1] = chunk
			held = held + #chunk
			if held > LINE_LIMIT then
				-- no end in sight: drop the bytes up to the next "\n"
				partial, held = {}, 0
				self.skipping = true
			end
		end
		local got = socket.read(self.fd)
		if not got then
			return nil
		end
		chunk = got
	end
end

-- n bytes exactly (nil if the peer goes first)
function Conn:bytes(n)
	while #self.pending < n do
		local got = socket.read(self.fd)
		if not got then
			return nil
		end
		self.pending = self.pending .. got
	end
	local text = self.pending:sub(1, n)
	self.pending = self.pending:sub(n + 1)
	return text
end

---------------------------------------------------------------------------
-- output formatting

local function by_text(a, b)
	return tostring(a) < tostring(b)
end

local function sorted_keys(t)
	local keys = {}
	for k in pairs(t) do
		keys[#keys + 1] = k
	end
	table.sort(keys, by_text)
	return keys
end

local function flat(t)
	local cells = {}
	for _, k in ipairs(sorted_keys(t)) do
		cells[#cells + 1] = tostring(k) .. ":" .. tostring(t[k])
	end
	return table.concat(cells, "\t")
end

local function show(conn, result)
	if type(result) ~= "table" then
		conn:send(tostring(result))
		return
	end
	for _, k in ipairs(sorted_keys(result)) do
		local v = result[k]
		conn:send(k, type(v) == "table" and flat(v) or tostring(v))
	end
end

---------------------------------------------------------------------------
-- argument helpers

-- ":0000000a", "a" (hex, this harbor) or ".name" to a handle
local function target(text)
	assert(type(text) == "string", "Need an address")
	local lead = text:sub(1, 1)
	if lead == "." then
		return assert(skynet.localname(text), "Not a valid name")
	end
	if lead == ":" then
		return assert(tonumber(text:sub(2), 16), "Need an address")
	end
	local n = assert(tonumber(text, 16), "Need an address")
	return n | (skynet.harbor(skynet.self()) << 24)
end

local function wait_limit(text)
	if text == nil then
		return DEFAULT_WAIT
	end
	local n = tonumber(text)
	if n and n > 0 then
		return n
	end
end

local function switch(text)
	return text == "on" or text == "true"
end

local function readable_bytes(n)
	if n == nil or n == 0 then
		return nil
	end
	if n < 1024 then
		return n
	end
	if n < 1048576 then
		return tostring(n / 1024) .. "K"
	end
	return tostring(n / 1048576) .. "M"
end

local function elapsed(now, since)
	if since == nil then
		return nil
	end
	local cs = now - since
	if cs < 6000 then
		return tostring(cs / 100) .. "s"
	end
	local hours = cs // 360000
	local minutes = (cs % 360000) // 6000
	local seconds = (cs % 6000) / 100
	local lead = hours > 0 and (hours .. ":") or ""
	return string.format("%s%d:%.2gs", lead, minutes, seconds)
end

---------------------------------------------------------------------------
-- commands: plain ones get the words after the command; `raw` ones get a
-- request { line = whole line, conn = connection, words... }

local plain = {}
local raw = {}

-- one "name<TAB>description" a line, as upstream's console describes them
local HELP_TEXT = [[
help	This help message
list	List all the service
service	List unique service
stat	Dump all stats
mem	mem : show memory status
gc	gc : force every lua service do garbage collect
cmem	Show C memory info
jmem	Show jemalloc mem stats
netstat	netstat : show netstat
info	info address : get service infomation
task	task address : show service task detail
uniqtask	task address : show service unique task detail
killtask	killtask address threadname : threadname listed by task
ping	ping address
call	call address ...
dbgcmd	run address debug command
start	lanuch a new lua service
log	launch a new lua service with log
snax	lanuch a new snax service
kill	kill address : kill service
exit	exit address : kill a lua service
inject	inject address luascript.lua
debug	debug address : debug a lua service
trace	trace address [proto] [on|off]
logon	logon address
logoff	logoff address
signal	signal address sig
clearcache	clear lua code cache
profactive	profactive [on|off] : active/deactive jemalloc heap profilling
dumpheap	dumpheap : dump heap profilling
getenv	getenv name : skynet.getenv(name)
setenv	setenv name value: skynet.setenv(name,value)
]]

function plain.help()
	local entries = {}
	for name, what in HELP_TEXT:gmatch "(%S+)\t([^\n]*)" do
		entries[name] = what
	end
	return entries
end

function plain.clearcache()
	local cache = optional "skynet.codecache"
	if cache and cache.clear then
		cache.clear()
	end
end

-- "Exit"/"Failed" texts are what upstream's console answers
local function started(addr, name)
	return { [skynet.address(addr)] = name }
end

function plain.start(...)
	local ok, addr = pcall(skynet.newservice, ...)
	if not ok then
		return "Failed"
	end
	if not addr then
		return "Exit"
	end
	return started(addr, ...)
end

function plain.log(...)
	local ok, addr = pcall(skynet.call, ".launcher", "lua", "LOGLAUNCH", "snlua", ...)
	if ok and addr then
		return started(addr, ...)
	end
	return "Failed"
end

function plain.snax(...)
	local snax = optional "skynet.snax"
	if snax == nil then
		return "Failed"
	end
	local ok, obj = pcall(snax.newservice, ...)
	if not ok then
		return "Failed"
	end
	return started(obj.handle, ...)
end

function plain.service()
	return skynet.call("SERVICE", "lua", "LIST")
end

-- commands the launcher answers: console name -> launcher command and how
-- the one argument is read
local LAUNCHER_ASKS = {
	list = { "LIST" },
	stat = { "STAT", wait_limit },
	mem = { "MEM", wait_limit },
	gc = { "GC", wait_limit },
	kill = { "KILL", target },
}

for name, how in pairs(LAUNCHER_ASKS) do
	local verb, convert = how[1], how[2]
	plain[name] = function(arg)
		if convert then
			return skynet.call(".launcher", "lua", verb, convert(arg))
		end
		return skynet.call(".launcher", "lua", verb)
	end
end

-- "exit address" ends a Lua service; a bare "exit" ends this connection
function raw.exit(req)
	if req[2] == nil then
		req.gone = true
		return
	end
	skynet.send(target(req[2]), "debug", "EXIT")
end

local function file_text(name)
	local f = io.open(name, "rb")
	if f then
		local text = f:read "a"
		f:close()
		return text
	end
end

-- inject address file.lua [args...]: run the file inside the service
function plain.inject(address, filename, ...)
	local handle = target(address)
	assert(filename, "inject address luascript.lua")
	local source = file_text(filename)
	if source == nil then
		return "Can't open " .. filename
	end
	local reply = table.pack(skynet.call(handle, "debug", "RUN", source, filename, ...))
	assert(reply[1] ~= false, reply[2])
	return reply[2]
end

function plain.dbgcmd(address, name, ...)
	return skynet.call(target(address), "debug", name, ...)
end

-- shorthands for debug commands: console name -> debug command
local DEBUG_ASKS = { task = "TASK", uniqtask = "UNIQTASK", killtask = "KILLTASK", info = "INFO" }

for name, verb in pairs(DEBUG_ASKS) do
	if verb == "TASK" or verb == "UNIQTASK" then
		plain[name] = function(address)
			return plain.dbgcmd(address, verb)
		end
	else
		plain[name] = function(address, ...)
			return plain.dbgcmd(address, verb, ...)
		end
	end
end

function plain.ping(address)
	local handle = target(address)
	local t0 = skynet.now()
	skynet.call(handle, "debug", "PING")
	return tostring(skynet.now() - t0)
end

function plain.trace(address, protoname, flag)
	local handle = target(address)
	if flag ~= nil then
		flag = switch(flag)
	elseif protoname == "on" or protoname == "off" then
		protoname = switch(protoname)
	end
	skynet.call(handle, "debug", "TRACELOG", protoname, flag)
end

function plain.logon(address)
	core.command("LOGON", skynet.address(target(address)))
end

function plain.logoff(address)
	core.command("LOGOFF", skynet.address(target(address)))
end

function plain.signal(address, sig)
	local name = skynet.address(target(address))
	if sig then
		name = string.format("%s %d", name, assert(tonumber(sig), "signal address sig"))
	end
	core.command("SIGNAL", name)
end

local function memory_module()
	return assert(optional "skynet.memory", "skynet.memory is not available")
end

function plain.cmem()
	local memory = memory_module()
	local out = {}
	for handle, bytes in pairs(memory.info()) do
		out[skynet.address(handle)] = bytes
	end
	out.total = memory.total()
	out.block = memory.block()
	return out
end

function plain.jmem()
	local out = {}
	for k, v in pairs(memory_module().jestat()) do
		out[k] = string.format("%11d  %8.2f Mb", v, v / 1048576)
	end
	return out
end

function plain.dumpheap()
	memory_module().dumpheap()
end

function plain.profactive(flag)
	local memory = memory_module()
	if flag == "on" or flag == "off" then
		memory.profactive(switch(flag))
	elseif flag ~= nil then
		memory.profactive(flag)
	end
	return "heap profilling is " .. (memory.profactive() and "active" or "deactive")
end

function plain.netstat()
	local now = skynet.now()
	local list = socket.netstat()
	for _, s in ipairs(list) do
		s.address = skynet.address(s.address)
		s.read = readable_bytes(s.read)
		s.write = readable_bytes(s.write)
		s.wbuffer = readable_bytes(s.wbuffer)
		s.rtime = elapsed(now, s.rtime)
		s.wtime = elapsed(now, s.wtime)
	end
	return list
end

function plain.getenv(name)
	return { [name] = tostring(skynet.getenv(name)) }
end

function plain.setenv(name, value)
	return skynet.setenv(name, value)
end

-- call address <lua expressions>: the arguments are evaluated as a Lua list
function raw.call(req)
	local handle = target(req[2])
	local list = assert(req.line:match("^%s*%S+%s+%S+%s(.+)$"), "need arguments")
	local producer = assert(load("return " .. list, "debug console", "t", {}), "Invalid arguments")
	local args = table.pack(pcall(producer))
	if not args[1] then
		error(args[2])
	end
	return table.pack(skynet.call(handle, "lua", table.unpack(args, 2, args.n)))
end

-- debug address: the rest of the connection's lines go to the debugger in
-- that service, until "cont".  Returns a line that arrived after the session
-- had ended by itself, to be run as a console command.
function raw.debug(req)
	local handle = target(req[2])
	local conn = req.conn
	local agent = skynet.newservice "debug_agent"
	local finished, ok, err
	local reading = false
	local waiter

	skynet.fork(function()
		local fine, a, b = pcall(skynet.call, agent, "lua", "start", handle, conn.fd)
		finished = true
		if fine then
			ok, err = a, b
		else
			ok, err = false, a
		end
		if reading then
			-- the console is blocked on the peer: report now
			req.report(ok, err)
			req.reported = true
		elseif waiter then
			skynet.wakeup(waiter)
		end
	end)

	local carried
	while not finished do
		reading = true
		local text = conn:line()
		reading = false
		if finished then
			carried = text
			req.gone = text == nil
			break
		end
		if text == nil then
			skynet.send(agent, "lua", "cmd", "cont")
			req.gone = true
			break
		end
		if text then
			skynet.send(agent, "lua", "cmd", text)
			if text == "cont" then
				break
			end
		end
	end
	if not finished then
		waiter = coroutine.running()
		skynet.wait(waiter)
	end
	if not req.reported and not ok then
		error(err)
	end
	return nil, carried
end

---------------------------------------------------------------------------
-- running one command line

local function words_of(text)
	local words = {}
	for w in text:gmatch "%S+" do
		words[#words + 1] = w
	end
	return words
end

-- returns a line to run next (left over by "debug") and whether the peer left
local function run_line(conn, text)
	local words = words_of(text)
	local name = words[1]
	if name == nil then
		return
	end
	local req
	local ok, result, carried
	local fn = plain[name]
	if fn then
		ok, result = pcall(fn, table.unpack(words, 2))
	else
		fn = raw[name]
		if fn == nil then
			-- upstream's console prints an empty error text here
			conn:send("Invalid command, type help for command list")
			conn:send("")
			conn:send("<CMD Error>")
			return
		end
		req = words
		req.line = text
		req.conn = conn
		req.report = function(fine, why)
			if fine then
				conn:send("<CMD OK>")
			else
				conn:send(why)
				conn:send("<CMD Error>")
			end
		end
		ok, result, carried = pcall(fn, req)
	end
	if req and req.reported then
		return carried, req.gone
	end
	if ok then
		if result ~= nil then
			show(conn, result)
		end
		conn:send("<CMD OK>")
	else
		conn:send(tostring(result))
		conn:send("<CMD Error>")
	end
	return carried, req and req.gone
end

---------------------------------------------------------------------------
-- HTTP form

local function unescape(s)
	return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

-- Read the header lines, all of them up to the blank line when there are not
-- too many (so the request is consumed before the answer).  Returns the
-- content length and whether the headers were fine.
local HEADER_LINES = 128
local function http_headers(conn)
	local length, count, fine = 0, 0, true
	while count < 8 * HEADER_LINES do
		local text = conn:line()
		if text == nil then
			return length, false
		end
		if text == "" then
			return length, fine and count <= HEADER_LINES
		end
		count = count + 1
		if text == false then
			fine = false	-- over-long
		else
			local key, value = text:match "^([^:]+):%s*(.-)%s*$"
			if key and key:lower() == "content-length" then
				length = tonumber(value) or 0
			end
		end
	end
	return length, false
end

local function serve_http(conn, request)
	local method, path = request:match "^(%u+)%s+(%S+)"
	local length, complete = http_headers(conn)
	if not complete or path == nil then
		conn:send("Bad HTTP request")
		conn:send("<CMD Error>")
		return
	end
	if method == "GET" then
		path = unescape(path:gsub("%?.*$", ""))
		run_line(conn, (path:sub(2):gsub("/", " ")))
	else
		if length > HTTP_LIMIT then
			conn:send("Request body too large")
			conn:send("<CMD Error>")
			return
		end
		local body = conn:bytes(length)
		if body then
			run_line(conn, (body:gsub("[\r\n]+", " ")))
		end
	end
end

---------------------------------------------------------------------------
-- connections

local function serve(conn)
	conn:send("Welcome to skynet console")
	skynet.error(conn.peer, "connected")
	local ok, err = pcall(function()
		local text = conn:line()
		if text and (text:match "^GET " or text:match "^POST ") then
			return serve_http(conn, text)
		end
		while text ~= nil do
			if text == false then
				conn:send(string.format("Line too long (over %d bytes)", LINE_LIMIT))
				conn:send("<CMD Error>")
				text = conn:line()
			else
				local carried, gone = run_line(conn, text)
				if gone then
					break
				end
				if carried ~= nil then
					text = carried
				else
					text = conn:line()
				end
			end
		end
	end)
	if not ok then
		skynet.error(conn.peer, err)
	end
	skynet.error(conn.peer, "disconnect")
	socket.close(conn.fd)
end

skynet.start(function()
	local listener, host, port = socket.listen(listen_host, listen_port)
	skynet.error("Start debug console at " .. tostring(host) .. ":" .. tostring(port))
	socket.start(listener, function(fd, peer)
		socket.start(fd)
		skynet.fork(serve, new_conn(fd, peer))
	end)
end)
