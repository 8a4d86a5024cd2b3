-- skynet.manager: service management extensions of the skynet module
-- (launch, kill, abort, register, name, forward_type, filter, monitor).
-- Requiring it returns the skynet module itself.

local skynet = require "skynet"
local core = require "skynet.core"

-- ":0000000a" or 10 -> 10; a name -> nil
local function as_handle(name)
	local kind = type(name)
	if kind == "number" then
		return name
	elseif kind == "string" then
		local hex = name:match "^:(%x+)"
		if hex then
			return tonumber(hex, 16)
		end
	end
end

-- Start a service directly through the core: skynet.launch("snlua", "name", ...)
function skynet.launch(...)
	local reply = core.command("LAUNCH", table.concat({ ... }, " "))
	if reply then
		return tonumber(reply:sub(2), 16)
	end
end

function skynet.kill(name)
	local handle = as_handle(name)
	if handle then
		skynet.send(".launcher", "lua", "REMOVE", handle, true)
		name = skynet.address(handle)
	end
	core.command("KILL", name)
end

function skynet.abort()
	core.command("ABORT")
end

-- Names starting with '.' are local to the node; other names are global and
-- go through the harbor.  Returns true when the name was handled as global.
local function register_global(name, handle)
	local first = name:sub(1, 1)
	assert(first ~= ":")
	if first == "." then
		return false
	end
	assert(#name < 16)	-- the harbor keeps global names in 16 bytes
	assert(tonumber(name) == nil)	-- a global name can't be a number
	require("skynet.harbor").globalname(name, handle)
	return true
end

function skynet.register(name)
	if not register_global(name) then
		core.command("REG", name)
	end
end

function skynet.name(name, handle)
	if not register_global(name, handle) then
		core.command("NAME", name .. " " .. skynet.address(handle))
	end
end

local dispatch_message = skynet.dispatch_message

-- Like skynet.start, but messages of type t are handled as type map[t].  The
-- host is told not to free messages: remapped ones belong to their new
-- protocol, the rest are freed here after dispatch.
function skynet.forward_type(map, start)
	core.callback(function(ptype, msg, sz, ...)
		local target = map[ptype]
		if target then
			dispatch_message(target, msg, sz, ...)
		else
			local ok, err = pcall(dispatch_message, ptype, msg, sz, ...)
			core.trash(msg, sz)
			if not ok then
				error(err, 0)
			end
		end
	end, true)
	skynet.timeout(0, function()
		skynet.init_service(start)
	end)
end

-- Like skynet.start, but every message first goes through f, which returns
-- the (possibly changed) dispatch arguments.
function skynet.filter(f, start)
	core.callback(function(...)
		dispatch_message(f(...))
	end)
	skynet.timeout(0, function()
		skynet.init_service(start)
	end)
end

-- Make the unique service `service` (global unique) the node's exit monitor.
function skynet.monitor(service, query)
	local addr
	if query then
		addr = skynet.queryservice(true, service)
	else
		addr = skynet.uniqueservice(true, service)
	end
	assert(addr, "Monitor launch failed")
	core.command("MONITOR", string.format(":%08x", addr))
	return addr
end

return skynet
