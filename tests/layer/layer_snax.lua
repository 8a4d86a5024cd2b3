-- A snax service for tests/layer: a counter with a hotfix-able accept method.
local skynet = require "skynet"

local count = 0
local name

function init(n)
	name = n
end

function response.get()
	return name, count
end

function accept.add(n)
	count = count + n
end

function response.fail()
	error("layer_snax fails")
end

function exit()
	skynet.error("layer_snax exit", name)
end
