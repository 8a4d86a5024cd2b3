-- skynet.harbor: global names and links of a master/slave network, through the local
-- ".cslave" (service/cslave.lua; service/cdummy.lua when harbor = 0).
--   globalname(name [, handle])  name handle (default: this service) on every harbor
--   queryname(name)              the handle of a global name (".name": a local one); blocks
--                                until someone registers it
--   link(id)                     blocks while harbor id is linked: returns once it is gone
--   connect(id)                  blocks until harbor id is linked
--   linkmaster()                 blocks until the master is gone

local skynet = require "skynet"

local SLAVE = ".cslave"

local harbor = {}

-- give the global name `name` to handle (default: this service)
function harbor.globalname(name, handle)
	skynet.send(SLAVE, "lua", "REGISTER", name, handle or skynet.self())
end

-- address of a global name; blocks until someone registers it
function harbor.queryname(name)
	return skynet.call(SLAVE, "lua", "QUERYNAME", name)
end

-- block until harbor `id` is connected
function harbor.link(id)
	skynet.call(SLAVE, "lua", "LINK", id)
end

-- block until harbor `id` is connected, starting the connection if needed
function harbor.connect(id)
	skynet.call(SLAVE, "lua", "CONNECT", id)
end

-- block until the connection to the master is up
function harbor.linkmaster()
	skynet.call(SLAVE, "lua", "LINKMASTER")
end

return harbor
