-- Node "a" of the cluster test: opens its cluster port and registers @echo.
local skynet = require "skynet"
local cluster = require "skynet.cluster"

skynet.start(function()
	cluster.reload { a = skynet.getenv "addr_a" }
	local echo = skynet.newservice "cecho"
	cluster.register("echo", echo)
	-- a name registered twice is refused; the first stays
	local ok, err = pcall(cluster.register, "echo", skynet.self())
	print("[cluster-test a] second register of echo: " .. tostring(ok) .. " " .. tostring(err))
	cluster.open "a"
	print("[cluster-test a] open")
end)
