-- skynet.datasheet.builder: publishes datasheets (read-only tables every service can
-- read in place, without copies) to the "datasheet" service.
--
--   builder.new(name, t)       first version of name (t: a table, or a compiled document)
--   builder.update(name, t)    a new version: readers' views move to it, each table
--                              found at the same key path staying the same view
--   builder.compile(t)         the document of t
--
-- A document is a Lua string held by this service until no reader uses it any more.
local skynet = require "skynet"
local service = require "skynet.service"
local dump = require "skynet.datasheet.dump"
local core = require "skynet.datasheet.core"

local builder = {}

local server
local sheets = {}       -- name -> { handle = pointer of the current document, shape = its numbering }
local documents = {}    -- pointer -> document string (kept alive while in use)

-- keep doc until the service says no reader holds it
local function publish(name, doc)
	local handle = core.stringpointer(doc)
	documents[handle] = doc
	skynet.call(server, "lua", "update", name, handle)
	skynet.fork(function()
		skynet.call(server, "lua", "collect", handle)
		documents[handle] = nil
	end)
	return handle
end

local function compile(v, before)
	if type(v) == "string" then
		-- an already compiled document: its own numbering
		return v, nil
	end
	return dump.build(v, before)
end

function builder.new(name, v)
	assert(sheets[name] == nil, "datasheet " .. tostring(name) .. " exists")
	local doc, shape = compile(v)
	sheets[name] = { shape = shape }
	sheets[name].handle = publish(name, doc)
end

function builder.update(name, v)
	local sheet = assert(sheets[name], "datasheet " .. tostring(name) .. " not created")
	local doc, shape = compile(v, sheet.shape)
	local old = sheet.handle
	sheet.shape = shape
	sheet.handle = publish(name, doc)
	skynet.send(server, "lua", "release", old)
end

function builder.compile(v)
	return dump.dump(v)
end

-- The datasheet service: who holds which document.
local function datasheet_service()
	local skynet = require "skynet"

	local current = {}      -- name -> handle
	local docs = {}         -- handle -> { name = name, holders = { [address] = true }, free = response | nil }
	local watching = {}     -- name -> { [address] = response }
	local held = {}         -- address -> { [handle] = true }

	local function hold(addr, handle)
		docs[handle].holders[addr] = true
		local h = held[addr]
		if h == nil then
			h = {}
			held[addr] = h
		end
		h[handle] = true
	end

	local function drop(addr, handle)
		local d = docs[handle]
		if d == nil then
			return
		end
		d.holders[addr] = nil
		if held[addr] then
			held[addr][handle] = nil
		end
		if next(d.holders) == nil and current[d.name] ~= handle then
			docs[handle] = nil
			if d.free then
				d.free(true)
			end
		end
	end

	local cmd = {}

	function cmd.update(source, name, handle)
		docs[handle] = { name = name, holders = {} }
		current[name] = handle
		hold(source, handle)        -- the builder's own hold, released by its next update
		local w = watching[name]
		watching[name] = nil
		if w then
			for addr, response in pairs(w) do
				hold(addr, handle)
				if not response(true, handle) then
					drop(addr, handle)
				end
			end
		end
		skynet.ret()
	end

	function cmd.query(source, name)
		local handle = assert(current[name], "create data first")
		hold(source, handle)
		skynet.ret(skynet.pack(handle))
	end

	-- answers once handle is no longer name's newest document, with the newest
	function cmd.monitor(source, handle)
		local d = assert(docs[handle], "Invalid data handle")
		local now = current[d.name]
		if now ~= handle then
			hold(source, now)
			skynet.ret(skynet.pack(now))
			return
		end
		local w = watching[d.name]
		if w == nil then
			w = {}
			watching[d.name] = w
		end
		assert(w[source] == nil, "monitor twice")
		w[source] = skynet.response()
	end

	function cmd.release(source, handle)
		drop(source, handle)
	end

	-- a reader's sheets are gone: everything it held, and its watches
	function cmd.close(source)
		local h = held[source]
		held[source] = nil
		if h then
			for handle in pairs(h) do
				drop(source, handle)
			end
		end
		for _, w in pairs(watching) do
			local response = w[source]
			if response then
				w[source] = nil
				response(false)
			end
		end
	end

	-- answers the builder once nobody holds handle
	function cmd.collect(_, handle)
		local d = docs[handle]
		if d == nil then
			skynet.ret()
			return
		end
		assert(d.free == nil, "Only one collect allows")
		d.free = skynet.response()
	end

	skynet.dispatch("lua", function(_, source, name, ...)
		local f = assert(cmd[name], name)
		f(source, ...)
	end)

	skynet.info_func(function()
		local info = {}
		for handle, d in pairs(docs) do
			local n = 0
			for _ in pairs(d.holders) do n = n + 1 end
			info[tostring(handle)] = { name = d.name, holders = n, current = current[d.name] == handle }
		end
		return info
	end)
end

skynet.init(function()
	server = service.new("datasheet", datasheet_service)
end)

return builder
