-- skynet.remotedebug: the debugger that runs inside the service being debugged.
--
-- The debug command REMOTEDEBUG(fd, channel) starts it (see service/debug_agent):
-- console lines arrive on the debug channel, output goes straight to socket fd.
-- While attached, every message the service gets first runs the lines that
-- have arrived (a 0.1 s timer keeps messages coming), so the service goes on
-- serving between commands.
--
-- At the ":xxxxxxxx>" prompt a line is Lua run in the service: an expression
-- prints its values, a statement runs.  Besides the globals it can use
--   print(...)               prints to the console
--   watch(proto [, cond])    break in the next message of protocol proto
--                            (for which cond(session, source, ...) is true)
--   breakat(line [, file])   break when a message's code reaches that line
--                            (of a file whose name ends with file)
--   breakat(fn)              break on entering fn: a function, or the name
--                            it is called by (such as "combine")
--   unbreak()                drop every breakpoint
-- At a "file(line)>" prompt (a message's task stopped there):
--   s   step: stop at the next line, going into calls
--   n   next: stop at the next line of this function or its callers
--   c   continue the task (to the next breakpoint, if any are set)
--   bt  show where the task is
--   anything else is Lua run in the stopped function: its locals, upvalues
--   and varargs are visible (locals written back), _CO is the task.
-- "cont" leaves debug mode (stopped tasks continue) and ends the session.

local skynet = require "skynet"
local debugchannel = require "skynet.debugchannel"
local driver = require "skynet.socketdriver"
local injectcode = require "skynet.injectcode"

local sethook = debugchannel.sethook
local getinfo = debug.getinfo
local pack, unpack, concat = table.pack, table.unpack, table.concat

local HERE = getinfo(1, "S").short_src
local SKYNET_SRC = getinfo(skynet.start, "S").short_src

local M = {}

local live	-- the session while attached

---------------------------------------------------------------------------
-- output

local function say(...)
	if live == nil then
		return
	end
	local n = select("#", ...)
	local parts = {}
	for i = 1, n do
		parts[i] = tostring((select(i, ...)))
	end
	-- each value then a tab, the last one too: upstream's debugger prints so
	parts[n + 1] = "\n"
	driver.send(live.fd, concat(parts, "\t"))
end

local function prompt()
	if live == nil then
		return
	end
	local co = live.focus
	local t = co and live.traced[co]
	local text
	if t and t.stopped then
		text = t.where .. ">"
	else
		text = string.format(":%08x>", skynet.self())
	end
	driver.send(live.fd, text)
end

---------------------------------------------------------------------------
-- upvalues of skynet's functions we reach into

local function find_upvalue(fn, names)
	local i = 1
	while true do
		local name, value = debug.getupvalue(fn, i)
		if name == nil then
			return nil
		end
		if names[name] then
			return i, value
		end
		i = i + 1
	end
end

local function protocols()
	local _, t = find_upvalue(skynet.register_protocol, { proto = true })
	return t or skynet._proto
end

---------------------------------------------------------------------------
-- tracing one task

local function depth()
	-- level 1 is this function, 2 the hook, 3 the function that hit the line
	local n = 3
	while getinfo(n, "l") do
		n = n + 1
	end
	return n
end

local function breaking()
	return next(live.breaks) ~= nil or next(live.entries) ~= nil
end

-- is the function at level 3 (the one the hook reports on) a breakpoint?
local function entry_break(level)
	local info = getinfo(level, "fn")
	return info and (live.entries[info.func] or (info.name and live.entries[info.name]))
end

local function line_break(src, line)
	local bp = live.breaks[line]
	return bp == true or (bp ~= nil and src:sub(-#bp) == bp)
end

local function on_hook(event, line, can_yield)
	local co = coroutine.running()
	local t = live and live.traced[co]
	if t == nil then
		return
	end
	if event ~= "line" then
		-- a call: remember to stop at its first line if it is a breakpoint
		if t.mode == "break" and entry_break(3) then
			t.entering = getinfo(2, "f").func
		end
		return
	end
	if not can_yield then
		return
	end
	local info = getinfo(2, "Sf")
	local src = info.short_src
	if src == HERE or src == SKYNET_SRC or info.what ~= "Lua" then
		return	-- never stop inside the framework or the debugger
	end
	local d = depth()
	if t.mode == "next" and d > t.depth then
		return	-- inside a call made from the line we stepped over
	end
	if t.mode == "break" then
		local entered = t.entering == info.func
		t.entering = nil
		if not entered and not line_break(src, line) then
			return
		end
	end
	t.depth = d
	t.where = string.format("%s(%d)", src, line)
	t.stopped = true
	live.focus = co
	if not live.busy then
		prompt()
	end
	return true
end

local function trace(co, mode)
	live.traced[co] = { mode = mode, depth = 0 }
	sethook(co, on_hook, "cl")
end

local function untrace(co)
	sethook(co)
	if live then
		live.traced[co] = nil
		if live.focus == co then
			-- another stopped task, if any, takes the console
			live.focus = nil
			for other, t in pairs(live.traced) do
				if t.stopped then
					live.focus = other
					break
				end
			end
		end
	end
end

-- run handler in the running task, traced from its first line
local function run_traced(mode, handler, ...)
	local co = coroutine.running()
	trace(co, mode)
	local results = pack(xpcall(handler, debug.traceback, ...))
	untrace(co)
	if not results[1] then
		error(results[2], 0)
	end
	return unpack(results, 2, results.n)
end

-- let a stopped task go on until it stops again, waits or ends
local function release(co)
	local t = live.traced[co]
	t.stopped = false
	local ok, err = pcall(function()
		return live.settle(co, live.resume(co))
	end)
	if not ok then
		say(err)
	end
end

---------------------------------------------------------------------------
-- watching protocols

-- put back what we wrapped, unless the service has set a dispatch since
local function restore_watches()
	for p, w in pairs(live.watches) do
		if p.dispatch == w.wrapper then
			p.dispatch = w.original
		end
	end
	live.watches = {}
end

local function wrap(p, original, wrapper)
	live.watches[p] = { original = original, wrapper = wrapper }
	p.dispatch = wrapper
end

local arm_breaks

local function watch(name, cond)
	if live == nil then
		return "Not in debug mode"
	end
	local p = protocols()[name]
	if p == nil then
		return "No " .. tostring(name)
	end
	local earlier = live.watches[p]
	local original = earlier and earlier.original or p.dispatch
	if original == nil then
		return "No dispatch"
	end
	local session = live
	local function watcher(...)
		if live ~= session or p.dispatch ~= watcher then
			return original(...)
		end
		if cond == nil or cond(...) then
			p.dispatch = original
			live.watches[p] = nil
			if breaking() then
				arm_breaks()	-- the line breakpoints cover this protocol again
			end
			return run_traced("step", original, ...)
		end
		return original(...)
	end
	wrap(p, original, watcher)
end

-- breakpoints by line: every message handler of every protocol is traced
function arm_breaks()
	local skip = { debug = true, response = true, error = true }
	for _, p in pairs(protocols()) do
		if type(p) == "table" and p.dispatch and live.watches[p] == nil and not skip[p.name] then
			local original = p.dispatch
			local session = live
			wrap(p, original, function(...)
				if live ~= session or not breaking() then
					return original(...)
				end
				return run_traced("break", original, ...)
			end)
		end
	end
end

local function breakat(where, file)
	if live == nil then
		return "Not in debug mode"
	end
	local line = math.tointeger(tonumber(where))
	if line then
		live.breaks[line] = file or true
		arm_breaks()
		return string.format("break at line %d%s", line, file and (" of " .. file) or "")
	end
	local kind = type(where)
	assert(kind == "function" or kind == "string", "breakat(line [, file]) or breakat(function)")
	live.entries[where] = true
	arm_breaks()
	if kind == "string" then
		return "break at calls of " .. where
	end
	local info = getinfo(where, "S")
	return string.format("break at function %s:%d", info.short_src, info.linedefined)
end

local function unbreak()
	if live then
		live.breaks, live.entries = {}, {}
	end
end

---------------------------------------------------------------------------
-- commands

local function show_results(results)
	if results[1] then
		say(unpack(results, 2, results.n))	-- a statement prints an empty line
	else
		say(results[2])
	end
end

local function evaluate(text, co)
	local env = { print = say, watch = watch, breakat = breakat, unbreak = unbreak, _CO = co }
	local code = "return " .. text
	if load(code, "=(debug)") == nil then
		code = text
	end
	if co then
		show_results(pack(injectcode(code, co, 0, env)))
		return
	end
	local fn, err = load(code, "=(debug)", "t", setmetatable(env, { __index = _ENV }))
	if fn == nil then
		say(err)
		return
	end
	show_results(pack(pcall(fn)))
end

local stepping = {}

function stepping.s(co)
	live.traced[co].mode = "step"
	release(co)
end

function stepping.n(co)
	live.traced[co].mode = "next"
	release(co)
end

function stepping.c(co)
	if breaking() then
		live.traced[co].mode = "break"
		return release(co)
	end
	untrace(co)
	local ok, err = pcall(function()
		return live.settle(co, live.resume(co))
	end)
	if not ok then
		say(err)
	end
end

function stepping.bt(co)
	say(debug.traceback(co))
end

local detach

local function command(text)
	if text == "cont" then
		return detach()
	end
	local co = live.focus
	local t = co and live.traced[co]
	if text ~= "" then
		if t and t.stopped then
			local step = stepping[text]
			if step then
				step(co)
			else
				evaluate(text, co)
			end
		else
			evaluate(text)
		end
	end
	if live then
		prompt()
	end
end

local function poll()
	local session = live
	while live == session do
		local text = session.chan:read()
		if text == nil then
			return
		end
		live.busy = true
		local ok, err = pcall(command, text)
		if live then
			live.busy = false
		end
		if not ok then
			skynet.error("remote debugger: " .. tostring(err))
			say(err)
		end
	end
end

function detach()
	local session = live
	restore_watches()
	local slot = find_upvalue(session.dispatch, { [session.route_name] = true })
	debug.setupvalue(session.dispatch, slot, session.route)
	-- stopped tasks go on, untraced
	local stopped = {}
	for co, t in pairs(session.traced) do
		sethook(co)
		if t.stopped then
			stopped[#stopped + 1] = co
		end
	end
	session.traced = {}
	live = nil
	for _, co in ipairs(stopped) do
		local ok, err = pcall(function()
			return session.settle(co, session.resume(co))
		end)
		if not ok then
			skynet.error(err)
		end
	end
	skynet.error "Leave debug mode"
	session.respond(true)
end

---------------------------------------------------------------------------

-- export: { dispatch = skynet's message entry, suspend, resume } from skynet.lua
function M.start(export, fd, channel)
	assert(live == nil, "Already in debug mode")
	local dispatch = export.dispatch
	local names = { route = true, raw_dispatch_message = true }
	local slot, route = find_upvalue(dispatch, names)
	assert(slot, "Can't find the message router")
	local route_name = debug.getupvalue(dispatch, slot)
	local chan = debugchannel.connect(channel)
	skynet.error "Enter debug mode"
	live = {
		fd = fd,
		chan = chan,
		respond = skynet.response(),
		dispatch = dispatch,
		route = route,
		route_name = route_name,
		settle = export.suspend,
		resume = export.resume,
		traced = {},	-- task -> { mode, depth, where, stopped }
		watches = {},	-- protocol class -> { original = its dispatch, wrapper = ours }
		breaks = {},	-- line -> true or a file name ending
		entries = {},	-- function, or the name it is called by -> true
	}
	debug.setupvalue(dispatch, slot, function(...)
		poll()
		return route(...)
	end)
	local session = live
	local function tick()
		if live == session then
			skynet.timeout(10, tick)
		end
	end
	skynet.timeout(0, tick)
	prompt()
end

return M
