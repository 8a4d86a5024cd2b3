-- skynet.service: named singleton services built from a Lua function.
--
-- service.new(name, mainfunc, ...) starts (once per node) a service_cell that
-- runs string.dump(mainfunc) with ...; mainfunc must use no upvalue but _ENV.
-- The bookkeeping lives in the unique service "service_provider".

local skynet = require "skynet"
require "skynet.manager"	-- skynet.kill, for service.close

local service = {}
local known = {}	-- name -> address, as seen by this service
local provider

local function provider_addr()
	if provider == nil then
		provider = skynet.uniqueservice "service_provider"
	end
	return provider
end

local function assert_portable(fn)
	local info = debug.getinfo(fn, "u")
	assert(info.nups == 1)
	assert(debug.getupvalue(fn, 1) == "_ENV")
end

function service.new(name, mainfunc, ...)
	local p = provider_addr()
	local addr, booting = skynet.call(p, "lua", "test", name)
	if not addr then
		if booting then
			addr = skynet.call(p, "lua", "query", name)
		else
			assert_portable(mainfunc)
			addr = skynet.call(p, "lua", "launch", name, string.dump(mainfunc), ...)
		end
	end
	known[name] = addr
	return addr
end

function service.close(name)
	local addr = skynet.call(provider_addr(), "lua", "close", name)
	if addr then
		known[name] = nil
		skynet.kill(addr)
		return true
	end
	return false
end

function service.query(name)
	local addr = known[name]
	if not addr then
		addr = skynet.call(provider_addr(), "lua", "query", name)
		known[name] = addr
	end
	return addr
end

return service
