-- stm: one writer, 20 reader services; each reader sees versions in order (never an
-- older one after a newer), false when nothing changed, and false once the writer is gone.
local skynet = require "skynet"
local stm = require "skynet.stm"
local check = require "check"

local mode = ...
local READERS, VERSIONS = 20, 50

if mode == "reader" then
	skynet.start(function()
		local r
		skynet.dispatch("lua", function(_, _, cmd, arg)
			if cmd == "init" then
				r = stm.newcopy(arg)
				skynet.retpack(r(skynet.unpack))
			elseif cmd == "read" then
				skynet.retpack(r(skynet.unpack))
			elseif cmd == "readraw" then
				skynet.retpack(r(skynet.tostring))
			end
		end)
	end)
	return
end

skynet.start(function()
	local c = check.new("stm")
	local w = stm.new(skynet.pack(0, "zero"))
	local readers = {}
	for i = 1, READERS do
		readers[i] = skynet.newservice(SERVICE_NAME, "reader")
		local ok, v, s = skynet.call(readers[i], "lua", "init", stm.copy(w))
		c:ok(ok == true and v == 0 and s == "zero", "first read gets the first version")
	end
	local ok = skynet.call(readers[1], "lua", "read")
	c:eq(ok, false, "no change: false")
	local last = {}
	local order_ok = true
	for v = 1, VERSIONS do
		w(skynet.pack(v, "v" .. v))
		for i = 1, READERS, 3 do
			local changed, got, s = skynet.call(readers[i], "lua", "read")
			if changed then
				if got < (last[i] or 0) or s ~= "v" .. got then order_ok = false end
				last[i] = got
			end
		end
	end
	c:ok(order_ok, "versions come in order")
	c:eq(select(2, skynet.call(readers[2], "lua", "read")), VERSIONS, "a reader that skipped versions gets the newest")
	w("a string message")
	local changed, s = skynet.call(readers[3], "lua", "readraw")
	c:ok(changed and s == "a string message", "a string version")
	c:raises(nil, "newcopy of nothing", stm.newcopy, nil)
	-- the writer goes away: readers see no more versions
	w = nil
	collectgarbage() collectgarbage()
	c:eq(skynet.call(readers[4], "lua", "read"), false, "after the writer is released")
	c:done()
end)
