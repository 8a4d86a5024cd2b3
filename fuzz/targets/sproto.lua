-- The sproto decoder and 0-unpacker, on a schema with every field kind: any bytes decode
-- or raise an error.
local core = require "sproto.core"
local parser = require "sprotoparser"

local schema = parser.parse [[
.Phone {
	number 0 : string
	kind 1 : integer
}
.Person {
	name 0 : string
	id 1 : integer
	email 2 : string
	phone 3 : *Phone
	ratio 4 : double
	money 5 : integer(2)
	tags 6 : *string
	flags 7 : *boolean
	blob 8 : binary
	friends 9 : *Person(id)
	alive 10 : boolean
	scores 11 : *integer
}
]]
local sp = core.newproto(schema)
local person = core.querytype(sp, "Person")

return function(input)
	pcall(core.decode, person, input)
	local ok, unpacked = pcall(core.unpack, input)
	if ok then
		pcall(core.decode, person, unpacked)
	end
end
