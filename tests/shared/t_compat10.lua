-- compat10: each old name gives the very module of its new name (where that module exists
-- in this tree), and there is an old name for each of skynet 1.0's modules.
local skynet = require "skynet"
local check = require "check"

local names = {
	cluster = "skynet.cluster", crypt = "skynet.crypt", datacenter = "skynet.datacenter",
	dns = "skynet.dns", memory = "skynet.memory", mongo = "skynet.db.mongo",
	mqueue = "skynet.mqueue", multicast = "skynet.multicast", mysql = "skynet.db.mysql",
	netpack = "skynet.netpack", profile = "skynet.profile", redis = "skynet.db.redis",
	sharedata = "skynet.sharedata", sharemap = "skynet.sharemap", snax = "skynet.snax",
	socket = "skynet.socket", socketchannel = "skynet.socketchannel",
	socketdriver = "skynet.socketdriver", stm = "skynet.stm",
}

skynet.start(function()
	local c = check.new("compat10")
	local checked = 0
	for old, new in pairs(names) do
		c:ok(package.searchpath("compat10." .. old, package.path), "compat10/" .. old .. ".lua exists")
		local ok, mod = pcall(require, new)
		if ok then
			c:ok(require("compat10." .. old) == mod, old .. " is " .. new)
			checked = checked + 1
		end
	end
	skynet.error("compat10: " .. checked .. " aliases resolved to modules of this tree")
	c:ok(checked >= 8, "most aliases resolve")
	c:done()
end)
