-- First Lua service of a node (config: bootstrap = "snlua bootstrap").
-- Brings up the launcher, the harbor slave (cdummy for a single node,
-- cmaster/cslave otherwise), DATACENTER and the service manager, then the
-- service named by `start` (default "main"), and leaves.

local service = require "skynet.service"
local skynet = require "skynet.manager"

skynet.start(function()
	local standalone = skynet.getenv "standalone"

	local launcher = assert(skynet.launch("snlua", "launcher"))
	skynet.name(".launcher", launcher)

	local harbor_id = tonumber(skynet.getenv "harbor" or 0)
	if harbor_id == 0 then
		-- one node: it is its own master
		assert(standalone == nil)
		standalone = true
		skynet.setenv("standalone", "true")
		local ok, slave = pcall(skynet.newservice, "cdummy")
		if not ok then
			skynet.abort()
		end
		skynet.name(".cslave", slave)
	else
		if standalone then
			if not pcall(skynet.newservice, "cmaster") then
				skynet.abort()
			end
		end
		local ok, slave = pcall(skynet.newservice, "cslave")
		if not ok then
			skynet.abort()
		end
		skynet.name(".cslave", slave)
	end

	if standalone then
		skynet.name("DATACENTER", skynet.newservice "datacenterd")
	end
	skynet.newservice "service_mgr"

	if skynet.getenv "enablessl" == "true" then
		service.new("ltls_holder", function()
			local c = require "ltls.init.c"
			c.constructor()
		end)
	end

	pcall(skynet.newservice, skynet.getenv "start" or "main")
	skynet.exit()
end)
