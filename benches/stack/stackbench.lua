-- One benchmark per node, chosen by the config key `bench`; prints "BENCH <key> <value>" lines
-- on stderr, then aborts (the gate bench is ended by its driver instead).
local skynet = require "skynet"
require "skynet.manager"

local budget = tonumber(skynet.getenv("bench_seconds")) or 3

local function clock()
	return skynet.hpc() / 1e9
end

-- stderr, not skynet.error: the logger may not be flushed before skynet.abort()
local function report(key, value)
	io.stderr:write(string.format("BENCH %s %.6g\n", key, value))
end

local function game_message()
	local items = {}
	for i = 1, 10 do
		items[i] = { id = 1000 + i, count = i * 3, bind = (i % 2 == 0) }
	end
	return {
		id = 12345, uid = 987654321, name = "player_one", guild = "dragons of the north",
		level = 57, exp = 123456789, hp = 980, mp = 450, x = 12.75, online = true,
		vip = false, zone = 3, ts = 1700000000, chat = "hello world, see you at the gate",
		items = items,
	}
end

-- this node's resident memory, KB
local function rss_kb()
	local f = assert(io.open("/proc/self/status"))
	local kb = f:read("a"):match("VmRSS:%s*(%d+)")
	f:close()
	return tonumber(kb)
end

local benches = {}

function benches.pack()
	local msg = game_message()
	local pack, unpack, trash = skynet.pack, skynet.unpack, skynet.trash
	local n, start = 0, clock()
	local elapsed = 0
	repeat
		for _ = 1, 5000 do
			local m, sz = pack(msg)
			local t = unpack(m, sz)
			trash(m, sz)
			assert(t.zone == 3)
		end
		n = n + 5000
		elapsed = clock() - start
	until elapsed >= budget
	report("pack_unpack_ops_s", n / elapsed)
end

function benches.sharetable()
	local sharetable = require "skynet.sharetable"
	local data = game_message()
	data.version = 1
	sharetable.loadtable("benchdata", data)
	local n, start = 0, clock()
	local elapsed = 0
	repeat
		for _ = 1, 500 do
			local t = sharetable.query("benchdata")
			assert(t.version == 1)
		end
		n = n + 500
		elapsed = clock() - start
	until elapsed >= budget
	report("sharetable_query_s", n / elapsed)
	-- reload reaching 20 readers: each reader holds the table it queried; after the new
	-- version is loaded, each is told to sharetable.update and answers the version it sees.
	local readers = {}
	for i = 1, 20 do
		readers[i] = skynet.newservice("stack_reader")
		assert(skynet.call(readers[i], "lua", "query") == 1)
	end
	local best = math.huge
	for v = 2, 11 do
		data.version = v
		local t0 = clock()
		sharetable.loadtable("benchdata", data)
		local left = #readers
		local co_wait = {}
		for i = 1, #readers do
			skynet.fork(function()
				assert(skynet.call(readers[i], "lua", "update") == v)
				left = left - 1
				if left == 0 then skynet.wakeup(co_wait) end
			end)
		end
		skynet.wait(co_wait)
		best = math.min(best, clock() - t0)
	end
	report("sharetable_reload20_ms", best * 1000)
	-- memory of 100 readers of a table of a few MB: node VmRSS after each reader queried it
	-- and read some of it, less VmRSS with the readers started and the table loaded
	sharetable.loadstring("bigdata", [[
		local n = ...
		local items = {}
		for i = 1, n do
			items[i] = { id = i, name = "item" .. i, price = i * 1.5, tags = { "a", "b", i } }
		end
		return { items = items }
	]], 20000)
	local big = {}
	for i = 1, 100 do
		big[i] = skynet.newservice("stack_reader")
	end
	collectgarbage() collectgarbage()
	local before = rss_kb()
	for i = 1, #big do
		assert(skynet.call(big[i], "lua", "querybig") == 20000)
	end
	report("sharetable_rss100_kb", rss_kb() - before)
end

function benches.multicast()
	local mc = require "skynet.multicast"
	local subscribers = tonumber(skynet.getenv("mc_subscribers")) or 1000
	local publishes = tonumber(skynet.getenv("mc_publishes")) or 200
	local channel = mc.new()
	local me = skynet.self()
	local acks, waiting = 0, nil
	skynet.dispatch("lua", function(_, _, cmd)
		assert(cmd == "ack")
		acks = acks + 1
		if acks == subscribers and waiting then
			local co = waiting
			waiting = nil
			skynet.wakeup(co)
		end
	end)
	for _ = 1, subscribers do
		local s = skynet.newservice("stack_sub")
		skynet.call(s, "lua", "subscribe", channel.channel, me)
	end
	local start = clock()
	for i = 1, publishes do
		acks = 0
		waiting = coroutine.running()
		channel:publish("tick", i, "payload of a typical broadcast")
		skynet.wait(waiting)
	end
	local elapsed = clock() - start
	report("multicast_publish_s", publishes / elapsed)
end

function benches.gate()
	local port = assert(tonumber(skynet.getenv("gate_port")))
	local clients = 0
	local gate
	skynet.dispatch("lua", function(session, _, cmd, sub, fd)
		if cmd == "socket" then
			if sub == "open" then
				skynet.call(gate, "lua", "accept", fd)
				clients = clients + 1
				if clients % 100 == 0 then
					io.stderr:write("BENCH gate_clients " .. clients .. "\n")
				end
			end
			-- close / error / data: nothing to do
		elseif session ~= 0 then
			skynet.ret(skynet.pack(nil))
		end
	end)
	gate = skynet.newservice("gate")
	skynet.call(gate, "lua", "open", { address = "127.0.0.1", port = port, maxclient = 4096, nodelay = true })
	collectgarbage()
	io.stderr:write("BENCH gate_ready " .. port .. "\n")
end

skynet.start(function()
	local which = skynet.getenv("bench")
	local f = assert(benches[which], "unknown bench")
	f()
	if which ~= "gate" then
		skynet.abort()
	end
end)
