-- An idle service: what a Lua service weighs with nothing of its own.
local skynet = require "skynet"
skynet.start(function() end)
