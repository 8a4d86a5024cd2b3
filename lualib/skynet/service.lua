-- skynet.service: named singleton services built from a Lua function.
--
-- service.new(name, mainfunc, ...) starts (once per node) a service_cell that
-- runs string.dump(mainfunc) with ...; mainfunc must use no upvalue but _ENV.
-- The bookkeeping lives in the unique service "service_provider".

local skynet = require "skynet"
require "skynet.manager"	-- skynet.kill, for service.close

local service = {}
local seen = {}	-- name -> address, as this service last learned it

-- Calls the provider (started on first use).
local provider
local function ask(...)
	provider = provider or skynet.uniqueservice "service_provider"
	return skynet.call(provider, "lua", ...)
end

-- Only a function whose single upvalue is _ENV survives string.dump and load.
local function check_portable(fn)
	assert(debug.getinfo(fn, "u").nups == 1)
	assert(debug.getupvalue(fn, 1) == "_ENV")
end

function service.new(name, mainfunc, ...)
	local addr, booting = ask("test", name)
	if addr == nil then
		if not booting then
			check_portable(mainfunc)
			addr = ask("launch", name, string.dump(mainfunc), ...)
		else
			addr = ask("query", name)	-- somebody else is starting it
		end
	end
	seen[name] = addr
	return addr
end

function service.query(name)
	local addr = seen[name] or ask("query", name)
	seen[name] = addr
	return addr
end

-- Stops the service; false when there is none (or it is still starting).
function service.close(name)
	local addr = ask("close", name)
	if not addr then
		return false
	end
	seen[name] = nil
	skynet.kill(addr)
	return true
end

return service
