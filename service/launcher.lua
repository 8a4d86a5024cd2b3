-- .launcher: starts services for skynet.newservice and keeps the list of the
-- services it started.  A LAUNCH request is answered only when the new service
-- reports back: LAUNCHOK (its start function returned) or ERROR (it failed),
-- or when it is removed before that (REMOVE, sent by skynet.exit and
-- skynet.kill).

local skynet = require "skynet"
local core = require "skynet.core"
require "skynet.manager"

local lines = {}	-- handle -> "snlua name args", for every service it lists
local starting = {}	-- handle -> { answer = response of its LAUNCH, session = that request's }

-- What a command returns when it answers by itself, or must not answer.
local NORET = {}

local command = {}

---------------------------------------------------------------------------
-- starting services

-- Answers the LAUNCH request still waiting on handle, if any, with ...
local function settle(handle, ...)
	local s = starting[handle]
	if s then
		starting[handle] = nil
		s.answer(...)
	end
end

-- Launches kind with the arguments joined by spaces; the request is answered
-- later, through settle (or now, with an error, when the launch fails).
-- With log, the new service's messages go to the log (the LOGON command).
local function start(log, kind, ...)
	local args = table.concat({ ... }, " ")
	local handle = skynet.launch(kind, args)
	-- (taken after the launch: should it raise, the request fails at once)
	local session = skynet.context()
	local answer = skynet.response()
	if not handle then
		answer(false)
		return nil
	end
	lines[handle] = kind .. " " .. args
	starting[handle] = { answer = answer, session = session }
	if log then
		core.command("LOGON", skynet.address(handle))
	end
end

function command.LAUNCH(_, ...)
	start(false, ...)
	return NORET
end

function command.LOGLAUNCH(_, ...)
	start(true, ...)
	return NORET
end

-- from the new service: its start function returned
function command.LAUNCHOK(address)
	settle(address, true, address)
	return NORET
end

-- from the new service: its start failed
function command.ERROR(address)
	settle(address, false)
	lines[address] = nil
	return NORET
end

-- A service has gone.  If it never reported, newservice returns nil (exit
-- during start) or raises (killed).  Not answered: the sender may be the
-- service that is gone.
function command.REMOVE(_, handle, kill)
	lines[handle] = nil
	settle(handle, not kill)
	return NORET
end

-- The service the LAUNCH request with this session is starting (for
-- service_mgr's LIST).
function command.QUERY(_, session)
	for handle, s in pairs(starting) do
		if s.session == session then
			return handle
		end
	end
end

---------------------------------------------------------------------------
-- looking at the services (debug_console)

-- Asks every listed service the debug command `...` in one batch: address ->
-- show(answer, handle), where the answer is "ERROR" when the call failed and
-- "TIMEOUT" when none came within ti.
local function poll(ti, show, ...)
	local batch, silent = skynet.request(), {}
	for handle in pairs(lines) do
		silent[handle] = true
		batch:add { handle, "debug", ... }
	end
	local out = {}
	for req, resp in batch:select(ti) do
		local handle = req[1]
		silent[handle] = nil
		local answer = "ERROR"
		if resp then
			answer = resp[1]
		end
		out[skynet.address(handle)] = show(answer, handle)
	end
	for handle in pairs(silent) do
		out[skynet.address(handle)] = show("TIMEOUT", handle)
	end
	return out
end

-- address -> f(handle) for every listed service
local function by_address(f)
	local out = {}
	for handle in pairs(lines) do
		out[skynet.address(handle)] = f(handle)
	end
	return out
end

local function as_is(v)
	return v
end

-- "<kb> Kb (<line>)", or the failure word instead of the figure
local function mem_line(kb, handle)
	local pattern = type(kb) == "string" and "%s (%s)" or "%.2f Kb (%s)"
	return string.format(pattern, kb, lines[handle])
end

-- address -> launch line
function command.LIST()
	return by_address(function(handle) return lines[handle] end)
end

function command.STAT(_, ti)
	return poll(ti, as_is, "STAT")
end

function command.MEM(_, ti)
	return poll(ti, mem_line, "MEM")
end

function command.GC(addr, ti)
	for handle in pairs(lines) do
		skynet.send(handle, "debug", "GC")
	end
	return command.MEM(addr, ti)
end

function command.KILL(_, handle)
	skynet.kill(handle)
	local line = lines[handle]
	lines[handle] = nil
	return { [skynet.address(handle)] = tostring(line) }
end

---------------------------------------------------------------------------
-- protocols

-- C services report with text messages: "" when started, "ERROR" when not.
local text_reports = { [""] = command.LAUNCHOK, ERROR = command.ERROR }

skynet.register_protocol {
	name = "text",
	id = skynet.PTYPE_TEXT,
	unpack = skynet.tostring,
	dispatch = function(_, address, msg)
		local report = text_reports[msg]
		if not report then
			error("Invalid text command " .. msg)
		end
		report(address)
	end,
}

skynet.dispatch("lua", function(_, address, cmd, ...)
	local f = command[string.upper(cmd)]
	if not f then
		return skynet.retpack { "Unknown command" }
	end
	local result = f(address, ...)
	if result ~= NORET then
		skynet.retpack(result)
	end
end)

skynet.start(function() end)
