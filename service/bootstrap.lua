-- First Lua service of a node (config: bootstrap = "snlua bootstrap").
-- Brings up the launcher, the harbor slave (cdummy for a single node,
-- cmaster/cslave otherwise), DATACENTER and the service manager, then the
-- service named by `start` (default "main"), and leaves.

local service = require "skynet.service"
local skynet = require "skynet.manager"

-- A service the node cannot run without: if it fails to start, the node stops.
local function vital(name)
	local ok, addr = pcall(skynet.newservice, name)
	if not ok then
		skynet.abort()
	end
	return addr
end

-- Starts the harbor side; returns whether this node keeps the node-wide
-- state (it is the master, or alone).
local function start_harbor()
	local master = skynet.getenv "standalone"
	if tonumber(skynet.getenv "harbor" or 0) == 0 then
		-- harbor 0: a single node, its own master
		assert(master == nil)
		skynet.setenv("standalone", "true")
		skynet.name(".cslave", vital "cdummy")
		return true
	end
	if master then
		vital "cmaster"
	end
	skynet.name(".cslave", vital "cslave")
	return master ~= nil
end

-- With enablessl, a service holds the TLS library's global state.
local function hold_tls()
	service.new("ltls_holder", function()
		local tls = require "ltls.init.c"
		tls.constructor()
	end)
end

skynet.start(function()
	skynet.name(".launcher", assert(skynet.launch("snlua", "launcher")))
	if start_harbor() then
		skynet.name("DATACENTER", skynet.newservice "datacenterd")
	end
	skynet.newservice "service_mgr"
	if skynet.getenv "enablessl" == "true" then
		hold_tls()
	end
	pcall(skynet.newservice, skynet.getenv "start" or "main")
	skynet.exit()
end)
