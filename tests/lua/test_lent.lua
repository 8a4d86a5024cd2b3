-- The standard libraries a service gets on our Lua are read in place from one shared copy
-- until the service writes to one (lua-share/lshare.h, lent tables). To the service they
-- are its own tables: it may add to them, its changes stay its own, math.random has a
-- generator of its own, and io's standard files work as before.
local skynet = require "skynet"
require "skynet.manager"
local t = require "check"
local check = t.check

local function draws(n)
	local out = {}
	for i = 1, n do
		out[i] = math.random(1000000)
	end
	return table.concat(out, " ")
end

local function entries(t)
	local n = 0
	for k, v in pairs(t) do
		if rawget(t, k) ~= v then
			return -1
		end
		n = n + 1
	end
	return n
end

skynet.start(function()
	check(string.upper("abc") == "ABC" and ("x"):rep(3) == "xxx", "string works")
	local before = entries(os)
	os.extra = true
	os.extra = nil
	check(before > 0 and entries(os) == before, "pairs sees the same entries before and after a write",
		before, entries(os))
	check(getmetatable("").__index == string, "strings index this service's string table")
	function string.shout(s)
		return s:upper() .. "!"
	end
	check(("hi"):shout() == "HI!", "a function added to string serves string methods")
	table.mine, os.mine, debug.mine, utf8.mine, coroutine.mine, io.mine = 1, 2, 3, 4, 5, 6
	check(table.concat({ 1, 2 }, ",") == "1,2" and os.time() > 0 and utf8.len("ab") == 2,
		"the libraries work once written to")
	math.pi = nil
	check(math.pi == nil and math.floor(2.5) == 2, "a field can be removed")

	math.randomseed(42)
	local expected = draws(5)
	math.randomseed(42)
	local first = draws(2)
	local peer = skynet.newservice("lt_lentpeer")
	local seen = skynet.call(peer, "lua", "fields")
	check(seen.shout == false and seen.table == false and seen.pi == true,
		"another service sees none of this service's changes", seen.shout, seen.table, seen.pi)
	check(seen.peer_wrote and string.peer == nil, "and its own stay its own", seen.peer_wrote, string.peer)
	check(first .. " " .. draws(3) == expected, "another service's randomseed leaves this one's generator alone")

	check(io.type(io.stdout) == "file" and io.output() == io.stdout and io.input() == io.stdin,
		"the standard files are the default files")
	local ok, err = io.stdout:close()
	check(ok == nil and err == "cannot close standard file", "a standard file does not close", err)
	check(io.stdout:write("") == io.stdout and io.type(io.stdout) == "file", "and stays open")
	local name = os.tmpname()
	local f = assert(io.open(name, "w"))
	f:write("line\n")
	f:close()
	check(io.type(f) == "closed file", "a file closes")
	local lines = {}
	for l in io.lines(name) do
		lines[#lines + 1] = l
	end
	os.remove(name)
	check(#lines == 1 and lines[1] == "line", "a file reads back")

	local co = coroutine.wrap(function(a)
		return coroutine.yield(a + 1) * 2
	end)
	check(co(1) == 2 and co(5) == 10, "coroutine.wrap")
	check(skynet.PTYPE_LUA == 10 and skynet.PTYPE_TEXT == 0 and skynet.PTYPE_TRACE == 12,
		"skynet.PTYPE_* numbers")
	check(skynet.PTYPE_NONE == nil, "an unknown PTYPE_ is nil")
	check(skynet.unpack(skynet.pack(1, "a")) == 1 and skynet.tostring ~= nil, "skynet.pack and the other core functions")
	t.finish("test_lent")
	skynet.abort()
end)
