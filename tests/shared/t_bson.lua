-- bson: the spec's example documents byte for byte, every type both ways, malformed input.
local skynet = require "skynet"
local bson = require "bson"
local check = require "check"

local function hex(s)
	return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

-- a document from element strings, built with string.pack (independent of the encoder)
local function doc(...)
	local body = table.concat({...})
	return string.pack("<i4", #body + 5) .. body .. "\0"
end
local function el(t, key, payload) return string.char(t) .. key .. "\0" .. payload end
local function str(s) return string.pack("<i4", #s + 1) .. s .. "\0" end

local function run(c)
	-- bsonspec.org examples
	local hello = "\x16\x00\x00\x00\x02hello\x00\x06\x00\x00\x00world\x00\x00"
	c:eq(hex(tostring(bson.encode { hello = "world" })), hex(hello), "spec example 1")
	c:eq(bson.decode(hello).hello, "world", "decode spec example 1")
	local awesome = "\x31\x00\x00\x00\x04BSON\x00\x26\x00\x00\x00\x020\x00\x08\x00\x00\x00awesome\x00"
		.. "\x011\x00\x33\x33\x33\x33\x33\x33\x14\x40\x102\x00\xc2\x07\x00\x00\x00\x00"
	local enc = bson.encode { BSON = { "awesome", 5.05, 1986 } }
	c:eq(hex(tostring(enc)), hex(awesome), "spec example 2")
	c:eq(#enc, #awesome, "# of an encoded document")
	local d = bson.decode(awesome)
	c:eq(d.BSON[1], "awesome", "array[1]")
	c:eq(d.BSON[2], 5.05, "array[2]")
	c:eq(math.type(d.BSON[3]), "integer", "int32 decodes as integer")
	c:eq(d.BSON[3], 1986, "array[3]")
	c:eq(enc:decode().BSON[3], 1986, "doc:decode()")

	-- every type, encoded byte for byte
	local oid = bson.objectid("0123456789abcdef01234567")
	local cases = {
		{ "int32", 7, el(0x10, "v", string.pack("<i4", 7)) },
		{ "int32 min", -2147483648, el(0x10, "v", string.pack("<i4", -2147483648)) },
		{ "int64", 1 << 40, el(0x12, "v", string.pack("<i8", 1 << 40)) },
		{ "int64 neg", -(1 << 40), el(0x12, "v", string.pack("<i8", -(1 << 40))) },
		{ "bson.int64", bson.int64(5), el(0x12, "v", string.pack("<i8", 5)) },
		{ "double", 0.5, el(0x01, "v", string.pack("<d", 0.5)) },
		{ "string", "hé", el(0x02, "v", str("hé")) },
		{ "empty string", "", el(0x02, "v", str("")) },
		{ "true", true, el(0x08, "v", "\1") },
		{ "false", false, el(0x08, "v", "\0") },
		{ "null", bson.null, el(0x0a, "v", "") },
		{ "minkey", bson.minkey, el(0xff, "v", "") },
		{ "maxkey", bson.maxkey, el(0x7f, "v", "") },
		{ "binary", bson.binary "a\0b", el(0x05, "v", string.pack("<i4", 3) .. "\0a\0b") },
		{ "objectid", oid, el(0x07, "v", "\x01\x23\x45\x67\x89\xab\xcd\xef\x01\x23\x45\x67") },
		{ "date", bson.date(1000), el(0x09, "v", string.pack("<i8", 1000000)) },
		{ "timestamp", bson.timestamp(1234, 5), el(0x11, "v", string.pack("<I4I4", 5, 1234)) },
		{ "regex", bson.regex("^a.*", "im"), el(0x0b, "v", "^a.*\0im\0") },
		{ "regex no options", bson.regex "x", el(0x0b, "v", "x\0\0") },
		{ "array", { 1, "two" }, el(0x04, "v", doc(el(0x10, "0", string.pack("<i4", 1)), el(0x02, "1", str("two")))) },
		{ "empty table is a document", {}, el(0x03, "v", doc()) },
		{ "document", { k = 1 }, el(0x03, "v", doc(el(0x10, "k", string.pack("<i4", 1)))) },
		{ "embedded encoded doc", bson.encode { k = 1 }, el(0x03, "v", doc(el(0x10, "k", string.pack("<i4", 1)))) },
	}
	for _, case in ipairs(cases) do
		local name, value, element = case[1], case[2], case[3]
		local got = tostring(bson.encode { v = value })
		c:eq(hex(got), hex(doc(element)), "encode " .. name)
		local back = bson.decode(got).v
		if name == "bson.int64" then
			c:eq(back, 5, "round trip " .. name)
		elseif type(value) == "table" and getmetatable(value) == nil then
			c:eq(#back, #value, "round trip " .. name)
		elseif type(value) == "userdata" then
			c:eq(back.k, 1, "round trip " .. name)
		else
			c:eq(back, value, "round trip " .. name)
		end
	end

	-- bson.type
	local function types(...)
		local t = table.pack(...)
		for i = 1, t.n do t[i] = tostring(t[i]) end
		return table.concat(t, ",", 1, t.n)
	end
	c:eq(types(bson.type(1)), "number,1", "type number")
	c:eq(types(bson.type("s")), "string,s", "type string")
	c:eq(types(bson.type(true)), "boolean,true", "type boolean")
	c:eq(types(bson.type(bson.null)), "nil", "type null")
	c:eq(types(bson.type(nil)), "nil", "type nil")
	c:eq(types(bson.type(bson.minkey)), "minkey", "type minkey")
	c:eq(types(bson.type(bson.maxkey)), "maxkey", "type maxkey")
	c:eq(types(bson.type(oid)), "objectid,0123456789abcdef01234567", "type objectid")
	c:eq(types(bson.type(bson.date(77))), "date,77", "type date")
	c:eq(types(bson.type(bson.timestamp(9, 3))), "timestamp,9,3", "type timestamp")
	c:eq(types(bson.type(bson.regex("p", "o"))), "regex,p,o", "type regex")
	c:eq(types(bson.type(bson.binary("xy"))), "binary,xy,0", "type binary")
	c:eq(types(bson.type(bson.int64(3))), "int64,3", "type int64")
	c:eq(select(1, bson.type({})), "table", "type table")
	local o1, o2 = bson.objectid(), bson.objectid()
	c:ok(o1 ~= o2 and #o1 == 14, "fresh objectids differ")

	-- encode_order keeps its order; makeindex + replace in place
	local ord = bson.encode_order("z", 1, "a", 2, "m", 3)
	c:eq(hex(tostring(ord)), hex(doc(el(0x10, "z", string.pack("<i4", 1)), el(0x10, "a", string.pack("<i4", 2)),
		el(0x10, "m", string.pack("<i4", 3)))), "encode_order order")
	local r = bson.encode { n = 1, f = 1.5, b = true, s = "x", d = bson.date(5) }
	r:makeindex()
	r.n = 42 r.f = 2.5 r.b = false r.d = bson.date(9)
	local rd = r:decode()
	c:ok(rd.n == 42 and rd.f == 2.5 and rd.b == false and rd.d == bson.date(9) and rd.s == "x", "replace after makeindex")
	c:raises("Can't replace key", "replace a string field", function() r.s = "y" end)
	c:raises("makeindex", "replace before makeindex", function() local q = bson.encode { a = 1 } q.a = 2 end)

	-- __pairs / __len tables
	local proxy = setmetatable({}, { __pairs = function() return next, { a = 1 }, nil end })
	c:eq(bson.decode(tostring(bson.encode { p = proxy })).p.a, 1, "__pairs document")
	local arr = setmetatable({}, { __len = function() return 3 end, __index = function(_, i) return i * 10 end })
	local ad = bson.decode(tostring(bson.encode { a = arr })).a
	c:ok(#ad == 3 and ad[3] == 30, "__len array")

	-- bad values raise errors
	c:raises("hole", "array hole", bson.encode, { a = setmetatable({ 1 }, { __len = function() return 2 end }) })
	c:raises("key can't be number", "number key", bson.encode, { [1.5] = 1 })
	c:raises("Invalid utf8", "bad utf8", bson.encode, { a = "\xff\xfe" })
	c:raises("Invalid value type", "function value", bson.encode, { a = print })
	c:raises("Invalid ordered dict", "odd encode_order", bson.encode_order, "a")
	c:raises("Invalid objectid", "short objectid", bson.objectid, "abc")
	local deep = {}
	for _ = 1, 200 do deep = { deep } end
	c:raises("Too depth", "too deep", bson.encode, { d = deep })

	-- malformed bytes raise errors, never crash
	local bad = {
		{ "empty", "" },
		{ "short", "\5\0\0" },
		{ "length past the end", "\x20\0\0\0\0" },
		{ "negative length", "\xff\xff\xff\xff\0" },
		{ "no terminating zero", "\5\0\0\0\1" },
		{ "unknown type", doc(el(0x42, "v", "")) },
		{ "unterminated key", "\x08\0\0\0\x10ab\0" },
		{ "string too long", doc(el(0x02, "v", string.pack("<i4", 100) .. "ab\0")) },
		{ "string zero length", doc(el(0x02, "v", string.pack("<i4", 0))) },
		{ "string not zero terminated", doc(el(0x02, "v", string.pack("<i4", 2) .. "ab")) },
		{ "truncated int64", doc(el(0x12, "v", "\1\2\3")) },
		{ "binary too long", doc(el(0x05, "v", string.pack("<i4", 1000) .. "\0ab")) },
		{ "nested length lies", doc(el(0x03, "v", string.pack("<i4", 3) .. "\0")) },
	}
	for _, b in ipairs(bad) do
		c:raises(nil, "malformed: " .. b[1], bson.decode, b[2])
	end
	local nested = "\5\0\0\0\0"
	for _ = 1, 300 do nested = doc(el(0x03, "d", nested)) end
	c:raises("Too depth", "deeply nested input", bson.decode, nested)
	-- random corruption of a rich document: errors or tables, nothing else
	local rich = tostring(bson.encode { a = 1, b = { 1, 2, { x = "y" } }, c = bson.binary "zz",
		d = bson.regex("a", "b"), e = 2.5, f = bson.objectid(), g = "text", h = { k = { l = true } } })
	local seed, survived = 12345, 0
	local function rnd(n) seed = (seed * 1103515245 + 12345) % 2147483648 return seed % n end
	for _ = 1, 3000 do
		local bytes = { rich:byte(1, -1) }
		for _ = 1, 1 + rnd(4) do bytes[1 + rnd(#bytes)] = rnd(256) end
		local s = string.char(table.unpack(bytes))
		if rnd(4) == 0 then s = s:sub(1, rnd(#s)) end
		local ok, v = pcall(bson.decode, s)
		if ok then c:ok(type(v) == "table", "corrupt input decodes to a table") end
		survived = survived + 1
	end
	c:eq(survived, 3000, "corrupted inputs")
end

skynet.start(function()
	local c = check.new("bson")
	local ok, err = pcall(run, c)
	c:ok(ok, "test body: " .. tostring(err))
	c:done()
end)
