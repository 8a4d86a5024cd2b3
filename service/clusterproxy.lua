-- clusterproxy: a local stand-in for a service of another node (cluster.proxy). Every lua
-- (or snax) message sent to it goes, still packed, to `address` on `node`: a call waits for
-- the remote reply, a send becomes a push.
local skynet = require "skynet"
local cluster = require "skynet.cluster"
require "skynet.manager"	-- skynet.forward_type

local node, address = ...

skynet.register_protocol {
	name = "system",
	id = skynet.PTYPE_SYSTEM,
	unpack = function(...) return ... end,
}

-- lua and snax requests arrive as "system" messages with their payload untouched;
-- responses keep their type (and their payload is not freed here)
local forward = {
	[skynet.PTYPE_LUA] = skynet.PTYPE_SYSTEM,
	[skynet.PTYPE_SNAX] = skynet.PTYPE_SYSTEM,
	[skynet.PTYPE_RESPONSE] = skynet.PTYPE_RESPONSE,
}

skynet.forward_type(forward, function()
	local clusterd = skynet.uniqueservice("clusterd")
	address = tonumber(address) or address
	local sender = skynet.call(clusterd, "lua", "sender", node)
	skynet.dispatch("system", function(session, source, msg, sz)
		if session == 0 then
			skynet.send(sender, "lua", "push", address, msg, sz)
		else
			skynet.ret(skynet.rawcall(sender, "lua", skynet.pack("req", address, msg, sz)))
		end
	end)
end)
