-- Puts the example's schemas in sproto's process-wide slots: 1 = c2s, 2 = s2c, for
-- sprotoloader.load in the agents. It stays alive: the slots live as long as the process.
package.path = "./examples/?.lua;" .. package.path

local skynet = require "skynet"
local sprotoloader = require "sprotoloader"
local proto = require "proto"

skynet.start(function()
	sprotoloader.save(proto.c2s, 1)
	sprotoloader.save(proto.s2c, 2)
end)
