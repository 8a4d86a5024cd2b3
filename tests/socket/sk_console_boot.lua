-- starts the console service and says so
local skynet = require "skynet"
skynet.start(function()
	skynet.newservice "console"
	skynet.error("BOOT ready")
end)
