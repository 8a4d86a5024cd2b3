-- A tiny service for examples/tour.lua: keeps a running total.
--   add n  -> new total      get -> total      fail -> raises an error
local skynet = require "skynet"

local label = ... or "counter"
local total = 0

local command = {}

function command.add(n)
	total = total + n
	return total
end

function command.get()
	return total
end

function command.fail()
	error("counter " .. label .. " was asked to fail")
end

skynet.start(function()
	skynet.dispatch("lua", function(session, _, cmd, ...)
		local f = command[cmd]
		if f == nil then
			error("counter " .. label .. ": no command " .. tostring(cmd))
		end
		local result = f(...)
		if session ~= 0 then	-- skynet.send expects no answer
			skynet.retpack(result)
		end
	end)
end)
