-- Spawns `spawn_count` idle services one by one; prints the RSS each adds and the rate.
local skynet = require "skynet"
require "skynet.manager"

local function rss_kb()
	local f = assert(io.open("/proc/self/status"))
	local text = f:read("a")
	f:close()
	return tonumber(text:match("VmRSS:%s*(%d+)"))
end

skynet.start(function()
	local n = tonumber(skynet.getenv("spawn_count")) or 2000
	collectgarbage()
	local before = rss_kb()
	local start = skynet.now()
	for _ = 1, n do
		skynet.newservice("idle")
	end
	local seconds = math.max((skynet.now() - start) / 100, 0.01)
	local each = (rss_kb() - before) / n
	io.stderr:write(string.format("BENCH idle %d services %.1f KB each %.0f spawns/s\n", n, each, n / seconds))
	skynet.abort()
end)
