-- Node "b" of the cluster test: calls node "a" (tests/cluster/run.sh drives the restart).
local skynet = require "skynet"
local cluster = require "skynet.cluster"

local addr_a = skynet.getenv "addr_a"

local function log(...)
	print("[cluster-test b] " .. string.format(...))
end

local function check(cond, what)
	log("%s %s", cond and "ok" or "TEST FAIL", what)
end

local function poll(what, want_ok, f)
	for _ = 1, 200 do
		local ok = pcall(f)
		if ok == want_ok then
			check(true, what)
			return true
		end
		skynet.sleep(5)
	end
	check(false, what)
end

skynet.start(function()
	cluster.reload { a = addr_a, __nowaiting = true }
	check(cluster.call("a", "@echo", "echo", "hi") == "hi", "call @echo")
	local h = cluster.query("a", "echo")
	check(math.type(h) == "integer", "query echo gives a handle")
	check(cluster.call("a", h, "echo", "by handle") == "by handle", "call by handle")
	check(not pcall(cluster.query, "a", "nosuch"), "query of an unknown name fails")
	check(not pcall(cluster.call, "a", "@nosuch", "echo", 1), "call to an unknown name fails")
	local mb = 1024 * 1024
	check(#cluster.call("a", "@echo", "big", mb) == mb, "1 MB reply")
	local req = string.rep("Q", mb + 3)
	check(cluster.call("a", "@echo", "echo", req) == req, "1 MB request echoed")
	for i = 1, 100 do
		cluster.send("a", "@echo", "push", i)
	end
	check(cluster.call("a", "@echo", "count") == 100, "100 pushes arrived before the next call")
	-- a large push goes out at low priority: a later call may overtake it (on upstream's too)
	cluster.send("a", "@echo", "push", req)
	poll("a 1 MB push arrived", true, function()
		assert(cluster.call("a", "@echo", "count") == 101)
	end)
	local p = cluster.proxy "a@echo"
	check(skynet.call(p, "lua", "echo", "via proxy") == "via proxy", "call through cluster.proxy")
	skynet.send(p, "lua", "push", 0)
	check(skynet.call(p, "lua", "count") == 102, "send through cluster.proxy")
	-- concurrent calls
	local n, want = 0, 50
	for i = 1, want do
		skynet.fork(function()
			if cluster.call("a", "@echo", "echo", i) == i then n = n + 1 end
		end)
	end
	for _ = 1, 200 do
		if n == want then break end
		skynet.sleep(1)
	end
	check(n == want, "50 concurrent calls")
	-- reload: a down, then back, then under another name
	cluster.reload { a = false }
	check(not pcall(cluster.call, "a", "@echo", "echo", 1), "call to a node reloaded as down fails")
	cluster.reload { a = addr_a }
	if skynet.getenv "stack" == "up" then
		-- upstream's clusterd reconnects in a forked task: the first calls may still fail
		poll("call after the node is reloaded back", true, function()
			assert(cluster.call("a", "@echo", "echo", "back") == "back")
		end)
	else
		check(cluster.call("a", "@echo", "echo", "back") == "back", "call after the node is reloaded back")
	end
	cluster.reload { a2 = addr_a }
	check(cluster.call("a2", "@echo", "echo", "alias") == "alias", "call a node added by reload")
	check(not pcall(cluster.call, "nonode", "@echo", "echo", 1), "call to an unknown node fails (nowaiting)")
	-- a node down at start (nothing listens on its port), up later: here, this very node
	cluster.reload { c = skynet.getenv "addr_c" }
	check(not pcall(cluster.call, "c", "@mine", "echo", 1), "call to a node not up yet fails")
	cluster.register("mine", skynet.newservice "cecho")
	cluster.open "c"
	check(cluster.call("c", "@mine", "echo", "later") == "later", "the node that came up later is reached")
	-- a peer that answers garbage: the call fails, the connection is dropped
	cluster.reload { bad = skynet.getenv "addr_bad" }
	check(not pcall(cluster.call, "bad", "@echo", "echo", 1), "a peer answering a malformed frame: the call fails")
	check(cluster.call("a", "@echo", "echo", "fine") == "fine", "... and node a still answers")
	-- a call in progress when the peer dies
	local failed
	skynet.fork(function()
		local ok, err = pcall(cluster.call, "a", "@echo", "hang")
		failed = not ok
		log("hang call returned %s %s", tostring(ok), tostring(err))
	end)
	log("hang call started")
	for _ = 1, 400 do
		if failed ~= nil then break end
		skynet.sleep(5)
	end
	check(failed == true, "the caller waiting on a killed node got an error")
	poll("node a reconnected after its restart", true, function()
		assert(cluster.call("a", "@echo", "echo", "again") == "again")
	end)
	log("TEST DONE")
end)
