-- Code shared between services (skynet.codecache on our Lua): a service running the shared
-- prototypes of a file behaves as one with a private copy and weighs much less; a service
-- that made its own copy of one of a file's strings before the file was shared still gets
-- a working module (a private copy).
local skynet = require "skynet"
require "skynet.manager"
local t = require "check"
local check = t.check

-- Made before the module is first loaded anywhere: this state's own string.
local key = "only_in_" .. "this_module"

skynet.start(function()
	local mod = require "lt_sharedmod"
	check(mod[key] == true, "a state with its own copy of a constant still finds the key")
	check(mod.Point.new(2, 3):sum() == 5, "and the module works")
	local on = skynet.newservice("lt_sharer", "ON")
	local off = skynet.newservice("lt_sharer", "OFF")
	for _, s in ipairs { on, off } do
		for _, r in ipairs(skynet.call(s, "lua", "checks")) do
			check(r[1], r[2])
		end
	end
	local shared_kb = skynet.call(on, "lua", "weight")
	local private_kb = skynet.call(off, "lua", "weight")
	print(string.format("service weight: %.1f KB shared, %.1f KB private", shared_kb, private_kb))
	check(shared_kb < private_kb * 0.7, "a service on shared code weighs much less than one with private copies",
		shared_kb, private_kb)
	t.finish("test_sharedcode")
	skynet.abort()
end)
