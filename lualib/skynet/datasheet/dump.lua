-- skynet.datasheet.dump: Lua tables to the datasheet document that
-- skynet.datasheet.core reads in place (see luaclib-src/lua-datasheet.c).
--
--   dump.dump(t)               -> document (tables numbered from 0, the root first)
--   dump.build(t, shape)       -> document, shape: like dump, but a table found at the
--                                 same key path as in the earlier shape keeps its number,
--                                 so views of the earlier document follow it
--   dump.undump(doc)           -> a plain Lua copy of the document's root table
--
-- Layout, little endian: u32 offset of the string area, u32 n, u32 offset of each of the
-- n tables (counted from the end of this index; 0xffffffff for a number not in use), the
-- tables, then the strings (each NUL-terminated). A table: u32 array size, u32 number of
-- string keys, one kind byte per value (array values, then keyed ones), zero padded to
-- 4 bytes, the array values (u32 each), then (u32 key string, u32 value) pairs.
-- Kinds: 0 nil, 1 int32, 2 float32, 3 boolean, 4 table number, 5 string offset.
local dump = {}

local UNUSED = 0xffffffff
local MAX_DEPTH = 64

local KIND_INT, KIND_REAL, KIND_BOOL, KIND_TABLE, KIND_STRING = 1, 2, 3, 4, 5

-- Numbers every table of t: a shape is { id = number, sub = { [key] = shape } }.
-- Tables whose key path existed in `before` keep its number; the others take fresh ones.
local function number_tables(t, before, counter, depth)
	if depth > MAX_DEPTH then
		error "datasheet: tables nested too deep (a cycle?)"
	end
	local id
	if before then
		id = before.id
	else
		id = counter.next
		counter.next = id + 1
	end
	local shape = { id = id, sub = {}, source = t }
	for k, v in pairs(t) do
		if type(v) == "table" then
			shape.sub[k] = number_tables(v, before and before.sub[k], counter, depth + 1)
		end
	end
	return shape
end

local function writer()
	local strings, strings_at, strings_size = {}, {}, 0
	local w = {}
	function w.string(s)
		local at = strings_at[s]
		if at == nil then
			at = strings_size
			strings_at[s] = at
			strings[#strings + 1] = s .. "\0"
			strings_size = strings_size + #s + 1
		end
		return at
	end
	function w.strings()
		return table.concat(strings)
	end
	return w
end

-- kind byte and u32 payload of one value
local function encode_value(w, v, sub)
	local tv = type(v)
	if tv == "number" then
		local i = math.tointeger(v)
		if i and i >= -0x80000000 and i <= 0x7fffffff then
			return KIND_INT, string.pack("<i4", i)
		end
		return KIND_REAL, string.pack("<f", v)
	elseif tv == "boolean" then
		return KIND_BOOL, string.pack("<I4", v and 1 or 0)
	elseif tv == "string" then
		return KIND_STRING, string.pack("<I4", w.string(v))
	elseif tv == "table" then
		return KIND_TABLE, string.pack("<I4", sub.id)
	end
	error("Unsupport value " .. tostring(v))
end

local function encode_table(w, shape, out)
	local t = shape.source
	local kinds, values, pairs_out = {}, {}, {}
	local n = 0
	for i, v in ipairs(t) do
		n = i
		kinds[i], values[i] = encode_value(w, v, shape.sub[i])
	end
	local keys = {}
	for k in pairs(t) do
		if type(k) == "string" then
			keys[#keys + 1] = k
		else
			local ik = math.tointeger(k)
			if not (ik and ik >= 1 and ik <= n) then
				error("datasheet: invalid key " .. tostring(k))
			end
		end
	end
	for _, k in ipairs(keys) do
		local kind, payload = encode_value(w, t[k], shape.sub[k])
		kinds[#kinds + 1] = kind
		pairs_out[#pairs_out + 1] = string.pack("<I4", w.string(k)) .. payload
	end
	local kindbytes = string.char(table.unpack(kinds))
	local pad = (-#kindbytes) % 4
	out[shape.id] = string.pack("<I4I4", n, #keys) .. kindbytes .. string.rep("\0", pad)
		.. table.concat(values) .. table.concat(pairs_out)
	for _, child in pairs(shape.sub) do
		encode_table(w, child, out)
	end
end

local function strip(shape)
	local s = { id = shape.id, sub = {} }
	for k, child in pairs(shape.sub) do
		s.sub[k] = strip(child)
	end
	return s
end

function dump.build(t, before)
	assert(type(t) == "table", "datasheet: need a table")
	local counter = { next = before and before.count or 0 }
	local shape = number_tables(t, before, counter, 1)
	local w = writer()
	local bodies = {}
	encode_table(w, shape, bodies)
	local n = counter.next
	local index, parts, offset = {}, {}, 0
	for id = 0, n - 1 do
		local body = bodies[id]
		if body then
			index[#index + 1] = string.pack("<I4", offset)
			parts[#parts + 1] = body
			offset = offset + #body
		else
			index[#index + 1] = string.pack("<I4", UNUSED)
		end
	end
	local head = 8 + 4 * n
	local doc = string.pack("<I4I4", head + offset, n) .. table.concat(index) .. table.concat(parts) .. w.strings()
	local kept = strip(shape)
	kept.count = n
	return doc, kept
end

function dump.dump(t)
	return (dump.build(t))
end

function dump.undump(doc)
	local strings_at, n = string.unpack("<I4I4", doc)
	local base = 8 + 4 * n
	local function str(off)
		return (string.unpack("z", doc, strings_at + off + 1))
	end
	local function tbl(id)
		local off = string.unpack("<I4", doc, 9 + 4 * id)
		assert(off ~= UNUSED, "datasheet: table not in this document")
		local at = base + off + 1
		local narray, ndict = string.unpack("<I4I4", doc, at)
		local kinds = { string.byte(doc, at + 8, at + 7 + narray + ndict) }
		local p = at + 8 + ((narray + ndict + 3) & ~3)
		local function value(kind)
			local raw = string.unpack("<I4", doc, p)
			local v
			if kind == KIND_INT then v = string.unpack("<i4", doc, p)
			elseif kind == KIND_REAL then v = string.unpack("<f", doc, p)
			elseif kind == KIND_BOOL then v = raw ~= 0
			elseif kind == KIND_TABLE then v = tbl(raw)
			elseif kind == KIND_STRING then v = str(raw)
			end
			p = p + 4
			return v
		end
		local t = {}
		for i = 1, narray do
			t[i] = value(kinds[i])
		end
		for i = 1, ndict do
			local k = str((string.unpack("<I4", doc, p)))
			p = p + 4
			t[k] = value(kinds[narray + i])
		end
		return t
	end
	return tbl(0)
end

return dump
