-- .cslave of a single-node setup (harbor = 0).  Keeps the global names of
-- this node and answers name queries; the C "harbor" service it starts holds
-- messages sent to global names until the name is known.

local skynet = require "skynet"
require "skynet.manager"

local names = {}		-- global name -> handle
local name_waiters = {}	-- global name -> response closures waiting for it
local harbor_service

skynet.register_protocol {
	name = "harbor",
	id = skynet.PTYPE_HARBOR,
	pack = function(...) return ... end,
	unpack = skynet.tostring,
}

skynet.register_protocol {
	name = "text",
	id = skynet.PTYPE_TEXT,
	pack = function(...) return ... end,
	unpack = skynet.tostring,
}

local cmd = {}

function cmd.REGISTER(name, handle)
	assert(names[name] == nil)
	names[name] = handle
	local waiters = name_waiters[name]
	if waiters then
		name_waiters[name] = nil
		for _, respond in ipairs(waiters) do
			respond(true, handle)
		end
	end
	-- tell the harbor service: "N <name>", sent on behalf of the handle
	if harbor_service then
		skynet.redirect(harbor_service, handle, "harbor", 0, "N " .. name)
	end
end

function cmd.QUERYNAME(name)
	if name:byte() == 46 then	-- '.': a local name
		skynet.ret(skynet.pack(skynet.localname(name)))
		return
	end
	local handle = names[name]
	if handle then
		skynet.ret(skynet.pack(handle))
		return
	end
	local waiters = name_waiters[name]
	if waiters == nil then
		waiters = {}
		name_waiters[name] = waiters
	end
	waiters[#waiters + 1] = skynet.response()
end

function cmd.LINK(id)
	skynet.ret()
end

function cmd.CONNECT(id)
	skynet.error("Can't connect to other harbor in single node mode")
end

skynet.start(function()
	local harbor_id = tonumber(skynet.getenv "harbor")
	assert(harbor_id == 0)

	skynet.dispatch("lua", function(_, _, command, ...)
		local f = assert(cmd[command])
		f(...)
	end)
	skynet.dispatch("text", function()
		-- the harbor service's notices need no handling here
	end)

	harbor_service = skynet.launch("harbor", harbor_id, skynet.self())
	if harbor_service == nil then
		-- keep the node usable for local work; only global names are lost
		skynet.error("cdummy: the harbor service could not be started; global names will not work")
	end
end)
