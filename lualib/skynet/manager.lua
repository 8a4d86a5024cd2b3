-- skynet.manager: service management extensions of the skynet module
-- (launch, kill, abort, register, name, forward_type, filter, monitor).
-- Requiring it returns the skynet module itself.

local skynet = require "skynet"
local core = require "skynet.core"

---------------------------------------------------------------------------
-- starting and stopping services

-- Starts a service directly through the core: skynet.launch("snlua", "name", ...).
-- The core answers ":<hex handle>", or nothing when the launch failed.
function skynet.launch(...)
	local reply = core.command("LAUNCH", table.concat({ ... }, " "))
	if reply then
		return tonumber(reply:sub(2), 16)
	end
end

-- 10 or ":0000000a" -> 10; anything else (a name) -> nil
local function as_handle(name)
	if type(name) == "number" then
		return name
	end
	local hex = type(name) == "string" and name:match "^:(%x+)"
	return hex and tonumber(hex, 16) or nil
end

-- Kills a service by handle or name.  A handle is first taken off the
-- launcher's list (a newservice still waiting on it fails).
function skynet.kill(name)
	local handle = as_handle(name)
	if handle == nil then
		core.command("KILL", name)
		return
	end
	skynet.send(".launcher", "lua", "REMOVE", handle, true)
	core.command("KILL", skynet.address(handle))
end

function skynet.abort()
	core.command("ABORT")
end

---------------------------------------------------------------------------
-- names
--
-- A name starting with '.' belongs to this node.  Any other name is global:
-- the harbor keeps it (in 16 bytes, so shorter than that, and never a number).

local function is_local(name)
	local first = name:sub(1, 1)
	assert(first ~= ":")
	return first == "."
end

local function name_globally(name, handle)
	assert(#name < 16)
	assert(tonumber(name) == nil)
	require("skynet.harbor").globalname(name, handle)
end

function skynet.register(name)
	if is_local(name) then
		core.command("REG", name)
	else
		name_globally(name)
	end
end

function skynet.name(name, handle)
	if is_local(name) then
		core.command("NAME", name .. " " .. skynet.address(handle))
	else
		name_globally(name, handle)
	end
end

---------------------------------------------------------------------------
-- other ways to start: skynet.start with a callback of one's own

local dispatch_message = skynet.dispatch_message

-- the start function runs once the service body is done, as skynet.start's
local function start_soon(start)
	skynet.timeout(0, function()
		skynet.init_service(start)
	end)
end

-- Messages of type t are handled as type map[t].  The host is told not to
-- free messages (the `true`): a remapped one belongs to its new protocol, any
-- other is freed here once dispatched.
function skynet.forward_type(map, start)
	core.callback(function(ptype, msg, sz, ...)
		local as = map[ptype]
		if as then
			dispatch_message(as, msg, sz, ...)
			return
		end
		local ok, err = pcall(dispatch_message, ptype, msg, sz, ...)
		core.trash(msg, sz)
		if not ok then error(err) end
	end, true)
	start_soon(start)
end

-- Every message goes through f first, which returns the dispatch arguments
-- (the same or changed).
function skynet.filter(f, start)
	core.callback(function(...)
		dispatch_message(f(...))
	end)
	start_soon(start)
end

-- Makes the global unique service `service` the node's exit monitor: started
-- now, or (query) one that another node starts.
function skynet.monitor(service, query)
	local find = query and skynet.queryservice or skynet.uniqueservice
	local addr = find(true, service)
	assert(addr, "Monitor launch failed")
	core.command("MONITOR", skynet.address(addr))
	return addr
end

return skynet
