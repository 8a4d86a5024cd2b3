-- A node of the harbor test (tests/cluster/run.sh): role = one | two | three in the config.
-- one is the master and slave 1; two and three are slaves. Every node serves an echo service
-- under the global name ECHO<id>; three calls the others by name and by handle, starts a call
-- that two never answers and expects an error once two is killed.
local skynet = require "skynet"
local harbor = require "skynet.harbor"

local role = skynet.getenv "role"
local id = tonumber(skynet.getenv "harbor")

local function log(...)
	print(string.format("[harbor-test %s] %s", role, string.format(...)))
end

local function echo_service()
	return skynet.newservice("hecho")
end

local function check(cond, what)
	if not cond then
		log("TEST FAIL %s", what)
		return false
	end
	log("ok %s", what)
	return true
end

skynet.start(function()
	local echo = echo_service()
	harbor.globalname("ECHO" .. id, echo)
	log("registered ECHO%d as %s", id, skynet.address(echo))
	if role == "one" then
		-- a call by a global name nobody has registered yet: it waits in the harbor until
		-- harbor 3 (started later) registers ECHO3
		skynet.fork(function()
			check(skynet.call("ECHO3", "lua", "echo", "early") == "early|3", "an early call to ECHO3 answered once it registered")
		end)
		return
	end
	local h1 = harbor.queryname "ECHO1"
	check(h1 >> 24 == 1, "queryname ECHO1 is on harbor 1")
	check(skynet.call(h1, "lua", "echo", "by handle") == "by handle|1", "call ECHO1 by handle")
	check(skynet.call("ECHO1", "lua", "echo", "by name") == "by name|1", "call ECHO1 by name")
	local big = string.rep("x", 200000)
	check(skynet.call("ECHO1", "lua", "echo", big) == big .. "|1", "200 KB round trip to ECHO1")
	if role == "two" then
		log("ready")
		return
	end
	-- three
	-- a harbor that never links (77): the message waits, then the caller gets an error
	local nowhere
	skynet.fork(function()
		local t0 = skynet.now()
		local ok = pcall(skynet.call, 77 << 24 | 1, "lua", "echo", "x")
		nowhere = not ok and (skynet.now() - t0) // 100
	end)
	-- a frame carries at most 16 MB: a larger message is refused here, and the link stays
	local ok = pcall(skynet.call, h1, "lua", "echo", string.rep("x", 17 * 1024 * 1024))
	check(not ok, "a 17 MB message to another harbor fails")
	check(skynet.call(h1, "lua", "echo", "after") == "after|1", "... and the link to harbor 1 still works")
	harbor.connect(2)
	check(skynet.call("ECHO2", "lua", "echo", "hi") == "hi|2", "call ECHO2 by name")
	-- a second registration of a name is refused; the first one stays
	harbor.globalname("ECHO1", skynet.self())
	check(skynet.call("ECHO1", "lua", "echo", "still") == "still|1", "ECHO1 registered twice: the first stays")
	local done = false
	skynet.fork(function()
		local ok, err = pcall(skynet.call, "ECHO2", "lua", "hang")
		check(not ok, "the call to killed harbor 2 failed: " .. tostring(err))
		done = true
	end)
	log("hang call started")
	harbor.link(2)	-- returns once harbor 2 is gone
	log("harbor 2 is down")
	for _ = 1, 500 do
		if done then break end
		skynet.sleep(1)
	end
	check(done, "the caller waiting on harbor 2 got its answer")
	local ok = pcall(skynet.call, "ECHO2", "lua", "echo", "x")
	check(not ok, "a new call to harbor 2 fails at once")
	check(skynet.call(h1, "lua", "echo", "after") == "after|1", "harbor 1 still answers")
	for _ = 1, 2000 do
		if nowhere ~= nil then break end
		skynet.sleep(1)
	end
	check(nowhere and nowhere <= 12, "a call to a harbor that never links fails (after " .. tostring(nowhere) .. " s)")
	log("TEST DONE")
end)
