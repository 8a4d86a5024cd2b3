-- Cluster example, node "db" (examples/config.c1): one key/value store, reachable from other
-- nodes as "@sdb" on the ports of nodes db and db2 (examples/clustername.lua).
local skynet = require "skynet"
local cluster = require "skynet.cluster"

skynet.start(function()
	local store = skynet.newservice "simpledb"
	-- a name other nodes use as "@sdb"; a service has one name: registering again moves it
	cluster.register("sdb", store)

	skynet.call(store, "lua", "set", "greeting", "hello from node db")
	skynet.call(store, "lua", "set", "answer", 42)

	-- listen on the address the cluster config gives each name
	for _, name in ipairs { "db", "db2" } do
		cluster.open(name)
		skynet.error("cluster1: listening as node " .. name)
	end
end)
