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
-- Our Lua is a stock Lua 5.5, whose tables cannot be shared between states. So the
-- "sharetable" service keeps each name's newest version serialized once, and a service
-- gets its own copy of a version the first time it asks (one copy per service and
-- version, whatever the number of queries). update() refills this service's copies in
-- place, key path by key path, so every reference the service holds to a table of that
-- name (and to its sub tables still present) sees the new data, as upstream's update
-- replaces them. The copies are plain tables: writing to one changes only that copy.
local skynet = require "skynet"
local service = require "skynet.service"

local sharetable = {}

local function sharetable_service()
	local skynet = require "skynet"

	local versions = {}     -- name -> { version = n, data = packed string }
	local serial = 0

	local function store(name, value)
		assert(type(value) == "table", "sharetable: the data of " .. tostring(name) .. " is not a table")
		serial = serial + 1
		versions[name] = { version = serial, data = skynet.packstring(value) }
	end

	local function run(name, chunk, ...)
		local value = chunk(...)
		store(name, value)
	end

	local function env()
		return setmetatable({}, { __index = _G })
	end

	local cmd = {}

	function cmd.loadfile(name, ...)
		run(name, assert(loadfile(name, "bt", env())), ...)
	end

	function cmd.loadstring(name, source, ...)
		run(name, assert(load(source, "=" .. name, "bt", env())), ...)
	end

	function cmd.loadtable(name, msg, sz)
		local ok, value = pcall(skynet.unpack, msg, sz)
		skynet.trash(msg, sz)
		assert(ok, value)
		store(name, value)
	end

	function cmd.query(name)
		local v = versions[name]
		if v then
			return v.version, v.data
		end
	end

	function cmd.queryall(names)
		local r = {}
		if names then
			for _, name in ipairs(names) do
				local v = versions[name]
				if v then
					r[name] = { v.version, v.data }
				end
			end
		else
			for name, v in pairs(versions) do
				r[name] = { v.version, v.data }
			end
		end
		return r
	end

	skynet.dispatch("lua", function(_, _, name, ...)
		local f = assert(cmd[name], name)
		skynet.retpack(f(...))
	end)

	skynet.info_func(function()
		local info = {}
		for name, v in pairs(versions) do
			info[name] = { version = v.version, size = #v.data }
		end
		return info
	end)
end

local server
local function address()
	if server == nil then
		server = service.new("sharetable", sharetable_service)
	end
	return server
end

-- name -> { version = n, root = the copy queries return }
local current = {}
-- name -> { [copy] = true }: every copy this service was given, for update
local given = {}

local function adopt(name, version, packed)
	local c = current[name]
	if c and c.version == version then
		return c.root
	end
	local root = skynet.unpack(packed)
	current[name] = { version = version, root = root }
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
	local version, packed = skynet.call(address(), "lua", "query", name)
	if version then
		return adopt(name, version, packed)
	end
end

function sharetable.queryall(names)
	local all = skynet.call(address(), "lua", "queryall", names)
	local r = {}
	for name, v in pairs(all) do
		r[name] = adopt(name, v[1], v[2])
	end
	return r
end

-- make old hold what new holds, keeping old's sub tables where new has a table too
local function refill(old, new, seen)
	if seen[old] then
		return
	end
	seen[old] = true
	for k in pairs(old) do
		if new[k] == nil then
			old[k] = nil
		end
	end
	for k, nv in pairs(new) do
		local ov = rawget(old, k)
		if type(ov) == "table" and type(nv) == "table" then
			refill(ov, nv, seen)
		else
			old[k] = nv
		end
	end
end

function sharetable.update(...)
	for _, name in ipairs { ... } do
		local g = given[name]
		if g then
			local version, packed = skynet.call(address(), "lua", "query", name)
			if version then
				local newest = skynet.unpack(packed)
				local keep
				for root in pairs(g) do
					refill(root, newest, {})
					keep = keep or root
				end
				if keep then
					current[name] = { version = version, root = keep }
				end
			end
		end
	end
end

return sharetable
