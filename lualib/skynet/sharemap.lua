-- skynet.sharemap: a sproto-typed record one service writes and others read, carried by
-- skynet.stm (each commit publishes a new encoded version).
--
--   sharemap.register(file)            the schema (sproto text) all sides use (slot 0)
--   w = sharemap.writer(type, init)    w.field = v ... w:commit() publishes
--   ref = w:copy()                     hand ref to a reader service
--   r = sharemap.reader(type, ref)     r.field reads; r:update() picks up the newest commit
local stm = require "skynet.stm"
local sprotoloader = require "sprotoloader"

local sharemap = {}

local SLOT = 0
local schema

local function types()
	if schema == nil then
		schema = sprotoloader.load(SLOT)
	end
	return schema
end

function sharemap.register(protofile)
	sprotoloader.register(protofile, SLOT)
end

-- writer: method names first, then the record's fields (reads and writes go to the record)
local writer_of = setmetatable({}, { __mode = "k" })    -- writer -> { name, stm writer, record }

local writer_methods = {}

function writer_methods:commit()
	local w = writer_of[self]
	w.out(types():encode(w.name, w.record))
end

function writer_methods:copy()
	return stm.copy(writer_of[self].out)
end

local writer_mt = {
	__index = function(self, k)
		local m = writer_methods[k]
		if m ~= nil then
			return m
		end
		return writer_of[self].record[k]
	end,
	__newindex = function(self, k, v)
		writer_of[self].record[k] = v
	end,
}

function sharemap.writer(typename, init)
	local record = init or {}
	local w = { name = typename, record = record, out = stm.new(types():encode(typename, record)) }
	local self = setmetatable({}, writer_mt)
	writer_of[self] = w
	return self
end

-- reader
local reader_of = setmetatable({}, { __mode = "k" })    -- reader -> { name, stm reader, record }

local reader_methods = {}

-- refill the record in place from the newest version (returns false when none is newer)
local function refill(msg, sz, r)
	local record = r.record
	for k in pairs(record) do
		record[k] = nil
	end
	return types():decode(r.name, msg, sz, record)
end

function reader_methods:update()
	local r = reader_of[self]
	return r.input(refill, r)
end

local reader_mt = {
	__index = function(self, k)
		local m = reader_methods[k]
		if m ~= nil then
			return m
		end
		return reader_of[self].record[k]
	end,
	__newindex = function(_, k)
		error("sharemap reader is read-only: " .. tostring(k))
	end,
}

function sharemap.reader(typename, ref)
	local sp = types()
	local input = stm.newcopy(ref)
	local r = { name = typename, input = input, record = {} }
	input(function(msg, sz)
		sp:decode(typename, msg, sz, r.record)
	end)
	local self = setmetatable({}, reader_mt)
	reader_of[self] = r
	return self
end

return sharemap
