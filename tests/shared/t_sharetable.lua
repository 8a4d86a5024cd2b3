-- sharetable: every service reads the very same tables (our Lua's boxes), read-only; 100
-- services query and read while the table is reloaded 20 times; update() moves each
-- service's references (locals, upvalues, table fields and keys, metatables, coroutines) to
-- the newest load; a few-MB table read by 100 services costs about one copy; an old version
-- is freed once the services that queried it exit; a service that had its own copy of one of
-- the strings gets a private copy with the right values.
local skynet = require "skynet"
local sharetable = require "skynet.sharetable"
local core = require "skynet.sharetable.core"
local check = require "check"

local mode = ...
local READERS, VERSIONS = 100, 20
local BIG_ITEMS = 20000

local function data(v)
	local list = {}
	for i = 1, 100 do list[i] = v * 1000 + i end
	return { version = v, list = list, sub = { v = v, name = "v" .. v } }
end

-- this process's resident memory, in bytes
local function rss()
	local f = assert(io.open("/proc/self/status"))
	local text = f:read "a"
	f:close()
	return tonumber(text:match "VmRSS:%s*(%d+)") * 1024
end

if mode == "reader" then
	skynet.start(function()
		local t = sharetable.query "cfg"
		local sub = t.sub
		local last, errors = -1, 0
		skynet.dispatch("lua", function(_, _, cmd)
			if cmd == "read" then
				sharetable.update "cfg"
				local v = t.version
				if v < last or t.list[7] ~= v * 1000 + 7 or #t.list ~= 100 or sub.v ~= v or sub.name ~= "v" .. v then
					errors = errors + 1
				end
				last = v
				skynet.retpack(v, errors)
			elseif cmd == "exit" then
				skynet.retpack(errors, core.isshared(t) and core.isshared(sub))
				skynet.exit()
			end
		end)
	end)
	return
elseif mode == "big" then
	skynet.start(function()
		local held
		skynet.dispatch("lua", function(_, _, cmd)
			if cmd == "query" then
				held = sharetable.query "big"
				local sum = 0
				for i = 1, #held.items, 997 do sum = sum + held.items[i].id end
				skynet.retpack(core.isshared(held), sum)
			elseif cmd == "exit" then
				skynet.retpack(held ~= nil)
				skynet.exit()
			end
		end)
	end)
	return
elseif mode == "holder" then
	-- queries "f" and holds it until told to exit
	skynet.start(function()
		local t = sharetable.query "f"
		skynet.dispatch("lua", function(_, _, cmd)
			skynet.retpack(t.v)
			if cmd == "exit" then skynet.exit() end
		end)
	end)
	return
elseif mode == "private" then
	-- makes its own copies of a key and a value before the table holding them is loaded
	local key = table.concat { "private", "_key_", 4711 }
	local value = table.concat { "private", "_value_", 4711 }
	skynet.start(function()
		skynet.dispatch("lua", function(_, _, cmd)
			if cmd == "query" then
				local t = sharetable.query "private"
				local ok = t[key] == value and t.sub[value] == key and t.plain == 1
				t.written = true  -- a private copy: this service's own
				skynet.retpack(core.isshared(t), ok, t.written == true)
			else
				skynet.retpack()
				skynet.exit()
			end
		end)
	end)
	return
end

local memory = require "skynet.memory"

-- waits, up to 5 s, until cond() holds; its last result
local function eventually(cond)
	for _ = 1, 500 do
		if cond() then return true end
		skynet.sleep(1)
	end
	return cond()
end

local function basics(c)
	sharetable.loadtable("t", { x = 1, y = { "hello" } })
	local t = sharetable.query "t"
	c:ok(t.x == 1 and t.y[1] == "hello", "loadtable/query")
	c:ok(core.isshared(t) and core.isshared(t.y), "the table is the shared one")
	c:ok(sharetable.query "t" == t, "the same table at each query")
	c:eq(sharetable.query "nosuch", nil, "query of an unknown name")
	sharetable.loadstring("t", "local a, b = ... return { x = a + b, y = { 'again' } }", 2, 3)
	c:eq(t.x, 1, "old version until update")
	local y = t.y
	sharetable.update("t")
	c:ok(t.x == 5 and y[1] == "again" and t.y == y, "update moves the locals")
	local f = "tests/out/shared/sharetable_data.lua"
	local out = assert(io.open(f, "w"))
	out:write("local n = ... return { n = n, list = { 1, 2, 3 } }\n")
	out:close()
	sharetable.loadfile(f, 9)
	local ft = sharetable.query(f)
	c:ok(ft.n == 9 and #ft.list == 3, "loadfile")
	local all = sharetable.queryall()
	c:ok(all.t == t and all[f] == ft, "queryall")
	local some = sharetable.queryall { "t", "nosuch" }
	c:ok(some.t == t and some.nosuch == nil, "queryall of a list")
	c:raises(nil, "loadstring of bad code", sharetable.loadstring, "bad", "return {")
	c:raises(nil, "loadstring that returns no table", sharetable.loadstring, "bad", "return 1")
	-- (the sharetable service logs why; the caller's error is skynet.call's)
	c:raises(nil, "a function in the data",
		sharetable.loadstring, "bad", "return { f = print }")
	c:raises(nil, "a metatable in the data",
		sharetable.loadstring, "bad", "return { setmetatable({}, {}) }")
	c:raises(nil, "data nested too deep",
		sharetable.loadstring, "bad", "local t = {} for i = 1, 300 do t = { t } end return t")
	c:eq(sharetable.query "bad", nil, "nothing stored for failed loads")
end

local function readonly(c)
	sharetable.loadtable("ro", { n = 1, list = { 1, 2, 3 }, sub = { s = "x" }, [2.5] = "f" })
	local t = sharetable.query "ro"
	local msg = "attempt to change a shared table"
	c:raises(msg, "t.n = 2", function() t.n = 2 end)
	c:raises(msg, "a new key", function() t.fresh = true end)
	c:raises(msg, "t.list[1] = 0", function() t.list[1] = 0 end)
	c:raises(msg, "t.list[4] = 4", function() t.list[4] = 4 end)
	c:raises(msg, "t[2.5] = nil", function() t[2.5] = nil end)
	c:raises(msg, "rawset", rawset, t.sub, "s", "y")
	c:raises(msg, "table.insert", table.insert, t.list, 9)
	c:raises(msg, "table.remove", table.remove, t.list)
	c:raises(msg, "table.sort", table.sort, t.list, function(a, b) return a > b end)
	c:raises(msg, "setmetatable", setmetatable, t, {})
	c:raises(msg, "debug.setmetatable", debug.setmetatable, t, {})
	c:raises(msg, "through __newindex", function()
		local p = setmetatable({}, { __newindex = t })
		p.n = 3
	end)
	c:raises(msg, "as _ENV", load("n = 5", "=env", "t", t))
	local n, keys = 0, 0
	for _, v in ipairs(t.list) do n = n + v end
	for _ in pairs(t) do keys = keys + 1 end
	c:ok(t.n == 1 and #t.list == 3 and n == 6 and t.sub.s == "x" and t[2.5] == "f" and keys == 4
		and t.fresh == nil and t.list[4] == nil and next(t.sub) == "s", "unchanged after the writes")
	-- a shared table as a metatable, read through __index
	local proxy = setmetatable({}, { __index = t.sub })
	c:eq(proxy.s, "x", "read through a shared __index")
	local inherits = setmetatable({}, t.sub)
	c:eq(getmetatable(inherits), t.sub, "a shared table as a metatable")
end

local function references(c)
	sharetable.loadtable("u", { a = { n = 1 }, list = { 1, 2 } })
	local u = sharetable.query "u"
	local a = u.a
	local holder = { ref = u, sub = { a }, [a] = "key" }
	local function up() return u, a end
	local co = coroutine.create(function(x)
		local keep = x
		coroutine.yield()
		return keep.n
	end)
	coroutine.resume(co, a)
	local inherit = setmetatable({}, { __index = u })
	local weak = setmetatable({ a }, { __mode = "v" })
	sharetable.loadtable("u", { a = { n = 2 }, list = { 1, 2, 3 } })
	sharetable.update "u"
	c:ok(u.a.n == 2 and #u.list == 3, "update: a local")
	c:eq(a.n, 2, "update: a local holding a sub table")
	c:ok(holder.ref == u and holder.sub[1] == u.a, "update: table fields")
	c:ok(holder[u.a] == "key" and holder[a] == "key", "update: a table key")
	local uu, aa = up()
	c:ok(uu == u and aa.n == 2, "update: upvalues")
	c:eq(inherit.a.n, 2, "update: a metatable's __index")
	c:eq(weak[1], u.a, "update: a weak table")
	local _, n = coroutine.resume(co)
	c:eq(n, 2, "update: a local of a suspended coroutine")
end

local function freeing(c)
	sharetable.loadtable("g", { v = 1 })
	local before = core.count()
	sharetable.loadtable("g", { v = 2 })
	c:eq(core.count(), before, "a version never queried is freed when replaced")
	sharetable.loadtable("f", { v = 1 })
	local holder = skynet.newservice(SERVICE_NAME, "holder")
	c:eq(skynet.call(holder, "lua", "read"), 1, "the holder reads version 1")
	local held = core.count()
	sharetable.loadtable("f", { v = 2 })
	c:eq(core.count(), held + 1, "a version a live service queried is kept")
	c:eq(skynet.call(holder, "lua", "exit"), 1, "the holder still reads version 1")
	c:ok(eventually(function() return core.count() == held end),
		string.format("the old version is freed once its reader exits (%d boxes, want %d)", core.count(), held))
end

local function private(c)
	local p = skynet.newservice(SERVICE_NAME, "private")
	local key = table.concat { "private", "_key_", 4711 }
	local value = table.concat { "private", "_value_", 4711 }
	sharetable.loadtable("private", { [key] = value, sub = { [value] = key }, plain = 1 })
	local shared, ok, written = skynet.call(p, "lua", "query")
	c:ok(not shared, "a service with its own copy of a string gets a private copy")
	c:ok(ok, "the private copy has the right values")
	c:ok(written, "the private copy is writable")
	skynet.call(p, "lua", "exit")
end

local function big(c)
	sharetable.loadstring("big", [[
		local n = ...
		local items = {}
		for i = 1, n do
			items[i] = { id = i, name = "item" .. i, price = i * 1.5, tags = { "a", "b", i } }
		end
		return { items = items }
	]], BIG_ITEMS)
	collectgarbage() collectgarbage()
	local readers = {}
	for i = 1, READERS do
		readers[i] = skynet.newservice(SERVICE_NAME, "big")
	end
	local base = rss()
	local shared, want = 0, 0
	for i = 1, BIG_ITEMS, 997 do want = want + i end
	local sums = 0
	for i = 1, READERS do
		local s, sum = skynet.call(readers[i], "lua", "query")
		if s then shared = shared + 1 end
		if sum == want then sums = sums + 1 end
	end
	local grown = rss() - base
	local one = sharetable.query "big"
	local copy = 0
	do  -- the memory of one private copy of the table, for the bound
		collectgarbage() collectgarbage()
		local m0 = collectgarbage "count"
		local t = { items = {} }
		for i, item in ipairs(one.items) do
			t.items[i] = { id = item.id, name = item.name, price = item.price, tags = { item.tags[1], item.tags[2], item.tags[3] } }
		end
		copy = (collectgarbage "count" - m0) * 1024
		t = nil
	end
	skynet.error(string.format("sharetable: %d readers of a %.1f MB table: %.1f MB more resident (100 copies: %.0f MB)",
		READERS, copy / 1048576, grown / 1048576, READERS * copy / 1048576))
	c:eq(shared, READERS, "readers of the big table reading it in place")
	c:eq(sums, READERS, "readers reading the right values")
	c:ok(copy > 2 * 1048576, "the big table takes a few MB")
	c:ok(grown < 5 * copy, string.format("%d readers grew the node by %.1f MB, the memory of %.1f copies",
		READERS, grown / 1048576, grown / copy))
	for i = 1, READERS do
		skynet.call(readers[i], "lua", "exit")
	end
end

skynet.start(function()
	local c = check.new("sharetable")
	basics(c)
	readonly(c)
	references(c)
	freeing(c)
	private(c)
	big(c)

	collectgarbage() collectgarbage()
	local base = memory.total()
	local boxes = core.count()
	sharetable.loadtable("cfg", data(0))
	local readers = {}
	for i = 1, READERS do
		readers[i] = skynet.newservice(SERVICE_NAME, "reader")
	end
	local bad = 0
	for v = 1, VERSIONS do
		sharetable.loadtable("cfg", data(v))
		for i = 1 + v % 5, READERS, 5 do
			local _, errors = skynet.call(readers[i], "lua", "read")
			if errors > 0 then bad = bad + 1 end
		end
	end
	local behind, private = 0, 0
	for i = 1, READERS do
		if skynet.call(readers[i], "lua", "read") ~= VERSIONS then behind = behind + 1 end
		local errors, shared = skynet.call(readers[i], "lua", "exit")
		if errors > 0 then bad = bad + 1 end
		if not shared then private = private + 1 end
	end
	c:eq(bad, 0, "readers that saw a torn or older version")
	c:eq(behind, 0, "readers not on the newest version after update")
	c:eq(private, 0, "readers that read a private copy")
	sharetable.loadtable("cfg", {})
	sharetable.loadtable("big", {})
	-- the versions the readers held go once they have exited; the big one this service
	-- queried stays, beside the two new ones
	c:ok(eventually(function() return core.count() == boxes + 2 end),
		string.format("old versions freed once their readers exit (%d boxes, want %d)", core.count(), boxes + 2))
	collectgarbage() collectgarbage()
	local final = memory.total()
	skynet.error(string.format("sharetable: memory base %.1f MB, after %.1f MB", base / 1048576, final / 1048576))
	c:ok(final - base < 1024 * 1024, string.format("LEAK: %d bytes more than at the start", final - base))
	c:done()
end)
