-- print in a service: Lua's text for each value, tabs between, one line; and a line is never
-- cut by another service's print or by the logger (test_print.reject looks for cut lines).
local skynet = require "skynet"
require "skynet.manager"
local t = require "check"
local check = t.check

local PRINTERS, LINES = 4, 400

skynet.start(function()
	local shown = setmetatable({}, { __tostring = function() return "shown" end })
	print("PVALUES", nil, true, 1.5, 7, shown, "END")
	local ok, err = pcall(print, setmetatable({}, { __tostring = function() return {} end }))
	check(not ok and tostring(err):find("__tostring", 1, true), "a __tostring giving no string is an error", err)

	local printers = {}
	for id = 1, PRINTERS do
		printers[id] = skynet.newservice("lt_printer", id, LINES)
	end
	local left = PRINTERS
	for id = 1, PRINTERS do
		skynet.fork(function()
			skynet.call(printers[id], "lua", "go")
			left = left - 1
		end)
	end
	-- log lines all the while the printers print
	local logged = 0
	while left > 0 do
		logged = logged + 1
		skynet.error("logged while printing", logged)
		if logged % 50 == 0 then
			skynet.yield()
		end
	end
	check(logged > 0, "the logger wrote while services printed", logged)
	t.finish("test_print")
	skynet.abort()
end)
