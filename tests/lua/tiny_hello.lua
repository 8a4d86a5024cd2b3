print("hello from", SERVICE_NAME, ...)
print("globals", LUA_PATH, LUA_CPATH, LUA_SERVICE, LUA_PRELOAD)
print("profile", package.loaded["skynet.profile"] ~= nil, coroutine.resume == require("skynet.profile").resume)
local cc = require "skynet.codecache"
print("codecache", cc.mode(), cc.loadfile == loadfile)
cc.mode "OFF"
print("codecache", cc.mode(), pcall(cc.mode, "BAD"))
print("context", type(debug.getregistry().skynet_context))
local p = require "skynet.profile"
local co = coroutine.create(function(n) local x = 0 for i = 1, n do x = x + i end coroutine.yield(x) return "done" end)
p.start(co)
print("resume", coroutine.resume(co, 1000000))
print("resume", coroutine.resume(co))
print("cpu > 0", p.stop(co) > 0)
print("wrap", coroutine.wrap(function(a) return a * 2 end)(21))
print("wrap error", pcall(coroutine.wrap(function() error("boom") end)))
debug.getregistry().memlimit = 1024 * 1024
