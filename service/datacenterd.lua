-- DATACENTER: a tree of values shared by the node (see skynet.datacenter).
--   QUERY k1 k2 ...        -> value at the path, or nil
--   UPDATE k1 k2 ... value -> previous value; wakes WAITs on that leaf
--   WAIT k1 k2 ...         -> value, once the leaf is set
--
-- Paths are walked with loops over the arguments.  A path stops at its first
-- nil key.

local skynet = require "skynet"

local data = {}		-- the tree of values
local waits = {}	-- the tree of waiters: inner nodes and lists, told apart by LEAF
local LEAF = {}		-- waits node[LEAF]: true for a list of responses, false for a branch

-- The value at the path, or nil.
local function get(...)
	local node = data[(...)]
	if node == nil then
		return	-- nothing at all under the first key
	end
	local n = select("#", ...)
	local i = 2
	while node ~= nil and i <= n do
		local key = select(i, ...)
		if key == nil then
			break
		end
		node = node[key]
		i = i + 1
	end
	return node
end

-- Sets the last argument at the path of the others, making the missing
-- tables on the way.  Returns the value replaced and the new one.
local function update(...)
	local args = table.pack(...)
	local last = math.max(args.n, 2)
	local node = data
	for i = 1, last - 2 do
		local key = args[i]
		local sub = node[key]
		if sub == nil then
			sub = {}
			node[key] = sub
		end
		node = sub
	end
	local key, value = args[last - 1], args[last]
	local old = node[key]
	node[key] = value
	return old, value
end

-- Takes out the list of waiters on the path (the arguments of UPDATE, value
-- last).  A list met before the end of the path waited on what is now a
-- branch: those waiters fail.
local function take_waiters(...)
	local args = table.pack(...)
	local node = waits
	for i = 1, args.n do
		local key = args[i]
		local sub = key ~= nil and node[key]
		if not sub then
			return nil
		end
		if sub[LEAF] then
			node[key] = nil
			if args.n - i == 1 then
				return sub
			end
			for _, answer in ipairs(sub) do
				answer(false)
			end
			return nil
		end
		node = sub
	end
end

-- node[key] made as a list (leaf) or a branch, or checked to be one already
local function waits_child(node, key, leaf)
	local sub = node[key]
	if sub == nil then
		sub = { [LEAF] = leaf }
		node[key] = sub
	end
	assert(sub[LEAF] == leaf)
	return sub
end

local function add_waiter(...)
	local keys = table.pack(...)
	local node = waits
	local i = 1
	while keys[i + 1] ~= nil do
		node = waits_child(node, keys[i], false)
		i = i + 1
	end
	local list = waits_child(node, keys[i], true)
	list[#list + 1] = skynet.response()
end

local command = {}

command.QUERY = get

function command.UPDATE(...)
	local old, value = update(...)
	-- only a leaf set for the first time wakes anybody (and answers nothing)
	if old == nil and value ~= nil then
		for _, answer in ipairs(take_waiters(...) or {}) do
			answer(true, value)
		end
		return
	end
	return old
end

local function wait(...)
	local value = get(...)
	if value == nil then
		return add_waiter(...)
	end
	skynet.retpack(value)
end

skynet.start(function()
	skynet.dispatch("lua", function(_, _, cmd, ...)
		if cmd == "WAIT" then
			return wait(...)
		end
		local f = assert(command[cmd])
		skynet.retpack(f(...))
	end)
end)
