-- sharedata: 100 services read while the data is replaced 20 times; each sees the
-- version it had or a newer one, never a torn or older one, and nothing crashes. After
-- delete every tree is freed and the node's memory is back near where it started.
local skynet = require "skynet"
local sharedata = require "skynet.sharedata"
local check = require "check"

local mode = ...
local READERS, VERSIONS, ITEMS = 100, 20, 64
local BIG = 2 * 1024 * 1024

local function version(v)
	local items = {}
	for i = 1, ITEMS do items[i] = v end
	return { version = v, items = items, nested = { deep = { v = v, name = "v" .. v } },
		blob = string.rep(string.char(65 + v % 26), BIG) }
end

if mode == "reader" then
	skynet.start(function()
		local t = sharedata.query "data"
		local deep = t.nested.deep      -- a sub view kept across updates
		local last, errors, reads = 0, 0, 0
		local done = false
		local waiter
		skynet.fork(function()
			local i = 0
			while not done do
				i = i + 1
				local v = t.version
				local item = t.items[1 + i % ITEMS]
				local dv = deep.v
				reads = reads + 1
				if v < last or item < v or dv < item or deep.name ~= "v" .. dv or #t.items ~= ITEMS then
					errors = errors + 1
				end
				last = dv
				if last == VERSIONS then
					done = true
				else
					skynet.yield()
				end
			end
			if waiter then skynet.wakeup(waiter) end
		end)
		skynet.dispatch("lua", function()
			if not done then
				waiter = coroutine.running()
				skynet.wait(waiter)
			end
			skynet.retpack(errors, reads, last)
			skynet.exit()
		end)
	end)
	return
end

local memory = require "skynet.memory"

local function wait_freed(c)
	local stat
	for _ = 1, 100 do
		stat = skynet.call(skynet.uniqueservice "sharedatad", "lua", "stat")
		if stat.live == 0 then break end
		skynet.sleep(10)
	end
	return stat
end

skynet.start(function()
	local c = check.new("sharedata")
	collectgarbage() collectgarbage()
	local base = memory.total()
	-- the API on a small table first
	sharedata.new("small", { a = 1, b = { c = "x", d = { 1, 2, 3 } }, [10] = true })
	local s = sharedata.query "small"
	c:eq(s.a, 1, "field")
	c:eq(s.b.c, "x", "nested field")
	c:eq(#s.b.d, 3, "length")
	c:eq(s[10], true, "integer key")
	c:ok(s.b == s.b, "a sub view is one object")
	c:raises("Error newindex", "views are read-only", function() s.a = 2 end)
	local keys = {}
	for k in pairs(s) do keys[#keys + 1] = tostring(k) end
	table.sort(keys)
	c:eq(table.concat(keys, ","), "10,a,b", "pairs")
	local copy = sharedata.deepcopy("small")
	c:ok(copy.b.d[2] == 2 and getmetatable(copy) == nil, "deepcopy")
	c:eq(sharedata.deepcopy("small", "b", "c"), "x", "deepcopy of a path")
	sharedata.update("small", { a = 2, b = { c = "y" } })
	-- the view learns of the update from its monitor request, answered in turn
	for _ = 1, 100 do
		sharedata.flush()
		if s.a == 2 then break end
		skynet.yield()
	end
	c:eq(s.a, 2, "update seen after flush")
	c:eq(s.b.c, "y", "nested update")
	c:eq(s.b.d, nil, "a removed key")
	sharedata.new("code", "x = 5 y = { ... }", 7)
	c:eq(sharedata.query("code").x, 5, "new from Lua source")
	c:eq(sharedata.query("code").y[1], 7, "source gets the extra arguments")
	sharedata.delete("code")
	sharedata.delete("small")
	c:raises(nil, "query of a deleted name", sharedata.query, "nosuch")

	-- readers under updates
	sharedata.new("data", version(0))
	local readers = {}
	for i = 1, READERS do
		readers[i] = skynet.newservice(SERVICE_NAME, "reader")
	end
	local peak = memory.total()
	for v = 1, VERSIONS do
		sharedata.update("data", version(v))
		skynet.sleep(1)     -- let the readers run between updates
		peak = math.max(peak, memory.total())
	end
	local bad, total_reads = 0, 0
	for i = 1, READERS do
		local errors, reads, last = skynet.call(readers[i], "lua", "report")
		total_reads = total_reads + reads
		if errors > 0 or last ~= VERSIONS then bad = bad + 1 end
	end
	c:eq(bad, 0, "readers that saw a torn or older version")
	skynet.error(string.format("sharedata: %d readers, %d reads over %d updates", READERS, total_reads, VERSIONS))
	sharedata.delete("data")
	s, copy = nil, nil
	collectgarbage() collectgarbage()
	local stat = wait_freed(c)
	c:eq(stat.live, 0, "trees left after delete")
	collectgarbage() collectgarbage()
	local final = memory.total()
	skynet.error(string.format("sharedata: memory base %.1f MB, peak %.1f MB, after delete %.1f MB",
		base / 1048576, peak / 1048576, final / 1048576))
	c:ok(peak - base > BIG, "the data took memory")
	c:ok(final - base < BIG * 3 // 4, string.format("LEAK: %d bytes more than at the start", final - base))
	c:done()
end)
