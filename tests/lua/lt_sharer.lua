-- A service of test_sharedcode: loads skynet and lt_sharedmod with the code cache in the
-- mode it is given ("ON" shares, "OFF" loads private copies), checks that the module works
-- and tells what its state weighs.
local mode = ...
require("skynet.codecache").mode(mode)
local skynet = require "skynet"
local mod = require "lt_sharedmod"

local function weight()
	collectgarbage()
	collectgarbage()
	return collectgarbage("count")
end

local function checks()
	local results = {}
	local function add(ok, what) results[#results + 1] = { ok and true or false, what } end
	add(mod.Point.new(1, 2):sum() == 3, "metatables of shared code work (" .. mode .. ")")
	add(mod.field(mod, "gree" .. "ting") == "hello", "a key made at run time finds a constant key (" .. mode .. ")")
	add(mod[("only_in_" .. "this_module")] == true, "a run-time string equals the shared constant (" .. mode .. ")")
	local _, err = pcall(mod.fail)
	add(tostring(err):find("lt_sharedmod.lua:%d+: shared failure") ~= nil, "errors in shared code carry file and line (" .. mode .. ")")
	add(mod.first_local() == "alpha", "debug.getlocal names the locals of shared code (" .. mode .. ")")
	-- Tables keyed by shared strings survive full collections.
	local keep = {}
	for i = 1, 2000 do
		keep[i] = { greeting = mod.greeting, [i % 2 == 0 and "x" or "y"] = i }
	end
	for _ = 1, 3 do collectgarbage() end
	local intact = true
	for i = 1, 2000 do
		local k = i % 2 == 0 and "x" or "y"
		intact = intact and keep[i].greeting == "hello" and keep[i][k] == i
	end
	add(intact, "values keyed by shared strings survive collections (" .. mode .. ")")
	return results
end

skynet.start(function()
	skynet.dispatch("lua", function(_, _, cmd)
		if cmd == "checks" then
			skynet.ret(skynet.pack(checks()))
		else
			skynet.ret(skynet.pack(weight()))
		end
	end)
end)
