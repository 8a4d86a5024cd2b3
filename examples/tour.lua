-- Start service of examples/config.tour (./skynet examples/config.tour): starts a few
-- services, talks to them and reports what happened with skynet.error, then leaves the node running.
local skynet = require "skynet"
local datacenter = require "skynet.datacenter"

skynet.start(function()
	skynet.error("tour: started as", skynet.address(skynet.self()))

	-- two independent instances of the same service
	local left = skynet.newservice("counter", "left")
	local right = skynet.newservice("counter", "right")
	for i = 1, 3 do
		skynet.call(left, "lua", "add", i)
	end
	skynet.send(right, "lua", "add", 10)	-- fire and forget
	skynet.error("tour: left total =", skynet.call(left, "lua", "get"))
	skynet.error("tour: right total =", skynet.call(right, "lua", "get"))

	-- a unique service is started once; queryservice finds it
	local shared = skynet.uniqueservice("counter", "shared")
	local again = skynet.uniqueservice("counter", "ignored")
	local found = skynet.queryservice("counter")
	skynet.error("tour: uniqueservice gave", skynet.address(shared), "then", skynet.address(again),
		"; queryservice gave", skynet.address(found))

	-- an error in the callee comes back to the caller as "call failed"
	local ok, err = pcall(skynet.call, left, "lua", "fail")
	skynet.error("tour: failing call ->", ok, err)

	-- node-wide key/value tree
	datacenter.set("example", "greeting", "hello")
	skynet.error("tour: datacenter example.greeting =", datacenter.get("example", "greeting"))

	-- a short sleep: skynet.now() counts hundredths of a second
	local t0 = skynet.now()
	skynet.sleep(10)
	skynet.error("tour: slept", skynet.now() - t0, "ticks")

	skynet.error("tour: done")
	skynet.exit()
end)
