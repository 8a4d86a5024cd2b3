-- The "debug" protocol every Lua service answers (PTYPE_DEBUG).
--
-- skynet.lua calls init(skynet, export) once; export carries the protocol's
-- id, pack and unpack, and internals the debugging tools need (dispatch,
-- suspend, resume).  Other modules can add
-- commands with reg_debugcmd(name, fn); those answer for themselves.
--
-- A built-in command below returns the values to answer with; the dispatcher
-- packs them.  A command returning QUIET has answered already, or must not
-- answer at all (GC, EXIT, TERM, LINK, REMOTEDEBUG).

local pack, unpack = table.pack, table.unpack

local QUIET = setmetatable({}, { __name = "debug.quiet" })

local added = {}	-- name -> function, from reg_debugcmd

-- The built-in commands, as a table of functions of (skynet, export, state), made when the
-- first debug message comes: most services never get one, and keep the memory.
local function commands()
	local builtin = {}

	function builtin.MEM()
		return collectgarbage "count"
	end

	function builtin.GC(skynet, _, state)
		-- a burst of GC requests collects once: the others arrive while we yield
		if state.gc_running then
			return QUIET
		end
		state.gc_running = true
		local kb0, t0 = collectgarbage "count", skynet.now()
		collectgarbage "collect"
		skynet.yield()
		local kb1, t1 = collectgarbage "count", skynet.now()
		state.gc_running = false
		skynet.error(string.format("GC %.2f Kb -> %.2f Kb, cost %.2f sec",
			kb0, kb1, (t1 - t0) / 100))
		return QUIET
	end

	function builtin.STAT(skynet)
		local report = { task = skynet.task() }
		for _, key in ipairs { "mqlen", "cpu", "message" } do
			report[key] = skynet.stat(key)
		end
		return report
	end

	function builtin.KILLTASK(skynet, _, _, which)
		local killed = skynet.killthread(which)
		if not killed then
			skynet.error(string.format("Kill %s : Not found", which))
			return "Not found"
		end
		skynet.error(string.format("Kill %s", killed))
	end

	function builtin.TASK(skynet, _, _, session)
		if session ~= nil then
			return skynet.task(session)
		end
		local listing = {}
		skynet.task(listing)
		return listing
	end

	function builtin.UNIQTASK(skynet)
		return skynet.uniqtask()
	end

	function builtin.INFO(_, _, state, ...)
		local provider = state.info
		if provider == nil then
			return nil
		end
		return provider(...)
	end

	function builtin.EXIT(skynet)
		skynet.exit()
		return QUIET
	end

	function builtin.RUN(skynet, export, _, source, filename, ...)
		local run_chunk = require "skynet.inject"
		local ok, lines = run_chunk(skynet, source, filename, pack(...),
			export.dispatch, skynet.register_protocol)
		collectgarbage "collect"
		return ok, table.concat(lines, "\n")
	end

	function builtin.TERM(skynet, _, _, who)
		skynet.term(who)
		return QUIET
	end

	function builtin.REMOTEDEBUG(_, export, _, ...)
		require("skynet.remotedebug").start(export, ...)
		return QUIET
	end

	function builtin.SUPPORT(skynet, _, _, protoname)
		return skynet.dispatch(protoname) ~= nil
	end

	function builtin.PING()
	end

	function builtin.LINK(skynet)
		-- never answered: the caller learns we died when the response fails
		skynet.response()
		return QUIET
	end

	function builtin.TRACELOG(skynet, _, _, protoname, on)
		if type(protoname) ~= "string" then
			protoname, on = "lua", protoname
		end
		skynet.error(string.format("Turn trace log %s for %s", on, protoname))
		skynet.traceproto(protoname, on)
	end
	return builtin
end

local builtin

local function answer(skynet, n, first, ...)
	if first == QUIET then
		return
	end
	if n == 0 then
		skynet.ret()
	else
		skynet.ret(skynet.pack(first, ...))
	end
end

local M = {}

function M.reg_debugcmd(name, fn)
	added[name] = fn
end

function M.init(skynet, export)
	local state = { gc_running = false }

	function skynet.info_func(fn)
		state.info = fn
	end

	local class = { name = "debug", id = export.id, pack = export.pack, unpack = export.unpack }
	function class.dispatch(_, _, name, ...)
		builtin = builtin or commands()
		local own = builtin[name]
		if own == nil then
			local fn = added[name]
			assert(fn, name)
			return fn(...)
		end
		local results = pack(own(skynet, export, state, ...))
		answer(skynet, results.n, unpack(results, 1, results.n))
	end
	skynet.register_protocol(class)
end

return M
