-- The sproto decoder: the input is decoded as every type of two of the sproto suite's
-- schemas (raw and 0-packed), unpacked, packed, and loaded as a binary schema. Each call
-- returns or raises a Lua error; a message that decodes re-encodes to bytes that decode and
-- re-encode to themselves.
package.path = package.path .. ";" .. fuzz.root .. "/tests/sproto/?.lua"
local sproto = require "sproto"
local core = require "sproto.core"
local cases = require "cases"

local types = {}
for i, names in ipairs { { "Person", "Data", "M", "KV" },
		{ "package", "Person", "AddressBook", "Person.PhoneNumber" } } do
	local sp = sproto.parse(cases.schemas[i])
	for _, name in ipairs(names) do
		types[#types + 1] = { sp, name }
	end
end

local function stable(sp, name, t)
	if name == "M" or name == "AddressBook" then
		return	-- maps: the order of pairs decides the bytes
	end
	local once = sp:encode(name, t)
	if sp:encode(name, sp:decode(name, once)) ~= once then
		error("fuzz: re-encoding a decoded " .. name .. " changes its bytes")
	end
end

return function(input)
	for _, e in ipairs(types) do
		local sp, name = e[1], e[2]
		local ok, t = pcall(sp.decode, sp, name, input)
		if ok then
			stable(sp, name, t)
		end
		ok, t = pcall(sp.pdecode, sp, name, input)
		if ok then
			stable(sp, name, t)
		end
	end
	pcall(core.unpack, input)
	pcall(core.pack, input)
	local obj = core.newproto(input)
	if obj then
		core.querytype(obj, "x")
		core.protocol(obj, 1)
		core.deleteproto(obj)
	end
end
