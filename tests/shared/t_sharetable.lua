-- sharetable: 100 services query and read while the table is reloaded 20 times; update()
-- moves each service's table (and the sub tables it keeps) to the newest load; versions
-- never go back; memory is back near its start once the readers are gone.
local skynet = require "skynet"
local sharetable = require "skynet.sharetable"
local check = require "check"

local mode = ...
local READERS, VERSIONS = 100, 20

local function data(v)
	local list = {}
	for i = 1, 100 do list[i] = v * 1000 + i end
	return { version = v, list = list, sub = { v = v, name = "v" .. v } }
end

if mode == "reader" then
	skynet.start(function()
		local t = sharetable.query "cfg"
		local sub = t.sub
		local last, errors = -1, 0
		skynet.dispatch("lua", function(_, _, cmd)
			if cmd == "read" then
				sharetable.update "cfg"
				local v = t.version
				if v < last or t.list[7] ~= v * 1000 + 7 or #t.list ~= 100 or sub.v ~= v or sub.name ~= "v" .. v then
					errors = errors + 1
				end
				last = v
				skynet.retpack(v, errors)
			elseif cmd == "exit" then
				skynet.retpack(errors)
				skynet.exit()
			end
		end)
	end)
	return
end

local memory = require "skynet.memory"

skynet.start(function()
	local c = check.new("sharetable")
	sharetable.loadtable("t", { x = 1, y = { "hello" } })
	local t = sharetable.query "t"
	c:ok(t.x == 1 and t.y[1] == "hello", "loadtable/query")
	c:ok(sharetable.query "t" == t, "one copy per version")
	c:eq(sharetable.query "nosuch", nil, "query of an unknown name")
	sharetable.loadstring("t", "local a, b = ... return { x = a + b, y = { 'again' } }", 2, 3)
	c:eq(t.x, 1, "old copy until update")
	local y = t.y
	sharetable.update("t")
	c:ok(t.x == 5 and y[1] == "again" and t.y == y, "update refills in place")
	local f = "tests/out/shared/sharetable_data.lua"
	local out = assert(io.open(f, "w"))
	out:write("local n = ... return { n = n, list = { 1, 2, 3 } }\n")
	out:close()
	sharetable.loadfile(f, 9)
	local ft = sharetable.query(f)
	c:ok(ft.n == 9 and #ft.list == 3, "loadfile")
	local all = sharetable.queryall()
	c:ok(all.t == t and all[f] == ft, "queryall")
	local some = sharetable.queryall { "t", "nosuch" }
	c:ok(some.t == t and some.nosuch == nil, "queryall of a list")
	c:raises(nil, "loadstring of bad code", sharetable.loadstring, "bad", "return {")
	c:raises(nil, "loadstring that returns no table", sharetable.loadstring, "bad", "return 1")

	collectgarbage() collectgarbage()
	local base = memory.total()
	sharetable.loadtable("cfg", data(0))
	local readers = {}
	for i = 1, READERS do
		readers[i] = skynet.newservice(SERVICE_NAME, "reader")
	end
	local bad = 0
	for v = 1, VERSIONS do
		sharetable.loadtable("cfg", data(v))
		for i = 1 + v % 5, READERS, 5 do
			local _, errors = skynet.call(readers[i], "lua", "read")
			if errors > 0 then bad = bad + 1 end
		end
	end
	local behind = 0
	for i = 1, READERS do
		if skynet.call(readers[i], "lua", "read") ~= VERSIONS then behind = behind + 1 end
		if skynet.call(readers[i], "lua", "exit") > 0 then bad = bad + 1 end
	end
	c:eq(bad, 0, "readers that saw a torn or older version")
	c:eq(behind, 0, "readers not on the newest version after update")
	sharetable.loadtable("cfg", {})
	collectgarbage() collectgarbage()
	local final = memory.total()
	skynet.error(string.format("sharetable: memory base %.1f MB, after %.1f MB", base / 1048576, final / 1048576))
	c:ok(final - base < 1024 * 1024, string.format("LEAK: %d bytes more than at the start", final - base))
	c:done()
end)
