-- clusterproxy: a local stand-in for a service of another node (cluster.proxy). Every lua
-- (or snax) message sent to it goes, still packed, to `address` on `node`: a call waits for
-- the remote reply, a send becomes a push.
local skynet = require "skynet"
require "skynet.manager"	-- skynet.forward_type

local node, address = ...

-- requests (lua, snax) are taken raw, as "system" messages, to go on packed as they are;
-- responses keep their own type, so that their payload is not freed here
skynet.forward_type({
	[skynet.PTYPE_LUA] = skynet.PTYPE_SYSTEM,
	[skynet.PTYPE_SNAX] = skynet.PTYPE_SYSTEM,
	[skynet.PTYPE_RESPONSE] = skynet.PTYPE_RESPONSE,
}, function()
	skynet.register_protocol {
		name = "system",
		id = skynet.PTYPE_SYSTEM,
		unpack = function(msg, sz) return msg, sz end,
	}
	local target = tonumber(address) or address
	local sender = skynet.call(skynet.uniqueservice "clusterd", "lua", "sender", node)
	skynet.dispatch("system", function(session, _, msg, sz)
		if session ~= 0 then
			-- the sender's reply (msg, sz) is handed back as our own
			return skynet.ret(skynet.rawcall(sender, "lua", skynet.pack("req", target, msg, sz)))
		end
		skynet.send(sender, "lua", "push", target, msg, sz)
	end)
end)
