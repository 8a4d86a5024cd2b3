-- skynet.db.redis.cluster: a Redis Cluster client over skynet.db.redis.
--
--   local db = cluster.new({ { host = "127.0.0.1", port = 7000 }, ... },
--                          { auth = nil, db = 0, read_slave = false, max_connections = 256 },
--                          function onmessage(data, channel, pattern) end)
--   db:set("k", 1); db:get "k"          -- any command by name, sent to the node of its key
--   db:subscribe "ch"                   -- published messages reach onmessage
--
-- The slot map comes from CLUSTER SLOTS; MOVED replies update it (and the whole map is read
-- again before the next command), ASK replies are followed once with ASKING.

local skynet = require "skynet"
local redis = require "skynet.db.redis"
local crc16 = require "skynet.db.redis.crc16"

local HASH_SLOTS = 16384
local MAX_REDIRECTS = 16

local M = {}
local cluster = {}

-- Unknown names are commands: db:get(k) is db:call("get", k).
setmetatable(cluster, { __index = function(t, name)
	local f = function(self, ...)
		return self:call(name, ...)
	end
	t[name] = f
	return f
end })
local object_mt = { __index = cluster }

local function node_name(node)
	return string.format("%s:%d", node.host, node.port)
end

function M.new(startup_nodes, opt, onmessage)
	if #startup_nodes == 0 then
		startup_nodes = { startup_nodes }	-- a single { host, port }
	end
	opt = opt or {}
	local self = setmetatable({
		startup_nodes = startup_nodes,
		max_connections = opt.max_connections or 256,
		connections = {},
		opt = opt,
		refresh_table_asap = false,
		slots = {},
		nodes = {},
		__onmessage = onmessage or false,
		__watching = {},
		__opening = {},
	}, object_mt)
	self:initialize_slots_cache()
	return self
end

function cluster:set_node_name(node)
	node.name = node.name or node_name(node)
end

-- Runs open() once for a name even when several coroutines ask at the same time: the others
-- wait for the first one's result.
local function open_once(self, name, open)
	local pending = self.__opening[name]
	if pending then
		pending[#pending + 1] = coroutine.running()
		skynet.wait()
		if pending.ok then
			return pending.value
		end
		error(pending.value, 0)
	end
	pending = {}
	self.__opening[name] = pending
	pending.ok, pending.value = pcall(open)
	self.__opening[name] = nil
	for _, co in ipairs(pending) do
		skynet.wakeup(co)
	end
	if pending.ok then
		return pending.value
	end
	error(pending.value, 0)
end

function cluster:get_redis_link(node)
	return redis.connect {
		host = node.host,
		port = node.port,
		auth = self.opt.auth,
		db = self.opt.db or 0,
	}
end

-- Forgets the connection of a node name and closes it.
local function drop_connection(self, name)
	local conn = self.connections[name]
	self.connections[name] = nil
	if conn then
		pcall(conn.disconnect, conn)
	end
end

-- Called before a new connection is cached: at max_connections, one of them goes.
function cluster:close_existing_connection()
	local name = next(self.connections)
	local count = 0
	for _ in pairs(self.connections) do
		count = count + 1
	end
	if name ~= nil and count >= self.max_connections then
		drop_connection(self, name)
	end
end

function cluster:close_all_connection()
	while next(self.connections) ~= nil do
		drop_connection(self, (next(self.connections)))
	end
end

function cluster:get_connection(node)
	self:set_node_name(node)
	local name = node.name
	local conn = self.connections[name]
	if conn then
		return conn
	end
	-- (no coroutine switch between the look-up above and open_once's bookkeeping)
	return open_once(self, name, function()
		self:close_existing_connection()
		local link = self:get_redis_link(node)
		self.connections[name] = link
		return link
	end)
end

local function parse_node(entry)
	local host, port = entry[1], tonumber(entry[2])
	assert(host and port, "bad node in CLUSTER SLOTS")
	return { host = host, port = port, name = node_name { host = host, port = port } }
end

-- Reads CLUSTER SLOTS from the first startup node that answers.
function cluster:initialize_slots_cache()
	for _, startup in ipairs(self.startup_nodes) do
		local ok = pcall(function()
			local ranges = self:get_connection(startup):cluster "slots"
			local slots, nodes = {}, {}
			for _, range in ipairs(ranges) do
				local master = parse_node(range[3])
				master.slaves = {}
				for i = 4, #range do
					master.slaves[#master.slaves + 1] = parse_node(range[i])
				end
				nodes[#nodes + 1] = master
				for slot = tonumber(range[1]), tonumber(range[2]) do
					slots[slot] = master
				end
			end
			self.slots, self.nodes = slots, nodes
			self.refresh_table_asap = false
		end)
		if ok then
			return
		end
	end
end

function cluster:flush_slots_cache()
	self.slots = {}
end

-- The slot of a key: only the part inside the first non-empty {...} counts, if any.
function cluster:keyslot(key)
	key = tostring(key)
	local open = key:find("{", 1, true)
	if open then
		local close = key:find("}", open + 1, true)
		if close and close > open + 1 then
			key = key:sub(open + 1, close - 1)
		end
	end
	return crc16(key) % HASH_SLOTS
end

local unroutable = { info = true, multi = true, exec = true, slaveof = true, config = true,
	shutdown = true }

-- The key that decides where a command goes: its first argument (argv[2]); for EVAL and
-- EVALSHA the first of its keys, which must all share one slot.
function cluster:get_key_from_command(cmd, argv)
	if unroutable[cmd] then
		return nil
	end
	if cmd == "eval" or cmd == "evalsha" then
		local numkeys = tonumber(argv[3]) or 0
		local slot
		for i = 4, 3 + numkeys do
			local s = self:keyslot(argv[i])
			if slot and s ~= slot then
				error(cmd .. " - all keys must map to the same key slot")
			end
			slot = s
		end
		return argv[4]
	end
	return argv[2]
end

-- A connection to any node that answers PING, nodes taken in random order.
function cluster:get_random_connection()
	local candidates = {}
	for i, node in ipairs(#self.nodes > 0 and self.nodes or self.startup_nodes) do
		candidates[i] = node
	end
	for i = #candidates, 2, -1 do
		local j = math.random(i)
		candidates[i], candidates[j] = candidates[j], candidates[i]
	end
	for _, node in ipairs(candidates) do
		local ok, conn = pcall(self.get_connection, self, node)
		if ok then
			local alive, pong = pcall(conn.ping, conn)
			if alive and pong == "PONG" then
				return conn
			end
			drop_connection(self, node.name)
		end
	end
	error("Can't reach a single startup node.")
end

-- The connection of the slot's master; when it cannot be had, a replica's (read_slave, in
-- READONLY mode), else any node's. Unknown slots go to any node.
function cluster:get_connection_by_slot(slot)
	local node = self.slots[slot]
	local conn
	if node then
		local ok, c = pcall(self.get_connection, self, node)
		conn = ok and c or nil
		local slaves = node.slaves or {}
		if not conn and self.opt.read_slave and #slaves > 0 then
			ok, c = pcall(self.get_connection, self, slaves[math.random(#slaves)])
			if ok then
				c:readonly()
				conn = c
			end
		end
	end
	return conn or self:get_random_connection()
end

---------------------------------------------------------------------------------------------
-- subscriptions: one watch connection per node, its messages handed to onmessage

function cluster:get_watch_connection(node)
	self:set_node_name(node)
	local name = node.name
	return open_once(self, "watch " .. name, function()
		local w = self.__watching[name]
		if w then
			return w
		end
		w = redis.watch { host = node.host, port = node.port, auth = self.opt.auth,
			db = self.opt.db or 0 }
		self.__watching[name] = w
		local onmessage = self.__onmessage
		skynet.fork(function()
			while self.__watching[name] == w do
				local ok, data, channel, pattern = pcall(w.message, w)
				if ok and data and onmessage then
					pcall(onmessage, data, channel, pattern)
				elseif not ok and getmetatable(w) == nil then
					break	-- disconnected
				end
			end
		end)
		return w
	end)
end

function cluster:get_watch_connection_by_slot(slot)
	if not self.slots[slot] then
		self:initialize_slots_cache()
	end
	return self:get_watch_connection(assert(self.slots[slot], "no node for the slot"))
end

local watch_commands = { subscribe = true, unsubscribe = true, psubscribe = true,
	punsubscribe = true }

---------------------------------------------------------------------------------------------
-- dispatch

-- A redirection in an error message: kind ("MOVED" or "ASK"), slot, node.
local function redirection(err)
	local kind, slot, host, port = tostring(err):match("(%u+) (%d+) ([^%s]+):(%d+)")
	if kind == "MOVED" or kind == "ASK" then
		return kind, tonumber(slot), { host = host, port = tonumber(port) }
	end
end

function cluster:call(...)
	local argv = table.pack(...)
	local cmd = string.lower(argv[1])
	local key = self:get_key_from_command(cmd, argv)
	if key == nil then
		error("No way to dispatch this command to Redis Cluster: " .. tostring(argv[1]))
	end
	if watch_commands[cmd] then
		local w = self:get_watch_connection_by_slot(self:keyslot(key))
		return w[cmd](w, table.unpack(argv, 2, argv.n))
	end
	if self.refresh_table_asap then
		self:initialize_slots_cache()
	end
	local ask_node, random_node = nil, false
	local lasterr
	for attempt = 1, MAX_REDIRECTS do
		local conn, result
		if ask_node then
			conn = self:get_connection(ask_node)
			local command = { table.unpack(argv, 1, argv.n) }
			ask_node = nil
			result = table.pack(pcall(conn.pipeline, conn, { { "asking" }, command }))
		else
			if random_node then
				random_node = false
				conn = self:get_random_connection()
			else
				conn = self:get_connection_by_slot(self:keyslot(key))
			end
			result = table.pack(pcall(conn[cmd], conn, table.unpack(argv, 2, argv.n)))
		end
		if result[1] then
			return table.unpack(result, 2, result.n)
		end
		lasterr = result[2]
		if tostring(lasterr) == "[Error: socket]" then
			random_node = true
			if attempt > MAX_REDIRECTS // 2 then
				skynet.sleep(10)
			end
		else
			local kind, slot, node = redirection(lasterr)
			if kind == nil then
				error(lasterr, 0)
			end
			self:set_node_name(node)
			if kind == "ASK" then
				ask_node = node
			else
				local old = self.slots[slot]
				node.slaves = old and old.slaves
				self.slots[slot] = node
				self.refresh_table_asap = true
			end
		end
	end
	error(string.format("Too many Cluster redirections?,maybe node is disconnected (last error: %q)",
		tostring(lasterr)))
end

return M
