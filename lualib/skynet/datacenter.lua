-- skynet.datacenter: a node-wide tree of values kept by the DATACENTER service.
--   get(k1, k2, ...)        value at that path (nil when absent)
--   set(k1, k2, ..., value) store value; returns the previous one
--   wait(k1, k2, ...)       like get, but blocks until the leaf is set

local skynet = require "skynet"

local DATACENTER = "DATACENTER"

local datacenter = {}

function datacenter.get(...)
	return skynet.call(DATACENTER, "lua", "QUERY", ...)
end

function datacenter.set(...)
	return skynet.call(DATACENTER, "lua", "UPDATE", ...)
end

function datacenter.wait(...)
	return skynet.call(DATACENTER, "lua", "WAIT", ...)
end

return datacenter
