-- .launcher: starts services for skynet.newservice and keeps the list of the
-- services it started.  A LAUNCH request is answered only when the new service
-- reports back: LAUNCHOK (its start function returned) or ERROR (it failed).

local skynet = require "skynet"
local core = require "skynet.core"
require "skynet.manager"

local services = {}		-- handle -> launch line ("snlua name args")
local waiting_ok = {}	-- handle -> response closure of the LAUNCH request
local launch_of = {}	-- handle -> session of that LAUNCH request

local NORET = {}		-- a command result meaning "already answered (or never)"

local command = {}

function command.LIST()
	local list = {}
	for handle, line in pairs(services) do
		list[skynet.address(handle)] = line
	end
	return list
end

-- ask every service the debug command `...`; format each answer
local function poll_all(ti, fmt, ...)
	local result = {}
	local unanswered = {}
	local batch = skynet.request()
	for handle in pairs(services) do
		local req = { handle, "debug", ... }
		batch:add(req)
		unanswered[req] = handle
	end
	for req, resp in batch:select(ti) do
		local handle = req[1]
		if resp then
			result[skynet.address(handle)] = fmt(resp[1], handle)
		else
			result[skynet.address(handle)] = fmt("ERROR", handle)
		end
		unanswered[req] = nil
	end
	for _, handle in pairs(unanswered) do
		result[skynet.address(handle)] = fmt("TIMEOUT", handle)
	end
	return result
end

function command.STAT(_, ti)
	return poll_all(ti, function(v) return v end, "STAT")
end

function command.KILL(_, handle)
	skynet.kill(handle)
	local ret = { [skynet.address(handle)] = tostring(services[handle]) }
	services[handle] = nil
	return ret
end

function command.MEM(_, ti)
	return poll_all(ti, function(kb, handle)
		local line = services[handle]
		if type(kb) == "string" then
			return string.format("%s (%s)", kb, line)
		end
		return string.format("%.2f Kb (%s)", kb, line)
	end, "MEM")
end

function command.GC(addr, ti)
	for handle in pairs(services) do
		skynet.send(handle, "debug", "GC")
	end
	return command.MEM(addr, ti)
end

function command.REMOVE(_, handle, kill)
	services[handle] = nil
	local respond = waiting_ok[handle]
	if respond then
		-- it died before reporting: newservice gets nil (error when killed)
		respond(not kill)
		waiting_ok[handle] = nil
		launch_of[handle] = nil
	end
	-- no answer: the requester may be the service that is gone
	return NORET
end

local function start(kind, ...)
	local args = table.concat({ ... }, " ")
	local handle = skynet.launch(kind, args)
	local session = skynet.context()
	local respond = skynet.response()
	if not handle then
		respond(false)
		return
	end
	services[handle] = kind .. " " .. args
	waiting_ok[handle] = respond
	launch_of[handle] = session
	return handle
end

function command.LAUNCH(_, kind, ...)
	start(kind, ...)
	return NORET
end

function command.LOGLAUNCH(_, kind, ...)
	local handle = start(kind, ...)
	if handle then
		core.command("LOGON", skynet.address(handle))
	end
	return NORET
end

function command.ERROR(address)
	-- the service failed to start
	local respond = waiting_ok[address]
	if respond then
		respond(false)
		waiting_ok[address] = nil
		launch_of[address] = nil
	end
	services[address] = nil
	return NORET
end

function command.LAUNCHOK(address)
	local respond = waiting_ok[address]
	if respond then
		respond(true, address)
		waiting_ok[address] = nil
		launch_of[address] = nil
	end
	return NORET
end

-- which service is being started by the LAUNCH request with this session
function command.QUERY(_, session)
	for handle, s in pairs(launch_of) do
		if s == session then
			return handle
		end
	end
end

-- C services report with text messages: "" for ok, "ERROR" for failure
skynet.register_protocol {
	name = "text",
	id = skynet.PTYPE_TEXT,
	unpack = skynet.tostring,
	dispatch = function(_, address, cmd)
		if cmd == "" then
			command.LAUNCHOK(address)
		elseif cmd == "ERROR" then
			command.ERROR(address)
		else
			error("Invalid text command " .. cmd)
		end
	end,
}

skynet.dispatch("lua", function(_, address, cmd, ...)
	local f = command[string.upper(cmd)]
	if f == nil then
		skynet.ret(skynet.pack { "Unknown command" })
		return
	end
	local ret = f(address, ...)
	if ret ~= NORET then
		skynet.ret(skynet.pack(ret))
	end
end)

skynet.start(function() end)
