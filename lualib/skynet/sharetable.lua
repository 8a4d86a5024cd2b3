-- skynet.sharetable: named read-only tables loaded once and read by every service.
--
--   sharetable.loadfile(name, ...)              run the Lua file name (with ...); its result
--   sharetable.loadstring(name, source, ...)    run source (with ...); its result
--   sharetable.loadtable(name, t)               t itself
--   sharetable.query(name)                      the table (nil when name was never loaded)
--   sharetable.queryall([names])                { [name] = table } for names (or for all)
--   sharetable.update(name, ...)                move this service's tables of those names to
--                                               the newest load
--
-- The "sharetable" service runs the loader and copies its result into a box of our Lua
-- (skynet.sharetable.core, lua-share/lshare.h): a frozen table tree that every service reads
-- in place, the very same table objects, none of them copied. Shared tables are read-only:
-- a write raises "attempt to change a shared table". update() walks this service's whole
-- state (registry, tables, metatables, upvalues, locals of every coroutine, uservalues) and
-- replaces each reference to a table of an older version by the newest version's table at
-- the same key path. A version is freed once every service that queried it has exited
-- (this module's __gc tells the service), or at once when it is replaced unqueried.
--
-- A service that already holds its own copy of one of a version's strings cannot read the
-- box in place (strings are compared by address); it gets a private copy of that version,
-- as every service does when this process's Lua has no boxes (then the service keeps each
-- version serialized).
local skynet = require "skynet"
local service = require "skynet.service"

local has_core, core = pcall(require, "skynet.sharetable.core")
if not has_core then
	core = nil
end

local function sharetable_service()
	local skynet = require "skynet"
	local has_core, core = pcall(require, "skynet.sharetable.core")
	if not has_core then
		core = nil
	end
	local free_box = core and core.free

	-- a version: { name, version = n, box = handle | data = packed, readers = n }
	local current = {}      -- name -> its newest version
	local held = {}         -- service address -> { [version] = true }: what it queried
	local serial = 0

	-- frees a version's box once no live service reads it and it is not the newest
	local function release(v)
		if v.box and v.readers == 0 and current[v.name] ~= v then
			free_box(v.box)
			v.box = nil
		end
	end

	local function store(name, value)
		assert(type(value) == "table", "sharetable: the data of " .. tostring(name) .. " is not a table")
		local v = { name = name, readers = 0 }
		if core then
			local ok, box = pcall(core.box, value)
			if ok then
				v.box = box
			elseif tostring(box):find("no shared state", 1, true) then
				core = nil  -- this process's Lua shares nothing: serialized copies from now on
			else
				error(box, 0)
			end
		end
		if not v.box then
			v.data = skynet.packstring(value)
		end
		serial = serial + 1
		v.version = serial
		local old = current[name]
		current[name] = v
		if old then
			release(old)
		end
	end

	local function run(name, chunk, ...)
		store(name, chunk(...))
	end

	local function env()
		return setmetatable({}, { __index = _G })
	end

	local function give(source, v)
		local h = held[source]
		if h == nil then
			h = {}
			held[source] = h
		end
		if not h[v] then
			h[v] = true
			v.readers = v.readers + 1
		end
		return { v.version, v.box or false, v.data }
	end

	local cmd = {}

	function cmd.loadfile(_, name, ...)
		run(name, assert(loadfile(name, "bt", env())), ...)
	end

	function cmd.loadstring(_, name, source, ...)
		run(name, assert(load(source, "=" .. name, "bt", env())), ...)
	end

	function cmd.loadtable(_, name, msg, sz)
		local ok, value = pcall(skynet.unpack, msg, sz)
		skynet.trash(msg, sz)
		assert(ok, value)
		store(name, value)
	end

	function cmd.query(source, name)
		local v = current[name]
		if v then
			return give(source, v)
		end
	end

	function cmd.queryall(source, names)
		local r = {}
		if names then
			for _, name in ipairs(names) do
				local v = current[name]
				if v then
					r[name] = give(source, v)
				end
			end
		else
			for name, v in pairs(current) do
				r[name] = give(source, v)
			end
		end
		return r
	end

	-- the service at source has exited: the versions it read may go
	function cmd.close(source)
		local h = held[source]
		held[source] = nil
		if h then
			for v in pairs(h) do
				v.readers = v.readers - 1
				release(v)
			end
		end
	end

	skynet.dispatch("lua", function(session, source, name, ...)
		local f = assert(cmd[name], name)
		if session == 0 then
			f(source, ...)
		else
			skynet.retpack(f(source, ...))
		end
	end)

	skynet.info_func(function()
		local info = {}
		for name, v in pairs(current) do
			info[name] = { version = v.version, readers = v.readers,
				size = v.box and core.size(v.box) or v.data and #v.data }
		end
		return info
	end)
end

local sharetable = {}

local server
local function address()
	if server == nil then
		server = service.new("sharetable", sharetable_service)
	end
	return server
end

-- This module lives as long as the service's state: its collection is the service's exit.
setmetatable(sharetable, { __gc = function()
	if server then
		skynet.send(server, "lua", "close")
	end
end })

-- version -> the table this service reads for it (weak: private copies may go)
local roots = setmetatable({}, { __mode = "v" })
-- name -> { [root] = true }: the roots of that name this service holds, for update
local given = {}
-- name -> the newest version this service got
local newest = {}

local function adopt(name, reply)
	local version, box, packed = reply[1], reply[2], reply[3]
	local root = roots[version]
	if root == nil then
		if box then
			root = core.push(box) or core.copy(box)
		else
			root = skynet.unpack(packed)
		end
		roots[version] = root
	end
	if (newest[name] or 0) < version then
		newest[name] = version
	end
	local g = given[name]
	if g == nil then
		g = setmetatable({}, { __mode = "k" })
		given[name] = g
	end
	g[root] = true
	return root
end

function sharetable.loadfile(name, ...)
	skynet.call(address(), "lua", "loadfile", name, ...)
end

function sharetable.loadstring(name, source, ...)
	skynet.call(address(), "lua", "loadstring", name, source, ...)
end

function sharetable.loadtable(name, t)
	assert(type(t) == "table")
	skynet.call(address(), "lua", "loadtable", name, skynet.pack(t))
end

function sharetable.query(name)
	local reply = skynet.call(address(), "lua", "query", name)
	if reply then
		return adopt(name, reply)
	end
end

function sharetable.queryall(names)
	local all = skynet.call(address(), "lua", "queryall", names)
	local r = {}
	for name, reply in pairs(all) do
		r[name] = adopt(name, reply)
	end
	return r
end

local isshared = core and core.isshared or function()
	return false
end

-- map[old] = new for old's tables and new's at the same key paths
local function pair(old, new, map)
	if map[old] ~= nil then
		return
	end
	map[old] = new
	for k, ov in next, old do
		if type(ov) == "table" then
			local nv = rawget(new, k)
			if type(nv) == "table" then
				pair(ov, nv, map)
			end
		end
	end
end

local walker = {}  -- the functions of the walk: their frames are not walked

-- Replaces, everywhere in this service's state, each reference to a key of map by its
-- value. Shared tables are not looked into (read-only; old or new, they hold their own
-- version's tables), nor the tables in seen. This walk (by the debug library, from the
-- registry) serves where the core module is missing; core.replace does the same in one
-- pass over the state's objects.
local function replace(map, seen)
	local work, n = {}, 0
	seen[map] = true
	seen[seen] = true
	seen[work] = true
	local function push(v)
		local t = type(v)
		if (t == "table" or t == "function" or t == "thread" or t == "userdata")
			and not seen[v] and map[v] == nil then
			seen[v] = true
			n = n + 1
			work[n] = v
		end
	end
	local function metatable(o)
		local mt = debug.getmetatable(o)
		if mt ~= nil then
			local nmt = map[mt]
			if nmt ~= nil then
				debug.setmetatable(o, nmt)
			else
				push(mt)
			end
		end
	end
	local function visit_table(t)
		if isshared(t) then
			return
		end
		metatable(t)
		local rekey
		for k, v in next, t do
			local nk, nv = map[k], map[v]
			if nk ~= nil then
				rekey = rekey or {}
				rekey[#rekey + 1] = { k, nk, nv or v }
			elseif nv ~= nil then
				rawset(t, k, nv)  -- an existing key: allowed while traversing
			else
				push(v)
			end
			if nk == nil then
				push(k)
			end
		end
		if rekey then
			for _, r in ipairs(rekey) do
				rawset(t, r[1], nil)
				rawset(t, r[2], r[3])
				push(r[3])
			end
		end
	end
	local function visit_function(f)
		for i = 1, math.huge do
			local name, v = debug.getupvalue(f, i)
			if name == nil then
				break
			end
			local nv = map[v]
			if nv ~= nil then
				debug.setupvalue(f, i, nv)
			else
				push(v)
			end
		end
	end
	local function visit_userdata(u)
		metatable(u)
		for i = 1, math.huge do
			local v, ok = debug.getuservalue(u, i)
			if not ok then
				break
			end
			local nv = map[v]
			if nv ~= nil then
				debug.setuservalue(u, nv, i)
			else
				push(v)
			end
		end
	end
	local function visit_thread(co)
		-- levels count from this function when co is the running coroutine
		for level = 0, math.huge do
			local info = debug.getinfo(co, level, "f")
			if info == nil then
				break
			end
			if not walker[info.func] then
				push(info.func)
				for _, step in ipairs { 1, -1 } do
					for i = step, step * math.huge, step do
						local name, v = debug.getlocal(co, level, i)
						if name == nil then
							break
						end
						local nv = map[v]
						if nv ~= nil then
							debug.setlocal(co, level, i, nv)
						else
							push(v)
						end
					end
				end
			end
		end
	end
	walker[visit_thread] = true
	local visit = {
		table = visit_table,
		["function"] = visit_function,
		userdata = visit_userdata,
		thread = visit_thread,
	}
	push(debug.getregistry())
	push(coroutine.running())
	for _, v in ipairs { "", 0, true, print } do
		push(debug.getmetatable(v))
	end
	push(debug.getmetatable(nil))
	while n > 0 do
		local v = work[n]
		work[n] = nil
		n = n - 1
		visit[type(v)](v)
	end
end
walker[replace] = true

function sharetable.update(...)
	local map, seen = {}, { [given] = true, [roots] = true, [newest] = true }
	local moved = {}
	for _, name in ipairs { ... } do
		local g = given[name]
		if g then
			local reply = skynet.call(address(), "lua", "query", name)
			if reply and reply[1] > newest[name] then
				local new = adopt(name, reply)
				for old in pairs(g) do
					if old ~= new then
						pair(old, new, map)
					end
				end
				seen[g] = true
				seen[new] = true  -- a private copy holds nothing old
				moved[name] = new
			end
		end
	end
	if next(map) then
		if core then
			core.replace(map, seen)
		else
			replace(map, seen)
		end
	end
	for name, new in pairs(moved) do
		given[name] = setmetatable({ [new] = true }, { __mode = "k" })
	end
end
walker[sharetable.update] = true

return sharetable
