-- A node through the Lua layer: launching services, their arguments, a call round trip,
-- what the loader sets, and the preload file.
local skynet = require "skynet"
require "skynet.manager"
local t = require "check"
local check = t.check

skynet.start(function()
	check(SERVICE_NAME == "test_minimal", "SERVICE_NAME", SERVICE_NAME)
	check(SERVICE_PATH == "tests/lua/", "SERVICE_PATH is the service's folder", SERVICE_PATH)
	check(LUA_SERVICE == nil and LUA_PATH == nil and LUA_CPATH == nil and LUA_PRELOAD == nil,
		"the loader consumed its globals")
	check(LT_PRELOADED == "test_minimal", "the preload file ran with the launch line", LT_PRELOADED)
	check(type(debug.getregistry().skynet_context) == "userdata", "registry.skynet_context")
	check(collectgarbage("isrunning"), "the collector runs once the service has started")
	local echo = skynet.newservice("lt_echo", "hello", "world")
	local a, b, c = skynet.call(echo, "lua", "args")
	check(a == "hello" and b == "world" and c == nil, "launch arguments reach the service", a, b, c)
	check(skynet.call(echo, "lua", "echo", 42, "x") == 42, "a call round trip")
	local name, path, preloaded = skynet.call(echo, "lua", "env")
	check(name == "lt_echo" and path == "tests/lua/", "another service's SERVICE_NAME and SERVICE_PATH", name, path)
	check(preloaded == "lt_echo hello world", "preload ran for it too", preloaded)
	local n = 0
	for i = 1, 50 do
		local s = skynet.newservice("lt_echo", i)
		n = n + (skynet.call(s, "lua", "args") == tostring(i) and 1 or 0)
		skynet.kill(s)
	end
	check(n == 50, "fifty services launched, called and killed", n)
	t.finish("test_minimal")
	skynet.abort()
end)
