-- DATACENTER: a tree of values shared by the node (see skynet.datacenter).
--   QUERY k1 k2 ...        -> value at the path, or nil
--   UPDATE k1 k2 ... value -> previous value; wakes WAITs on that leaf
--   WAIT k1 k2 ...         -> value, once the leaf is set

local skynet = require "skynet"

local data = {}		-- the tree
local waits = {}	-- the same paths, leading to lists of waiting responses
local LEAF = {}		-- key marking a node of `waits` as a list of waiters

local function lookup(node, key, ...)
	if node == nil or key == nil then
		return node
	end
	return lookup(node[key], ...)
end

local function query(key, ...)
	local node = data[key]
	if node ~= nil then
		return lookup(node, ...)
	end
end

-- store along the path; returns old value and new value
local function store(node, key, value, ...)
	if select("#", ...) == 0 then
		local old = node[key]
		node[key] = value
		return old, value
	end
	if node[key] == nil then
		node[key] = {}
	end
	return store(node[key], value, ...)
end

-- remove and return the waiter list at the path that was just set; a wait on
-- a branch of it fails instead
local function take_waiters(node, key, ...)
	if key == nil then
		return
	end
	local sub = node[key]
	if sub == nil then
		return
	end
	if sub[LEAF] then
		node[key] = nil
		if select("#", ...) ~= 1 then
			for _, respond in ipairs(sub) do
				respond(false)
			end
			return
		end
		return sub
	end
	return take_waiters(sub, ...)
end

local function add_waiter(node, key, nextkey, ...)
	local sub = node[key]
	if nextkey == nil then
		if sub == nil then
			sub = { [LEAF] = true }
			node[key] = sub
		else
			assert(sub[LEAF])
		end
		sub[#sub + 1] = skynet.response()
	else
		if sub == nil then
			sub = { [LEAF] = false }
			node[key] = sub
		else
			assert(sub[LEAF] == false)
		end
		return add_waiter(sub, nextkey, ...)
	end
end

local command = {}

command.QUERY = query

function command.UPDATE(...)
	local old, value = store(data, ...)
	if old ~= nil or value == nil then
		return old
	end
	local list = take_waiters(waits, ...)
	if list then
		for _, respond in ipairs(list) do
			respond(true, value)
		end
	end
end

skynet.start(function()
	skynet.dispatch("lua", function(_, _, cmd, ...)
		if cmd == "WAIT" then
			local value = query(...)
			if value ~= nil then
				skynet.ret(skynet.pack(value))
			else
				add_waiter(waits, ...)
			end
		else
			local f = assert(command[cmd])
			skynet.ret(skynet.pack(f(...)))
		end
	end)
end)
