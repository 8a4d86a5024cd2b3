-- The service called across nodes in the cluster test: echo, big (a reply of n bytes), push
-- (counted), count, hang (never answered).
local skynet = require "skynet"

local pushes = 0

local cmd = {}
function cmd.echo(s) return s end
function cmd.big(n) return string.rep("R", n) end
function cmd.push(i) pushes = pushes + 1 end
function cmd.count() return pushes end
function cmd.node() return skynet.getenv "nodename" end
function cmd.hang()
	print("[cluster-test] hang received")
	skynet.wait()
end

skynet.start(function()
	skynet.dispatch("lua", function(session, _, c, ...)
		local f = assert(cmd[c], c)
		if session == 0 then
			f(...)
		else
			skynet.retpack(f(...))
		end
	end)
end)
