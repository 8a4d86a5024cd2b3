-- The same service on both stacks: encode, decode, pencode, pdecode of a typical game message
-- (sproto's own AddressBook example plus a few scalar fields), N times each, cpu seconds.
local skynet = require "skynet"
require "skynet.manager"
local sproto = require "sproto"

local sp = sproto.parse [[
.Person {
	name 0 : string
	id 1 : integer
	email 2 : string
	.PhoneNumber {
		number 0 : string
		type 1 : integer
	}
	phone 3 : *PhoneNumber
	level 4 : integer
	pos 5 : *integer
	online 6 : boolean
}
.AddressBook {
	person 0 : *Person
}
]]

local msg = { person = {
	{ name = "Alice", id = 10000, email = "alice@example.com", level = 42, pos = { 1200, -340, 7 },
		online = true, phone = { { number = "123456789", type = 1 }, { number = "87654321", type = 2 } } },
	{ name = "Bob", id = 20000, level = 7, pos = { 5, 6, 70000 },
		phone = { { number = "01234567890", type = 3 } } },
} }

local N = tonumber(skynet.getenv "sproto_bench_n") or 200000

local function time(f)
	local t0 = os.clock()
	for _ = 1, N do
		f()
	end
	return os.clock() - t0
end

skynet.start(function()
	local bytes = sp:encode("AddressBook", msg)
	local packed = sp:pencode("AddressBook", msg)
	local e = time(function() sp:encode("AddressBook", msg) end)
	local d = time(function() sp:decode("AddressBook", bytes) end)
	local pe = time(function() sp:pencode("AddressBook", msg) end)
	local pd = time(function() sp:pdecode("AddressBook", packed) end)
	print(string.format("BENCH sproto n=%d size=%d packed=%d encode=%.3f decode=%.3f pencode=%.3f pdecode=%.3f",
		N, #bytes, #packed, e, d, pe, pd))
	skynet.abort()
end)
