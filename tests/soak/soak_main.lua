-- The soak node: a line echo server for the load driver, services spawned and killed while
-- calls to them are in flight, and a timer chain. Every `report` seconds it logs
--   SOAK t=<s> spawned=<n> calls=<n> failed_ok=<n> hung=<n> bad=<n> ticks=<n>
-- where failed_ok counts calls to killed services that failed as they must, hung counts
-- calls still unanswered 5 s after their service was killed, bad counts wrong answers.
local skynet = require "skynet"
local socket = require "skynet.socket"
require "skynet.manager"	-- skynet.kill

local port = assert(tonumber(skynet.getenv "soak_port"), "soak_port")
local report = tonumber(skynet.getenv "soak_report") or 10
local stats = { spawned = 0, calls = 0, failed_ok = 0, hung = 0, bad = 0, ticks = 0 }
local waiting = {}	-- call id -> time its service was killed (nil before the kill)

local function echo(fd)
	socket.start(fd)
	while true do
		local line = socket.readline(fd, "\n")
		if not line then
			break
		end
		socket.write(fd, line .. "\n")
	end
	socket.close(fd)
end

local function churn()
	local n = 0
	while true do
		local w = skynet.newservice("soak_worker")
		stats.spawned = stats.spawned + 1
		n = n + 1
		local id = n
		waiting[id] = false
		skynet.fork(function()
			local ok = pcall(skynet.call, w, "lua", "hang")
			if ok then
				stats.bad = stats.bad + 1
			else
				stats.failed_ok = stats.failed_ok + 1
			end
			waiting[id] = nil
		end)
		local v = skynet.call(w, "lua", "echo", n)
		stats.calls = stats.calls + 1
		if v ~= n then
			stats.bad = stats.bad + 1
		end
		skynet.kill(w)
		if waiting[id] == false then
			waiting[id] = skynet.now()
		end
		skynet.sleep(2)
	end
end

local function ticker()
	while true do
		skynet.sleep(1)
		stats.ticks = stats.ticks + 1
	end
end

local function reporter()
	local start = skynet.now()
	while true do
		skynet.sleep(report * 100)
		local now = skynet.now()
		local hung = 0
		for _, killed in pairs(waiting) do
			if killed and now - killed > 500 then
				hung = hung + 1
			end
		end
		stats.hung = hung
		skynet.error(string.format("SOAK t=%d spawned=%d calls=%d failed_ok=%d hung=%d bad=%d ticks=%d",
			(now - start) // 100, stats.spawned, stats.calls, stats.failed_ok, stats.hung, stats.bad, stats.ticks))
	end
end

skynet.start(function()
	local listener = socket.listen("127.0.0.1", port)
	socket.start(listener, function(fd)
		skynet.fork(echo, fd)
	end)
	skynet.fork(churn)
	skynet.fork(ticker)
	skynet.fork(reporter)
	skynet.error("SOAK listening on", port)
end)
