-- Inputs of the sproto suite: schemas and messages. tests/sproto/gen_vectors.lua runs them
-- through upstream's sproto and records its bytes in vectors.lua; sproto_main.lua checks ours
-- against those bytes.
local M = {}

M.schemas = {
	-- 1: the wire protocol examples of sproto's documentation, and more types
	[[
.Person {
	name 0 : string
	age 1 : integer
	marital 2 : boolean
	children 3 : *Person
}

.Data {
	numbers 0 : *integer
	bools 1 : *boolean
	number 2 : integer
	bignumber 3 : integer
	double 4 : double
	doubles 5 : *double
	fpn 6 : integer(2)
	fpns 7 : *integer(3)
	strs 8 : *string
	bin 9 : binary
	sub 10 : Person
	neg 11 : integer
	big 12 : integer
	far 300 : integer
	zero 13 : integer(0)
}

.KV {
	k 0 : string
	v 1 : integer
}

.M {
	byid 0 : *Item(id)
	kv 1 : *KV()
	.Item {
		id 0 : integer
		name 1 : string
		tags 2 : *string
	}
	byname 2 : *Item(name)
	imap 3 : *IV()
	.IV { key 3 : integer  value 9 : Item }
}
]],
	-- 2: an RPC schema: header type, nested types, protocols of every shape
	[[
# a comment line
.package {
	type 0 : integer
	session 1 : integer
	ud 2 : string
}

.Person {	# user type
	name 0 : string
	id 1 : integer
	email 2 : string
	.PhoneNumber {
		number 0 : string
		type 1 : integer
	}
	phone 3 : *PhoneNumber
	height 4 : integer(2)
	data 5 : binary
	weight 6 : double
}

.AddressBook {
	person 0 : *Person(id)
	others 1 : *Person
	nested 5 : Person.PhoneNumber
}

foobar 1 {
	request Person
	response {
		ok 0 : boolean
	}
}
foo 2 {
	response {
		ok 0 : boolean
	}
}
bar 3 {
	response nil
}
blackhole 4 {
}
book 10 { request AddressBook response AddressBook }
ping 7 { request { } }
]],
	-- 3: empty
	"",
	-- 4: sparse tags, a type without fields, scope lookups
	[[
.B { }
.A {
	a 0 : integer
	.Inner { x 0 : B y 1 : Inner z 2 : A }
	inner 1 : Inner
}
.Big { a 100 : integer b 200 : string c 7000 : *integer d 5 : boolean e 32766 : integer }
]],
	-- 5: protocols only, types referenced across
	[[
.T { x 0 : integer }
p0 0 { request T }
p9 9 { request T response T }
p5 5 { response nil request T }
]],
}

-- { schema index, type name, message [, "roundtrip" when bytes depend on table order] }
M.messages = {
	{ 1, "Person", { name = "Alice", age = 13, marital = false } },
	{ 1, "Person", { name = "Bob", age = 40, children = {
		{ name = "Alice", age = 13 }, { name = "Carol", age = 5 } } } },
	{ 1, "Data", { numbers = { 1, 2, 3, 4, 5 } } },
	{ 1, "Data", { numbers = { (1 << 32) + 1, (1 << 32) + 2, (1 << 32) + 3 } } },
	{ 1, "Data", { numbers = { 1, -1, 1 << 40, -(1 << 40), 0x7fffffff, -0x80000000 } } },
	{ 1, "Data", { numbers = { math.maxinteger, math.mininteger, 0 } } },
	{ 1, "Data", { bools = { false, true, false } } },
	{ 1, "Data", { number = 100000, bignumber = -10000000000 } },
	{ 1, "Data", { double = 0.01171875, doubles = { 0.01171875, 23, 4 } } },
	{ 1, "Data", { fpn = 1.82 } },
	{ 1, "Data", { fpn = -1.825, fpns = { 1.2345, -0.0005, 3, 2.5e6 } } },
	{ 1, "Data", { fpn = 400000000.01 } },
	{ 1, "Data", { numbers = {}, bools = {}, doubles = {}, strs = {}, fpns = {} } },
	{ 1, "Data", { strs = { "a", "", "hello world" }, bin = "\0\1\2\255" } },
	{ 1, "Data", { sub = { name = "x", children = {} }, far = 7 } },
	{ 1, "Data", { neg = -1, big = 0x7ffe, number = 0x7fff, bignumber = math.mininteger,
		far = math.maxinteger } },
	{ 1, "Data", { number = 0, big = 32766, neg = -32767, zero = 12.4 } },
	{ 1, "Data", { double = -0.0, doubles = { 1 / 0, -1 / 0, 1e308, 5e-324 } } },
	{ 1, "Data", { number = 3.0, bignumber = "12", big = 2 ^ 40 } },
	{ 1, "Person", {} },
	{ 1, "Person", { name = "", age = 0, marital = true, children = { {}, {}, {} } } },
	{ 1, "Data", { bin = string.rep("\170", 30) } },
	{ 1, "Data", { strs = { string.rep("abcdefgh", 300), string.rep("\0", 100) } } },
	{ 1, "Data", { sub = { name = "a", children = { { name = "b", children = {
		{ name = "c", children = { { name = "d", age = 100000 } } } } } } } } },
	{ 1, "M", { byid = { [1] = { id = 1, name = "a", tags = { "x", "y" } } }, kv = { x = 5 } } },
	{ 1, "M", { byname = { bob = { id = 7, name = "bob" } }, imap = { [3] = { id = 3 } } } },
	{ 1, "M", { byid = { [1] = { id = 1 }, [2] = { id = 2 }, [300] = { id = 300, name = "z" } },
		kv = { a = 1, b = 2, c = 3 }, byname = { p = { id = 1, name = "p" }, q = { id = 2, name = "q" } },
		imap = { [1] = { id = 5 }, [-4] = { id = 6 } } }, "roundtrip" },
	{ 2, "package", { type = 1, session = 1 } },
	{ 2, "package", { type = 10, session = 1 << 33, ud = "user data" } },
	{ 2, "Person", { name = "Alice", id = 10000, phone = {
		{ number = "123456789", type = 1 }, { number = "87654321", type = 2 } },
		height = 1.83, data = "\1\2\3", weight = 62.5 } },
	{ 2, "AddressBook", { person = { [10000] = { name = "Alice", id = 10000 } },
		others = { { name = "Bob", id = 20000 } }, nested = { number = "1" } } },
	{ 2, "ping.request", {} },
	{ 4, "A", { a = 1, inner = { x = {}, y = { y = { y = {} } }, z = { a = 2 } } } },
	{ 4, "Big", { a = 1, b = "b", c = { 1, 2, 3 }, d = true, e = 32766 } },
	{ 4, "Big", { e = -5 } },
	{ 4, "B", {} },
	{ 5, "T", { x = 123456789 } },
}

-- Byte strings for pack/unpack: a generator with its own arithmetic, so both stacks see the
-- same bytes.
function M.pack_inputs()
	local seed = 20241202
	local function rnd(n)
		seed = (seed * 1103515245 + 12345) % 2147483648
		return seed % n
	end
	local list = { "", "\0", "\1", string.rep("\0", 8), string.rep("\1", 8), string.rep("\1", 7),
		string.rep("\138", 30), string.rep("\1", 2048), string.rep("\1", 2056),
		string.rep("\1", 5000), string.rep("\1\2\3\4\5\6\0\0", 40),
		string.rep("\1\2\3\4\5\6\7\0", 40), string.rep("\1", 16) .. string.rep("\1\2\3\4\5\0\0\0", 3),
		"\8\0\0\0\3\0\2\0\25\0\0\0\170\1\0\0" }
	for _ = 1, 40 do
		local len = rnd(700)
		local zeros = rnd(10)
		local t = {}
		for j = 1, len do
			t[j] = string.char(rnd(10) < zeros and 0 or rnd(255) + 1)
		end
		list[#list + 1] = table.concat(t)
	end
	return list
end

-- A printable form of a decoded value: keys sorted, floats with every digit.
function M.show(v)
	local tv = math.type(v) or type(v)
	if tv == "table" then
		local keys = {}
		for k in pairs(v) do
			keys[#keys + 1] = k
		end
		table.sort(keys, function(a, b)
			if type(a) == type(b) then
				return a < b
			end
			return type(a) < type(b)
		end)
		local out = {}
		for i, k in ipairs(keys) do
			out[i] = M.show(k) .. "=" .. M.show(v[k])
		end
		return "{" .. table.concat(out, ",") .. "}"
	elseif tv == "float" then
		return string.format("%.17gf", v)
	elseif tv == "string" then
		return string.format("%q", v)
	else
		return tostring(v)
	end
end

function M.hex(s)
	return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

return M
