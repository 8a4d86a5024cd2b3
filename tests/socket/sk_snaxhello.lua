-- a snax service the console test launches with "snax sk_snaxhello <arg>"
local skynet = require "skynet"

function init(...)
	skynet.error("SNAX HELLO " .. table.concat({ ... }, " "))
end

function exit()
end
