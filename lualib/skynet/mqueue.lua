-- skynet.mqueue (deprecated; prefer skynet.queue): handle every message of the
-- "queue" protocol (PTYPE_QUEUE) one at a time, in arrival order, in a single
-- task.  A call answers with the handler's results packed after a success
-- flag; a send must not make the handler return anything or fail.

local skynet = require "skynet"
local core = require "skynet.core"

local mqueue = {}

local inbox = {}	-- { session =, addr =, args... } in arrival order
local idle_worker	-- the worker task while it waits for mail
local registered = false

skynet.register_protocol {
	name = "queue",
	id = skynet.PTYPE_QUEUE,
	pack = skynet.pack,
	unpack = skynet.unpack,
	dispatch = function(session, from, ...)
		skynet.ignoreret()	-- the worker answers, not this task
		inbox[#inbox + 1] = { session = session, addr = from, ... }
		if idle_worker then
			skynet.wakeup(idle_worker)
			idle_worker = nil
		end
	end,
}

local function serve(handler)
	while true do
		local mail = table.remove(inbox, 1)
		if mail == nil then
			idle_worker = coroutine.running()
			skynet.wait()
		elseif mail.session == 0 then
			local ok, result = pcall(handler, table.unpack(mail))
			if not ok then
				-- keep serving in a fresh task, report in this one
				skynet.fork(serve, handler)
				error(string.format("[:%x] send a message to [:%x] throw an error : %s",
					mail.addr, skynet.self(), tostring(result)))
			elseif result then
				skynet.fork(serve, handler)
				error(string.format("[:%x] send a message to [:%x] return something",
					mail.addr, skynet.self()))
			end
		else
			local msg, sz = skynet.pack(pcall(handler, table.unpack(mail)))
			core.send(mail.addr, skynet.PTYPE_RESPONSE, mail.session, msg, sz)
		end
	end
end

-- a call's answer: (true, results...) or (false, error), raised here
local function results(ok, ...)
	if not ok then
		error(...)
	end
	return ...
end

mqueue.register = function(handler)
	assert(not registered)
	registered = true
	skynet.fork(serve, handler)
end
mqueue.call = function(addr, ...) return results(skynet.call(addr, "queue", ...)) end
mqueue.send = function(addr, ...) return skynet.send(addr, "queue", ...) end
mqueue.size = function() return #inbox end

return mqueue
