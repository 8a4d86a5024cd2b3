-- Client node of benches/cluster.sh: sequential calls (round trips/s, p50/p99 latency),
-- pipelined sends (sends/s, counted at the far end), and 1 MB replies (ms each).
local skynet = require "skynet"
require "skynet.manager"

local mode = skynet.getenv "bench_mode"
local calls = tonumber(skynet.getenv "bench_calls" or 20000)
local sends = tonumber(skynet.getenv "bench_sends" or 100000)
local bigs = tonumber(skynet.getenv "bench_bigs" or 20)

local call, send
if mode == "harbor" then
	local harbor = require "skynet.harbor"
	local target
	call = function(...)
		target = target or harbor.queryname "BECHO"
		return skynet.call(target, "lua", ...)
	end
	send = function(...) skynet.send(target, "lua", ...) end
else
	local cluster = require "skynet.cluster"
	local reloaded
	call = function(...)
		if not reloaded then
			reloaded = true
			cluster.reload { server = skynet.getenv "bench_addr" }
		end
		return cluster.call("server", "@becho", ...)
	end
	send = function(...) cluster.send("server", "@becho", ...) end
end

local function now() return skynet.hpc() / 1e9 end

local function report(what, fmt, ...)
	print(string.format("BENCH %s %s " .. fmt, mode, what, ...))
end

skynet.start(function()
	for i = 1, 200 do call("echo", i) end	-- warm up
	local lat = {}
	local t0 = now()
	for i = 1, calls do
		local a = now()
		call("echo", i)
		lat[i] = now() - a
	end
	local t = now() - t0
	table.sort(lat)
	report("call", "%.0f /s p50 %.1f us p99 %.1f us", calls / t, lat[calls // 2] * 1e6, lat[calls * 99 // 100] * 1e6)

	local before = call("count")
	t0 = now()
	for _ = 1, sends do send("sink") end
	while call("count") < before + sends do skynet.sleep(1) end
	t = now() - t0
	report("send", "%.0f /s", sends / t)

	local mb = 1024 * 1024
	call("big", mb)
	t0 = now()
	for _ = 1, bigs do assert(#call("big", mb) == mb) end
	t = now() - t0
	report("1MB", "%.2f ms per reply", t / bigs * 1000)
	print("BENCH done")
	skynet.abort()
end)
