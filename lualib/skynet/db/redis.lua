-- skynet.db.redis: a Redis client over skynet.socketchannel (RESP2, requests pipelined in
-- order on one connection).
--
--   local db = redis.connect { host = "127.0.0.1", port = 6379, db = 0, auth = "pw",
--                              username = "user" (optional), overload = function(on) end }
--   db:set("k", "v"); db:get "k"; db:hmset { "h", "f1", "v1" }   -- any command, by name
--   db:pipeline({ {"set", "a", 1}, {"get", "a"} }, resp)           -- one round trip
--   local w = redis.watch(conf); w:subscribe "ch"; local data, channel = w:message()
--
-- An error reply is raised as a Lua error whose message is the server's text.

local socketchannel = require "skynet.socketchannel"

local tostring = tostring
local tonumber = tonumber
local type = type
local select = select
local string = string
local tconcat = table.concat
local sbyte = string.byte

local redis = {}

---------------------------------------------------------------------------------------------
-- encoding: every request is an array of bulk strings

-- A request is built as a list of strings; every FOLD pieces are joined into one, so that a
-- command with a million arguments does not hold a list of millions of small strings.
local FOLD = 1024

local function new_out()
	return { parts = {}, open = 0 }	-- open: pieces at the end not yet joined
end

local function push(out, piece)
	local parts = out.parts
	parts[#parts + 1] = piece
	local open = out.open + 1
	if open >= FOLD then
		local first = #parts - open + 1
		parts[first] = tconcat(parts, "", first)
		for i = #parts, first + 1, -1 do
			parts[i] = nil
		end
		open = 0
	end
	out.open = open
end

-- Appends the bulk string of v (the index-th argument) to out.
local function put_bulk(out, v, index)
	if v == nil then
		error(string.format("redis: argument #%d is nil", index), 4)
	end
	local s = tostring(v)
	if #s <= 64 then
		push(out, "$" .. #s .. "\r\n" .. s .. "\r\n")
	else
		push(out, "$" .. #s .. "\r\n")
		push(out, s)
		push(out, "\r\n")
	end
end

local counts = {}	-- "*<n>\r\n" of small n
for i = 1, 64 do
	counts[i] = "*" .. i .. "\r\n"
end

local function bulk_of(v, index)
	if v == nil then
		error(string.format("redis: argument #%d is nil", index), 4)
	end
	local s = tostring(v)
	return "$" .. #s .. "\r\n" .. s .. "\r\n"
end

-- A short command is joined into one string here (no coroutine switch while it is built).
local SHORT = 16
local scratch = {}

-- One command: name followed by n arguments taken from args[1..n]; returns a string (a short
-- command) or a list of pieces.
local function encode(name, args, n, out)
	if out == nil and n <= SHORT then
		scratch[1] = counts[n + 1]
		scratch[2] = bulk_of(name, 0)
		for i = 1, n do
			scratch[i + 2] = bulk_of(args[i], i)
		end
		return tconcat(scratch, "", 1, n + 2)
	end
	out = out or new_out()
	push(out, "*" .. (n + 1) .. "\r\n")
	put_bulk(out, name, 0)
	for i = 1, n do
		put_bulk(out, args[i], i)
	end
	return out.parts
end

-- One command given as a list { name, arg1, arg2, ... } (a pipeline entry).
local function encode_list(list, out)
	local n = list.n or #list
	push(out, "*" .. n .. "\r\n")
	for i = 1, n do
		put_bulk(out, list[i], i - 1)
	end
end

---------------------------------------------------------------------------------------------
-- decoding: returns ok, value (ok is false for an error reply, or an array holding one)

local read_reply

-- The length on a "$" or "*" line; nil for a null (negative length).
local function length_of(rest)
	local n = math.tointeger(tonumber(rest))
	if n == nil then
		error("redis: bad length in reply: " .. rest)
	end
	if n >= 0 then
		return n
	end
end

local decoders = {	-- by the first byte of the reply's line
	[43] = function(_, rest) return true, rest end,	-- "+"
	[45] = function(_, rest) return false, rest end,	-- "-"
	[58] = function(_, rest) return true, tonumber(rest) end,	-- ":"
	[36] = function(sock, rest)	-- "$"
		local n = length_of(rest)
		if n == nil then
			return true, nil
		end
		return true, sock:read(n + 2):sub(1, n)
	end,
	-- "*": an array is ok when none of its elements is an error reply
	[42] = function(sock, rest)
		local n = length_of(rest)
		if n == nil then
			return true, nil
		end
		local list, errors = {}, 0
		for i = 1, n do
			local fine
			fine, list[i] = read_reply(sock)
			errors = fine and errors or errors + 1
		end
		return errors == 0, list
	end,
}

function read_reply(sock)
	local line = sock:readline "\r\n"
	local decode = decoders[sbyte(line, 1)]
	if decode == nil then
		error("redis: unknown reply " .. string.format("%q", line:sub(1, 40)))
	end
	return decode(sock, line:sub(2))
end

local function read_boolean(sock)
	local ok, v = read_reply(sock)
	if ok then
		return true, v ~= 0
	end
	return false, v
end

---------------------------------------------------------------------------------------------
-- commands

local command = {}
local meta = { __index = command }	-- the channel is closed by disconnect(), not by __gc

-- db:name(...) sends NAME with the arguments: db:get "k", db:set("k", v), db:hmset { ... }
setmetatable(command, { __index = function(t, name)
	local NAME = string.upper(name)
	local head2	-- "*2" and the name: the start of the command with one argument
	local f = function(self, first, ...)
		local msg
		if first == nil then
			msg = encode(NAME, nil, 0)
		elseif type(first) == "table" then
			msg = encode(NAME, first, first.n or #first)
		else
			local n = select("#", ...)
			if n == 0 then
				head2 = head2 or counts[2] .. bulk_of(NAME, 0)
				msg = head2 .. bulk_of(first, 1)
			else
				msg = encode(NAME, { first, ... }, n + 1)
			end
		end
		return self[1]:request(msg, read_reply)
	end
	t[name] = f
	return f
end })

function command:exists(key)
	return self[1]:request(encode("EXISTS", { key }, 1), read_boolean)
end

function command:sismember(key, value)
	return self[1]:request(encode("SISMEMBER", { key, value }, 2), read_boolean)
end

function command:disconnect()
	self[1]:close()
	setmetatable(self, nil)
end

-- ops: a list of commands, each { name, args... }, written in one go. With resp (a table),
-- every reply is appended to it as { ok = bool, out = value } and resp is returned; without,
-- the last reply is returned (raised if it is an error).
function command:pipeline(ops, resp)
	assert(ops and #ops > 0, "pipeline is null")
	local out = new_out()
	for _, op in ipairs(ops) do
		encode_list(op, out)
	end
	out = out.parts
	local count = #ops
	local reader
	if resp then
		reader = function(sock)
			for _ = 1, count do
				local ok, v = read_reply(sock)
				resp[#resp + 1] = { ok = ok, out = v }
			end
			return true, resp
		end
	else
		reader = function(sock)
			local ok, v
			for _ = 1, count do
				ok, v = read_reply(sock)
			end
			return ok, v
		end
	end
	return self[1]:request(out, reader)
end

-- The auth function of a channel: AUTH then SELECT, as the configuration asks.
local function login(conf)
	local password, dbindex = conf.auth, conf.db
	if password == nil and dbindex == nil then
		return nil
	end
	return function(ch)
		if password ~= nil then
			if conf.username then
				ch:request(encode("AUTH", { conf.username, password }, 2), read_reply)
			else
				ch:request(encode("AUTH", { password }, 1), read_reply)
			end
		end
		if dbindex ~= nil then
			ch:request(encode("SELECT", { dbindex }, 1), read_reply)
		end
	end
end

-- A channel to the configured server, opened once (a failure is raised here).
local function open_channel(conf, auth, overload)
	local ch = socketchannel.channel {
		host = conf.host,
		port = conf.port or 6379,
		auth = auth,
		nodelay = true,
		overload = overload,
	}
	ch:connect(true)
	return ch
end

function redis.connect(conf)
	return setmetatable({ open_channel(conf, login(conf), conf.overload) }, meta)
end

---------------------------------------------------------------------------------------------
-- watch: a connection in subscribe mode

local watch = {}

-- Sends one (P)SUBSCRIBE naming every key of set, if there is any.
local function resubscribe(ch, verb, set)
	local names = {}
	for k in pairs(set) do
		names[#names + 1] = k
	end
	if #names > 0 then
		ch:request(encode(verb, names, #names))
	end
end

function redis.watch(conf)
	local w = { _channels = {}, _patterns = {} }
	local base = login(conf)
	-- after every (re)connection: log in, then subscribe again to all subscribed so far
	w._channel = open_channel(conf, function(ch)
		if base then base(ch) end
		resubscribe(ch, "PSUBSCRIBE", w._patterns)
		resubscribe(ch, "SUBSCRIBE", w._channels)
	end)
	return setmetatable(w, { __index = watch, __gc = function(self) self._channel:close() end })
end

function watch:disconnect()
	self._channel:close()
	setmetatable(self, nil)
end

-- The confirmations come back through message(), which keeps the subscription sets.
for _, name in ipairs { "subscribe", "psubscribe", "unsubscribe", "punsubscribe" } do
	local NAME = string.upper(name)
	watch[name] = function(self, ...)
		local ch = self._channel
		for i = 1, select("#", ...) do
			ch:request(encode(NAME, { (select(i, ...)) }, 1))
		end
	end
end

local bookkeeping = {
	subscribe = function(w, name) w._channels[name] = true end,
	unsubscribe = function(w, name) w._channels[name] = nil end,
	psubscribe = function(w, name) w._patterns[name] = true end,
	punsubscribe = function(w, name) w._patterns[name] = nil end,
}

-- Waits for the next published message: returns data, channel (and, for a pattern
-- subscription, data, channel, pattern).
function watch:message()
	local ch = self._channel
	while true do
		local reply = ch:response(read_reply)
		local kind = reply[1]
		if kind == "message" then
			return reply[3], reply[2]
		elseif kind == "pmessage" then
			return reply[4], reply[3], reply[2]
		else
			local keep = bookkeeping[kind]
			if keep then
				keep(self, reply[2])
			end
		end
	end
end

return redis
