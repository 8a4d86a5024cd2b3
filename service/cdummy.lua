-- .cslave of a single-node setup (harbor = 0).  Keeps the global names of
-- this node and answers name queries; the C "harbor" service it starts holds
-- messages sent to global names until the name is known.

local skynet = require "skynet"
require "skynet.manager"

local names = {}		-- global name -> handle
local name_waiters = {}	-- global name -> response closures waiting for it
local harbor_service

-- "harbor" (commands to the C service) and "text" (its notices) carry plain strings
local function as_is(...) return ... end
for name, id in pairs { harbor = skynet.PTYPE_HARBOR, text = skynet.PTYPE_TEXT } do
	skynet.register_protocol { name = name, id = id, pack = as_is, unpack = skynet.tostring }
end

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

-- A local ".name" is answered at once (with nothing when there is none), and
-- so is a registered global name; any other waits for its REGISTER.
function cmd.QUERYNAME(name)
	if name:sub(1, 1) == "." then
		return skynet.retpack(skynet.localname(name))
	end
	local handle = names[name]
	if handle ~= nil then
		return skynet.retpack(handle)
	end
	local list = name_waiters[name] or {}
	name_waiters[name] = list
	list[#list + 1] = skynet.response()
end

-- A single node has no other harbors to link to.
cmd.LINK = function() skynet.ret() end
cmd.CONNECT = function() skynet.error("Can't connect to other harbor in single node mode") end

skynet.start(function()
	if tonumber(skynet.getenv "harbor") ~= 0 then
		error("cdummy serves harbor = 0 only")
	end
	-- the harbor service's notices ("Q name" for a name nobody registered) need no handling
	skynet.dispatch("text", function() end)
	skynet.dispatch("lua", function(_, _, command, ...)
		local f = cmd[command]
		if not f then
			error("cdummy: unknown command " .. tostring(command))
		end
		f(...)
	end)
	harbor_service = skynet.launch("harbor", 0, skynet.self())
	if harbor_service == nil then
		-- keep the node usable for local work; only global names are lost
		skynet.error("cdummy: the harbor service could not be started; global names will not work")
	end
end)
