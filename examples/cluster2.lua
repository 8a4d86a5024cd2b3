-- Cluster example, the calling node (examples/config.c2): reaches the store of node db
-- (examples/cluster1.lua) in the ways skynet.cluster offers, then stops.
local skynet = require "skynet"
local cluster = require "skynet.cluster"
require "skynet.manager"	-- skynet.abort

local function show(what, ...)
	print(string.format("cluster2: %-28s", what), ...)
end

skynet.start(function()
	-- a call by registered name; the same store through the second port
	show("greeting via db", cluster.call("db", "@sdb", "get", "greeting"))
	show("answer via db2", cluster.call("db2", "@sdb", "get", "answer"))

	-- the handle behind the name, then a call by handle
	local handle = cluster.query("db", "sdb")
	show("sdb is", skynet.address(handle))
	show("by handle", cluster.call("db", handle, "get", "answer"))

	-- a proxy: a local address for the remote service, used with plain skynet.call/send
	local store = cluster.proxy "db@sdb"
	skynet.send(store, "lua", "ping", "from cluster2 through a proxy")
	cluster.send("db2", "@sdb", "ping", "from cluster2 by cluster.send")
	-- (the calls below go the same way as the sends, so they arrive after them)
	local big = string.rep("x", 200 * 1024)	-- large values travel in parts
	skynet.call(store, "lua", "set", "big", big)
	show("200 KB round trip", skynet.call(store, "lua", "get", "big") == big)
	cluster.call("db2", "@sdb", "get", "answer")

	-- the config can change at run time: mark db as down, then the call fails
	cluster.reload { db = false }
	show("db marked down", pcall(cluster.call, "db", "@sdb", "get", "answer"))
	cluster.reload()	-- read examples/clustername.lua again: db is back
	show("db back", cluster.call("db", "@sdb", "get", "answer"))

	skynet.abort()
end)
