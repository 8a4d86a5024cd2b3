-- tests/layer: checks of the core Lua layer's contract, run by tests/layer/run.sh.
local skynet = require "skynet"
require "skynet.manager"
local datacenter = require "skynet.datacenter"
local service = require "skynet.service"
local snax = require "skynet.snax"
local mqueue = require "skynet.mqueue"

local mode = ...

---------------------------------------------------------------------------
-- helper services (this file started with an argument)

if mode == "echo" then
	local CMD = {}
	function CMD.echo(...) return ... end
	function CMD.slow(t) skynet.sleep(t) return "slow", t end
	function CMD.fail() error("echo fails") end
	function CMD.later()	-- answered later, through skynet.response
		local answer = skynet.response()
		local before = answer("TEST")
		skynet.fork(function()
			skynet.sleep(2)
			local first = answer(true, "late", before)
			local again_ok, again_err = pcall(answer, true, "again")
			skynet.error("later", first, again_ok, again_err:match("Can't response more than once") ~= nil, answer("TEST"))
		end)
	end
	skynet.start(function()
		skynet.dispatch("lua", function(_, _, cmd, ...)
			if cmd == "later" then
				return CMD.later()
			end
			skynet.retpack(CMD[cmd](...))
		end)
	end)
	return
elseif mode == "slowstart" then
	skynet.start(function() skynet.sleep(300) end)
	return
elseif mode == "failstart" then
	skynet.start(function() error("start fails") end)
	return
elseif mode == "idle" then
	skynet.start(function() end)
	return
elseif mode == "mqueue" then
	skynet.start(function()
		mqueue.register(function(a, b)
			if a == "fail" then error("mqueue fails") end
			skynet.sleep(1)	-- (upstream's mqueue answers a handler that blocks)
			return a .. b
		end)
	end)
	return
end

---------------------------------------------------------------------------
-- the checks

local passed, failed = 0, 0
local function check(what, cond, detail)
	if cond then
		passed = passed + 1
		skynet.error("ok " .. what)
	else
		failed = failed + 1
		skynet.error("TEST FAIL " .. what .. (detail ~= nil and (": " .. tostring(detail)) or ""))
	end
end

-- Waits (at most 5 s) for cond() to hold; returns whether it did.
local function wait_until(cond)
	for _ = 1, 500 do
		if cond() then
			return true
		end
		skynet.sleep(1)
	end
	return cond()
end

local function calls_and_responses(echo)
	local a, b, c, d = skynet.call(echo, "lua", "echo", 1, "two", nil, 4)
	check("call returns every value, nil included", a == 1 and b == "two" and c == nil and d == 4)
	local ok, err = pcall(skynet.call, echo, "lua", "fail")
	check("a request whose handler fails raises 'call failed'", not ok and err:find("call failed", 1, true), err)
	ok, err = pcall(skynet.call, 0x7fffff, "lua", "echo")
	check("a call to a dead address raises with the address", not ok and err:find("call to invalid address :007fffff", 1, true), err)
	ok, err = pcall(skynet.rawcall, 0x7fffff, "lua", skynet.pack(1))
	check("rawcall to a dead address raises", not ok and err:find("call to invalid address", 1, true), err)
	check("rawcall returns the packed answer", skynet.unpack(skynet.rawcall(echo, "lua", skynet.pack("echo", "r"))) == "r")
	local late, before = skynet.call(echo, "lua", "later")
	check("skynet.response answers later; TEST is true before", late == "late" and before == true)
	check("send to a dead address returns nothing", select("#", skynet.send(0x7fffff, "lua", 1)) == 0)
	check("send to a live address returns its session", type(skynet.send(echo, "lua", "echo")) == "number")
end

local function tasks()
	local order = {}
	for i = 1, 3 do
		skynet.fork(function(x, y) order[#order + 1] = x .. tostring(y) end, "f" .. i, nil)
	end
	local victim = skynet.fork(function() order[#order + 1] = "victim" end)
	check("killthread takes a queued fork out", skynet.killthread(victim) == victim)
	skynet.yield()
	check("forks run in order with their arguments", table.concat(order, ",") == "f1nil,f2nil,f3nil", table.concat(order, ","))

	local woke = false
	local sleeper = skynet.fork(function() skynet.sleep(1000) woke = true end)
	skynet.yield()
	local before = skynet.task()
	check("killthread stops a sleeping task", skynet.killthread(sleeper) == sleeper)
	check("and it no longer counts as a task", skynet.task() == before - 1)
	local byname = skynet.fork(function() skynet.sleep(1000) woke = true end)
	skynet.yield()
	check("killthread finds a task by its name", skynet.killthread(tostring(byname)) == byname)
	check("killthread of an unknown name returns nothing", skynet.killthread("no such thread") == nil)

	local token = {}
	local got
	skynet.fork(function() skynet.wait(token) got = "woken" end)
	skynet.yield()
	check("wakeup of a waiting token is true, of another nil", skynet.wakeup(token) == true and skynet.wakeup({}) == nil)
	skynet.yield()
	check("the waiting task ran", got == "woken")
	local t2, slept = {}, nil
	skynet.fork(function() slept = skynet.sleep(500, t2) end)
	skynet.yield()
	skynet.wakeup(t2)
	skynet.yield()
	check("a sleep cut short by wakeup returns BREAK", slept == "BREAK")
	check("no killed task ever resumed", woke == false)

	for _ = 1, 12 do
		skynet.fork(function() skynet.sleep(1000) end)
	end
	skynet.yield()
	-- (a task made fresh and a recycled one differ by a line of their stacks:
	-- the twelve fall into one or two groups)
	local many, keys = nil, {}
	for key in pairs(skynet.uniqtask()) do
		keys[#keys + 1] = key
		local n = tonumber(key:match("^(%d+)\tsessions:%["))
		if n and n >= 10 then many = key end
	end
	check("uniqtask groups alike stacks, listing nine sessions of a large group", many
		and many:match("%.%.%.%]\n$") and select(2, many:gsub(",", ",")) == 8, table.concat(keys, " | "))
end

local function batches(echo)
	local req = skynet.request()
	req:add { echo, "lua", "echo", "a" }
	req:add { echo, "lua", "slow", 10 }
	req:add { echo, "lua", "fail" }
	req:add { 0x7fffff, "lua", "echo", "dead" }
	local got = {}
	for r, resp in req:select() do
		got[#got + 1] = tostring(r[3]) .. "=" .. (resp and tostring(resp[1]) or tostring(resp))
	end
	table.sort(got)
	check("select yields every request: answers, failures (false), unsent (nil)",
		table.concat(got, " ") == "echo=a echo=nil fail=false slow=slow", table.concat(got, " "))
	local n, first = 0, nil
	for r in skynet.request { echo, "lua", "slow", 300 } { echo, "lua", "echo", "q" } :select(50) do
		n = n + 1
		first = r[3]
	end
	check("select with a timeout stops at the timeout", n == 1 and first == "echo")
end

local function dispatch_env_trace()
	local first = function() end
	check("dispatch of a protocol without a handler returns nothing", skynet.dispatch("lua", first) == nil)
	check("dispatch returns the handler it replaces", skynet.dispatch("lua", function() end) == first)
	check("dispatch without a function returns the current one", skynet.dispatch("lua") ~= first)
	skynet.setenv("layer_key", "v1")
	check("setenv then getenv", skynet.getenv("layer_key") == "v1" and skynet.getenv("layer_missing") == nil)
	local ok, err = pcall(skynet.setenv, "layer_key", "v2")
	check("setenv of a set key raises", not ok and err:find("Can't setenv exist key : layer_key", 1, true), err)
	-- (traced in a task of its own: a trace stays on the task for good)
	local before, after
	skynet.fork(function()
		before = skynet.tracetag()
		skynet.trace("layer")
		after = skynet.tracetag()
	end)
	skynet.yield()
	check("no trace tag before skynet.trace, a tag after", before == nil and type(after) == "string")
	check("message type ids", skynet.PTYPE_TEXT == 0 and skynet.PTYPE_RESPONSE == 1 and skynet.PTYPE_SOCKET == 6
		and skynet.PTYPE_ERROR == 7 and skynet.PTYPE_QUEUE == 8 and skynet.PTYPE_LUA == 10
		and skynet.PTYPE_SNAX == 11 and skynet.PTYPE_TRACE == 12)
end

local function service_mgr()
	local ok1, e1 = pcall(skynet.uniqueservice, "layer_no_such_service")
	local ok2, e2 = pcall(skynet.uniqueservice, "layer_no_such_service")
	check("a unique service that fails to start fails every later ask", not ok1 and not ok2, tostring(e1) .. tostring(e2))
	local got = {}
	for i = 1, 3 do
		skynet.fork(function() got[i] = skynet.uniqueservice("layer_api", "idle") end)
	end
	local q
	skynet.fork(function() q = skynet.queryservice("layer_api") end)
	wait_until(function() return got[1] and got[2] and got[3] and q end)
	check("uniqueservice starts one service for concurrent askers; queryservice waits for it",
		got[1] and got[1] == got[2] and got[2] == got[3] and q == got[1])
	local a, b = skynet.call(".service", "lua", "NOPE")
	check(".service answers an unknown command with nil, error", a == nil and b == "Invalid command NOPE")
	local list = skynet.call(".service", "lua", "LIST")
	check(".service LIST names the unique services", list.layer_api ~= nil and list.layer_no_such_service:match("^Error: "))
end

local function launcher()
	check("newservice of a failing start raises", not pcall(skynet.newservice, "layer_api", "failstart"))
	check("newservice of a missing service raises", not pcall(skynet.newservice, "layer_no_such_service"))
	local result
	skynet.fork(function() result = table.pack(pcall(skynet.newservice, "layer_api", "slowstart")) end)
	local slow
	wait_until(function()
		for addr, line in pairs(skynet.call(".launcher", "lua", "LIST")) do
			if line == "snlua layer_api slowstart" then slow = addr end
		end
		return slow
	end)
	check("launcher LIST shows a service still starting", slow ~= nil)
	skynet.kill(slow)
	wait_until(function() return result end)
	check("killing a service still starting fails its newservice", result and result[1] == false)
	local idle = skynet.newservice("layer_api", "idle", "x", 2)
	local mem = skynet.call(".launcher", "lua", "MEM", 100)
	check("launcher MEM formats each service", (mem[skynet.address(idle)] or ""):match("^[%d.]+ Kb %(snlua layer_api idle x 2%)$"),
		mem[skynet.address(idle)])
	local stat = skynet.call(".launcher", "lua", "STAT", 100)
	check("launcher STAT gives each service's stat table", type(stat[skynet.address(idle)]) == "table")
	local killed = skynet.call(".launcher", "lua", "KILL", idle)
	check("launcher KILL returns the launch line", killed[skynet.address(idle)] == "snlua layer_api idle x 2")
	check("launcher answers an unknown command", skynet.call(".launcher", "lua", "nope")[1] == "Unknown command")
end

local function manager()
	check("skynet.launch of a missing module returns nothing", select("#", skynet.launch("layer_no_such_module")) == 0)
	local h = skynet.newservice("layer_api", "echo")
	skynet.name(".layer_alias", h)
	check("skynet.name gives a local name", skynet.localname(".layer_alias") == h
		and skynet.call(".layer_alias", "lua", "echo", "z") == "z")
	check("a name starting with ':' is refused", not pcall(skynet.register, ":bad"))
	skynet.kill(".layer_alias")
	wait_until(function() return skynet.localname(".layer_alias") == nil end)
	local ok, err = pcall(skynet.call, h, "lua", "echo")
	check("skynet.kill by name kills", not ok, err)
end

local function datacenters()
	check("datacenter.set of a new key returns nothing", select("#", datacenter.set("k", 1)) == 0)
	check("datacenter.set returns the value it replaced", datacenter.set("k", 2) == 1)
	check("datacenter.get of a missing key returns nothing", select("#", datacenter.get("missing")) == 0)
	datacenter.set("t", "x", "y", 3)
	check("datacenter paths", datacenter.get("t", "x", "y") == 3 and type(datacenter.get("t", "x")) == "table")
	local leaf, branch
	skynet.fork(function() leaf = datacenter.wait("w", "k") end)
	skynet.fork(function() branch = table.pack(pcall(datacenter.wait, "p")) end)
	skynet.yield()	-- both waits are sent before the sets below
	datacenter.set("w", "k", "V")
	datacenter.set("p", "sub", 1)
	wait_until(function() return leaf and branch end)
	check("datacenter.wait returns the value once set", leaf == "V")
	check("a wait on what became a branch fails", branch and branch[1] == false)
end

local function services()
	local a = service.new("layer_cell", function(prefix)
		local skynet = require "skynet"
		skynet.start(function()
			skynet.dispatch("lua", function(_, _, v) skynet.retpack(prefix .. v) end)
		end)
	end, "cell:")
	check("service.new runs the function as a service", skynet.call(a, "lua", 5) == "cell:5")
	check("service.new and query of a known name give the same address",
		service.new("layer_cell", function() end) == a and service.query("layer_cell") == a)
	check("a service whose function fails stays failed",
		not pcall(service.new, "layer_bad", function() error("no") end) and not pcall(service.query, "layer_bad"))
	check("service.close stops it; false for an unknown name",
		service.close("layer_cell") == true and service.close("layer_nothing") == false)
end

local function snaxes()
	local s = snax.newservice("layer_snax", "n1")
	s.post.add(2)
	s.post.add(3)
	local name, count = s.req.get()
	check("snax: init, post and req", name == "n1" and count == 5)
	check("snax: a request whose method fails raises", not pcall(s.req.fail))
	local ok, err = pcall(function() return s.req.nosuch end)
	check("snax: an unknown method raises", not ok and err:find("request layer_snax:nosuch no exist", 1, true), err)
	local old = snax.hotfix(s, [[
local count
function accept.add(n) count = count + 10 * n end
function hotfix(v) local was = count count = v return was end
]], 100)
	s.post.add(1)
	name, count = s.req.get()
	check("snax: hotfix shares the service's locals and runs its hook", old == 5 and count == 110, tostring(old) .. " " .. tostring(count))
	local u = snax.uniqueservice("layer_snax", "u")
	check("snax: uniqueservice and queryservice", snax.queryservice("layer_snax") == u)
	check("snax: profile_info counts the calls", snax.profile_info(s).get.count == 2)
	snax.kill(s)
end

local function mqueues()
	local m = skynet.newservice("layer_api", "mqueue")
	check("mqueue.call answers with the handler's results", mqueue.call(m, "a", "b") == "ab")
	check("mqueue.call of a failing handler raises", not pcall(mqueue.call, m, "fail"))
end

skynet.start(function()
	local echo = skynet.newservice("layer_api", "echo")
	for _, group in ipairs { calls_and_responses, tasks, batches, dispatch_env_trace, service_mgr,
			launcher, manager, datacenters, services, snaxes, mqueues } do
		local ok, err = pcall(group, echo)
		if not ok then
			check("group ran to its end", false, err)
		end
	end
	skynet.error(string.format("layer: %d passed, %d failed", passed, failed))
	skynet.abort()
end)
