-- Server node of benches/cluster.sh: an echo service, named BECHO (harbor) or @becho
-- (cluster, on the port given as bench_addr).
local skynet = require "skynet"
require "skynet.manager"

local mode = skynet.getenv "bench_mode"

skynet.start(function()
	local echo = skynet.newservice "becho"
	if mode == "harbor" then
		skynet.name("BECHO", echo)
	else
		local cluster = require "skynet.cluster"
		cluster.reload { server = skynet.getenv "bench_addr" }
		cluster.register("becho", echo)
		cluster.open "server"
	end
	print("BENCH server ready")
end)
