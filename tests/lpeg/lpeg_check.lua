-- Loads the hand-built lpeg.so in a service and matches with it.
local skynet = require "skynet"
require "skynet.manager"
local t = require "check"

skynet.start(function()
	local lpeg = require "lpeg"
	local digits = lpeg.C(lpeg.R "09" ^ 1)
	local list = lpeg.Ct(digits * ("," * digits) ^ 0)
	local got = list:match "12,7,305"
	t.check(got and table.concat(got, " ") == "12 7 305", "lpeg captures a list of numbers", got and table.concat(got, " "))
	t.check(lpeg.match(lpeg.P "ab" ^ 1 * -1, "ababx") == nil, "lpeg rejects what does not match")
	t.finish("lpeg_check")
	skynet.abort()
end)
