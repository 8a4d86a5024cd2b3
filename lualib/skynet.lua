-- The skynet service API for Lua.
--
-- Every service runs this module on top of the C module "skynet.core".  Each
-- incoming message is handled in a "task": a coroutine taken from a small pool.
-- A task that calls, sleeps or waits yields back here with "SUSPEND" and is
-- resumed when the matching session comes back (a response, a timer, a wakeup
-- or a failure notice).  All bookkeeping below is keyed either by session id
-- or by task coroutine.

local core = require "skynet.core"
local modreq = require "skynet.require"

-- Only what the message path uses is kept in locals: every local a function captures costs
-- each service's state an upvalue. The rest is read from the globals.
-- xpcall stays global: tracebacks through init_service name it as upstream's do.
local assert, error, pcall = assert, error, pcall
local tremove = table.remove

-- captured once: the host may have swapped in profiling versions already
-- (coroutine_yield and suspend_sleep are named as upstream names them: they show in task stacks)
local co_create, co_resume, coroutine_yield = coroutine.create, coroutine.resume, coroutine.yield

local skynet = {}

-- Message types: skynet.PTYPE_<name>, numbered from 0 in this order, as the
-- C core (include/skynet.h) numbers them.  QUEUE is only used by the
-- deprecated skynet.mqueue.  Like skynet.pack and the other functions that
-- are skynet.core's own, each is stored in skynet at its first read (see the
-- metatable at the end): a service keeps only the names it uses.
local TYPE_NAMES <const> = " TEXT RESPONSE MULTICAST CLIENT SYSTEM HARBOR SOCKET ERROR QUEUE DEBUG LUA SNAX TRACE "
local CORE_FUNCTIONS <const> = " now hpc error genid pack packstring unpack tostring trash "

-- compile-time constants, no upvalues
local PTYPE_RESPONSE <const> = 1
local PTYPE_ERROR <const> = 7
local PTYPE_DEBUG <const> = 9
local PTYPE_LUA <const> = 10
local PTYPE_TRACE <const> = 12

local BREAK <const> = "BREAK"	-- marks a session whose answer is to be dropped

-- The code cache module is optional on this host.
do
	local ok, cache = pcall(require, "skynet.codecache")
	if not ok or type(cache) ~= "table" then
		cache = {
			clear = function() end,
			mode = function() return "OFF" end,
		}
	end
	skynet.cache = cache
end

---------------------------------------------------------------------------
-- protocol classes, indexed both by name and by id
-- (the name `proto` is looked up by skynet.inject; keep it)
local proto = {}
skynet._proto = proto

function skynet.register_protocol(class)
	local name, id = class.name, class.id
	assert(proto[name] == nil and proto[id] == nil)
	assert(type(name) == "string" and type(id) == "number" and id >= 0 and id <= 255)
	proto[name] = class
	proto[id] = class
end

---------------------------------------------------------------------------
-- task state

local waiting = {}		-- session -> task blocked on it, or BREAK
local serving = {}		-- task -> session it must answer (0: a plain send)
local requester = {}	-- task -> address the request came from
local tracetags = {}	-- task -> trace tag; false forces tracing off
local outstanding = {}	-- session -> address of a call not yet answered
local pending_resp = {}	-- closure from skynet.response -> address it answers
local sleepers = {}		-- wakeup token -> session it sleeps on
local wakes = { h = 1, t = 0 }	-- FIFO of tokens given to skynet.wakeup
local failed = {}		-- FIFO of sessions whose call failed
local forks = { h = 1, t = 0 }	-- tasks created by skynet.fork, not yet run
local trace_next = {}	-- source -> tag announced for its next request
local exited = false

local current			-- the task this module resumed most recently
local init_task			-- the task running the start function

---------------------------------------------------------------------------
-- session ids
--
-- The core numbers sessions 1, 2, ... 0x7fffffff and then starts over at 1.
-- Once that happens a long wait could still hold the id the core is about to
-- hand out next.  After every allocation we peek at the following id and, while
-- it is taken, burn it with genid so the core skips it.

local LAST_SESSION <const> = 0x7fffffff
local csend = core.send
local cgenid = core.genid
local cintcommand = core.intcommand

local function skip_taken(session)
	if session then
		local following = session >= LAST_SESSION and 1 or session + 1
		while waiting[following] ~= nil do
			cgenid()
			following = following >= LAST_SESSION and 1 or following + 1
		end
	end
	return session
end

local function send_with_session(addr, ptype, msg, sz)
	return skip_taken(csend(addr, ptype, nil, msg, sz))
end

local function new_timer(ti)
	return skip_taken(cintcommand("TIMEOUT", ti))
end

local function new_session()
	return skip_taken(cgenid())
end

---------------------------------------------------------------------------
-- task pool

-- Parked tasks, weak: an idle service's pool empties at its next collection. idle_n is the
-- top; slots the collector cleared read nil and are skipped.
local idle = setmetatable({}, { __mode = "kv" })
local idle_n = 0

local function finish_task(co, fn)
	local session = serving[co]
	if session and session ~= 0 then
		local info = debug.getinfo(fn, "S")
		skynet.error(string.format("Maybe forgot response session %s from %s : %s:%d",
			session, skynet.address(requester[co]), info.source, info.linedefined))
	end
	local tag = tracetags[co]
	if tag ~= nil then
		if tag then
			core.trace(tag, "end")
		end
		tracetags[co] = nil
	end
	serving[co] = nil
	requester[co] = nil
end

-- Returns a task that will run fn with the values of its first resume.
local function new_task(f)
	local co
	while idle_n > 0 and co == nil do
		co = idle[idle_n]
		idle[idle_n] = nil
		idle_n = idle_n - 1
	end
	if co then
		-- a parked task takes its next function now, its arguments later
		local saved = current
		current = co
		co_resume(co, f)
		current = saved
		return co
	end
	-- The body is upvalue 'f', as in upstream's tracebacks.
	co = co_create(function(...)
		f(...)
		while true do
			finish_task(co, f)
			f = nil
			idle_n = idle_n + 1
			idle[idle_n] = co
			f = coroutine_yield("SUSPEND")
			f(coroutine_yield())
		end
	end)
	return co
end

---------------------------------------------------------------------------
-- resuming tasks

-- Look at what a task did when it handed control back.  Raises on failure,
-- after answering its requester with an error.
local function settle(co, ok, command)
	if ok then
		if command == "SUSPEND" or command == nil then
			return
		elseif command == "QUIT" then
			coroutine.close(co)
			return
		elseif command == "USER" then
			error("Call skynet.coroutine.yield out of skynet.coroutine.resume\n" .. debug.traceback(co))
		else
			error("Unknown command : " .. tostring(command) .. "\n" .. debug.traceback(co))
		end
	end
	local session = serving[co]
	if session then
		if session ~= 0 then
			local tag = tracetags[co]
			if tag then
				core.trace(tag, "error")
			end
			csend(requester[co], PTYPE_ERROR, session, "")
		end
		serving[co] = nil
	end
	requester[co] = nil
	tracetags[co] = nil
	local report = debug.traceback(co, tostring(command))
	coroutine.close(co)
	-- positioned here, and again where dispatch_message raises: upstream's message shape
	error(report)
end

local function run(co, ...)
	current = co
	return settle(co, co_resume(co, ...))
end

-- Next piece of deferred work: woken sleepers first, then failed calls, then
-- forks.  Returns the task, how many values to resume it with, and those.
local function next_job()
	local w = wakes.h
	while w <= wakes.t do
		local token = wakes[w]
		wakes[w] = nil
		w = w + 1
		wakes.h = w
		local session = sleepers[token]
		if session then
			local co = waiting[session]
			if type(co) == "thread" then
				local tag = tracetags[co]
				if tag then
					core.trace(tag, "resume")
				end
				waiting[session] = BREAK
				return co, 4, false, BREAK, nil, session
			end
		end
	end
	wakes.h, wakes.t = 1, 0
	local session = failed[1] ~= nil and tremove(failed, 1)
	while session do
		local co = waiting[session]
		if type(co) == "thread" then
			waiting[session] = nil
			return co, 4, false, nil, nil, session
		end
		session = tremove(failed, 1)
	end
	local h = forks.h
	if h <= forks.t then
		local co = forks[h]
		forks[h] = nil
		forks.h = h + 1
		return co, 0
	end
	forks.h, forks.t = 1, 0
end

---------------------------------------------------------------------------
-- unknown messages

local function unknown_request(session, address, msg, sz, prototype)
	skynet.error(string.format("Unknown request (%s): %s", prototype, core.tostring(msg, sz)))
	error(string.format("Unknown session : %d from %x", session, address))
end


local function unknown_response(session, address, msg, sz)
	skynet.error(string.format("Response message : %s", core.tostring(msg, sz)))
	error(string.format("Unknown session : %d from %x", session, address))
end


---------------------------------------------------------------------------
-- message entry point

-- A new request task inherits the tag its source announced (PTYPE_TRACE just
-- before the request), or starts a trace of its own when the protocol traces
-- every message.  A protocol with trace == false swallows the announcement
-- and marks the task so that skynet.trace leaves it alone.
local function adopt_trace(co, p, source)
	local announced = trace_next[source]
	trace_next[source] = nil
	local mode = p.trace
	if mode == false then
		tracetags[co] = false
	elseif announced then
		core.trace(announced, "request")
		tracetags[co] = announced
	elseif mode then
		current = co
		skynet.trace()
	end
end

-- Whether the message being dispatched was handed to a task. A dispatch that fails before
-- that (its arguments do not unpack, a signal breaks in) leaves a request unanswered: the C
-- callback reads this and answers the caller with an error (skynet.core.dispatch_state).
local dispatch_state = { taken = false }
if core.dispatch_state then
	core.dispatch_state(dispatch_state)
end

-- Runs a request's handler on its unpacked arguments. A message that cannot be unpacked
-- (malformed, or too large for this service's memory limit) fails the dispatch before any
-- task takes it, and so gets its error answer.
local function begin_request(handler, p, session, source, unpacked, ...)
	if not unpacked then
		trace_next[source] = nil
		error(..., 0)
	end
	local co = new_task(handler)
	dispatch_state.taken = true
	serving[co], requester[co] = session, source
	if p.trace ~= nil or trace_next[source] ~= nil then
		adopt_trace(co, p, source)
	end
	return run(co, session, source, ...)
end

local function route(ptype, msg, sz, session, source)
	if ptype == PTYPE_RESPONSE then
		local co = waiting[session]
		if co == BREAK then
			waiting[session] = nil
		elseif co == nil then
			unknown_response(session, source, msg, sz)
		else
			local tag = tracetags[co]
			if tag then
				core.trace(tag, "resume")
			end
			waiting[session] = nil
			return run(co, true, msg, sz, session)
		end
		return
	end

	local p = proto[ptype]
	if p == nil then
		if ptype == PTYPE_TRACE then
			-- announces a trace tag for the next request from source
			trace_next[source] = core.tostring(msg, sz)
		elseif session ~= 0 then
			csend(source, PTYPE_ERROR, session, "")
		else
			unknown_request(session, source, msg, sz, ptype)
		end
		return
	end

	-- A protocol's `inline(msg, sz)` may take a message on the spot, with no task of its own:
	-- it returns true when it did (and never yields). skynet.socket's data events go this way.
	local inline = p.inline
	if inline and inline(msg, sz) then
		return
	end

	local handler = p.dispatch
	if handler == nil then
		trace_next[source] = nil
		if session ~= 0 then
			csend(source, PTYPE_ERROR, session, "")
		else
			unknown_request(session, source, msg, sz, p.name)
		end
		return
	end

	return begin_request(handler, p, session, source, pcall(p.unpack, msg, sz))
end

-- Runs the work that piled up while a message was handled (next_job), adding what fails to
-- errors; returns errors.
local function run_deferred(errors)
	while not exited do
		local co, n, a, b, c, d = next_job()
		if co == nil then
			break
		end
		current = co
		local ok, command
		if n == 0 then
			ok, command = co_resume(co)
		else
			ok, command = co_resume(co, a, b, c, d)
		end
		-- the usual ending (the task parked or finished) needs no protected call of settle
		local fine, why = true, nil
		if not ok or (command ~= "SUSPEND" and command ~= nil) then
			fine, why = pcall(settle, co, ok, command)
		end
		if not fine then
			if errors then
				errors[#errors + 1] = tostring(why)
			else
				errors = { tostring(why) }
			end
		end
	end
	return errors
end

function skynet.dispatch_message(...)
	local ok, err = pcall(route, ...)
	local errors
	if not ok then
		errors = { tostring(err) }
	end
	-- most messages leave nothing deferred: no call of next_job then
	if wakes.h <= wakes.t or failed[1] ~= nil or forks.h <= forks.t then
		errors = run_deferred(errors)
	end
	dispatch_state.taken = false
	if errors then
		-- assert's message carries this position, as upstream's
		assert(false, table.concat(errors, "\n"))
	end
end

---------------------------------------------------------------------------
-- failures of calls (PTYPE_ERROR)

-- The keys of t whose value is v, in traversal order.
local function keys_of(t, v)
	local found = {}
	for k, value in pairs(t) do
		if value == v then
			found[#found + 1] = k
		end
	end
	return found
end

local function on_error(err_session, err_source)
	skynet.ignoreret()
	if err_session ~= 0 then
		-- one call failed
		if outstanding[err_session] then
			failed[#failed + 1] = err_session
		end
		return
	end
	-- session 0: err_source is gone.  What we owe it is void; every call we
	-- still wait on there fails.
	for _, resp in ipairs(keys_of(pending_resp, err_source)) do
		pending_resp[resp] = nil
	end
	for _, session in ipairs(keys_of(outstanding, err_source)) do
		failed[#failed + 1] = session
	end
end


---------------------------------------------------------------------------
-- timers, sleeping, waking

local make_timer_task = new_task	-- skynet.trace_timeout may swap it
local timer_origin	-- task -> traceback of where its timer was set (trace_timeout)



function skynet.timeout(ti, fn)
	local session = assert(new_timer(ti))
	local co = make_timer_task(fn, ti)
	assert(waiting[session] == nil)
	waiting[session] = co
	return co
end

local function suspend_sleep(session, token)
	local tag = tracetags[current]
	if tag then
		core.trace(tag, "sleep", 2)
	end
	waiting[session] = current
	assert(sleepers[token] == nil, "token duplicative")
	sleepers[token] = session
	return coroutine_yield("SUSPEND")
end

function skynet.sleep(ti, token)
	local session = assert(new_timer(ti))
	token = token or coroutine.running()
	local ok, why = suspend_sleep(session, token)
	sleepers[token] = nil
	if ok then
		return
	end
	if why == BREAK then
		return BREAK
	end
	error(why)
end

function skynet.yield()
	return skynet.sleep(0)
end

function skynet.wait(token)
	token = token or coroutine.running()
	local session = new_session()
	suspend_sleep(session, token)
	sleepers[token], waiting[session] = nil, nil
end

function skynet.wakeup(token)
	if sleepers[token] then
		local t = wakes.t + 1
		wakes[t] = token
		wakes.t = t
		return true
	end
end

function skynet.fork(fn, ...)
	local body = fn
	local n = select("#", ...)
	if n > 0 then
		local args = { ... }
		body = function()
			fn(table.unpack(args, 1, n))
		end
	end
	local co = new_task(body)
	forks.t = forks.t + 1
	forks[forks.t] = co
	return co
end


---------------------------------------------------------------------------
-- addresses, time, environment

local self_handle
function skynet.self()
	if self_handle == nil then
		self_handle = core.addresscommand "REG"
	end
	return self_handle
end


-- Environment values are strings; a key can be set once.
function skynet.getenv(key)
	local value = core.command("GETENV", key)
	return value
end


function skynet.address(addr)
	if type(addr) == "number" then
		return string.format(":%08x", addr)
	end
	return tostring(addr)
end


skynet.tracelog = core.trace

---------------------------------------------------------------------------
-- tracing


local function announce_trace(addr, level)
	local tag = tracetags[current]
	if tag then
		core.trace(tag, "call", level)
		csend(addr, PTYPE_TRACE, 0, tag)
	end
end

---------------------------------------------------------------------------
-- sending and calling

function skynet.send(addr, typename, ...)
	local p = proto[typename]
	return csend(addr, p.id, 0, p.pack(...))
end

function skynet.rawsend(addr, typename, msg, sz)
	local p = proto[typename]
	return csend(addr, p.id, 0, msg, sz)
end

function skynet.redirect(dest, source, typename, ...)
	return core.redirect(dest, source, proto[typename].id, ...)
end

local function yield_call(addr, session)
	outstanding[session] = addr
	waiting[session] = current
	local ok, msg, sz = coroutine_yield("SUSPEND")
	outstanding[session] = nil
	if not ok then
		error "call failed"
	end
	return msg, sz
end

function skynet.call(addr, typename, ...)
	announce_trace(addr, 3)
	local p = proto[typename]
	local session = send_with_session(addr, p.id, p.pack(...))
	if session then
		return p.unpack(yield_call(addr, session))
	end
	error("call to invalid address " .. skynet.address(addr))
end

-- The session of an already packed request.
local function send_packed(addr, typename, msg, sz)
	local session = send_with_session(addr, proto[typename].id, msg, sz)
	return assert(session, "call to invalid address")
end

function skynet.rawcall(addr, typename, msg, sz)
	announce_trace(addr, 3)
	return yield_call(addr, send_packed(addr, typename, msg, sz))
end


---------------------------------------------------------------------------
-- answering requests

-- Sends the answer to session at addr.  A message the core refuses as too
-- large (send returns false) becomes an error reply, so the caller is not left
-- waiting.  Returns what the core's send returned.
local function deliver(addr, session, msg, sz)
	local sent = csend(addr, PTYPE_RESPONSE, session, msg, sz)
	if sent == false then
		csend(addr, PTYPE_ERROR, session, "")
	end
	return sent
end

function skynet.ret(msg, sz)
	local co = current
	local tag = tracetags[co]
	if tag then
		core.trace(tag, "response")
	end
	local session = serving[co]
	if not session then
		error "No session"
	end
	serving[co] = nil
	msg = msg or ""
	if session ~= 0 then
		return deliver(requester[co], session, msg, sz) and true or false
	end
	-- the request was a send: nothing to answer, the message is dropped
	if sz ~= nil then
		core.trash(msg, sz)
	end
	return false
end

function skynet.retpack(...)
	return skynet.ret(skynet.pack(...))
end


function skynet.ignoreret()
	serving[current] = nil
end


---------------------------------------------------------------------------
-- dispatch functions

-- Sets the handler of a protocol and returns the one it replaces; without a
-- function, just returns the current one.
function skynet.dispatch(typename, fn)
	local p = proto[typename]
	if not fn then
		return p and p.dispatch
	end
	p.dispatch, fn = fn, p.dispatch
	-- the protocol's shortcut served the dispatch function being replaced
	p.inline = nil
	return fn
end

---------------------------------------------------------------------------

---------------------------------------------------------------------------
-- services


function skynet.newservice(name, ...)
	return skynet.call(".launcher", "lua", "LAUNCH", "snlua", name, ...)
end


---------------------------------------------------------------------------
-- start up

skynet.init = modreq.init
skynet.pcall = pcall	-- kept for old code; plain pcall works

function skynet.init_service(start)
	local ok, err = xpcall(function()
		modreq.init_all()
		start()
	end, debug.traceback)
	if ok then
		skynet.send(".launcher", "lua", "LAUNCHOK")
	else
		skynet.error("init service failed: " .. tostring(err))
		skynet.send(".launcher", "lua", "ERROR")
		skynet.exit()
	end
end

-- The start function runs in a task of its own once the core's first timer
-- fires, after the service body has registered its protocols.
function skynet.start(start)
	core.callback(skynet.dispatch_message)
	local function boot()
		skynet.init_service(start)
		init_task = nil
	end
	init_task = skynet.timeout(0, boot)
end

---------------------------------------------------------------------------
-- introspection


---------------------------------------------------------------------------
-- the rarely used part of the API
--
-- An idle service never calls these, so their closures are made on first use: the first
-- read of a name skynet lacks builds them all (sharing this file's locals) and drops the
-- metatable. skynet.xxx works as before; a service that never uses them saves their memory.

local function more(skynet)

	function skynet.dispatch_unknown_request(handler)
		local previous = unknown_request
		unknown_request = handler
		return previous
	end

	function skynet.dispatch_unknown_response(handler)
		local previous = unknown_response
		unknown_response = handler
		return previous
	end

	function skynet.term(service)
		return on_error(0, service)
	end

	function skynet.trace_timeout(on)
		if on then
			timer_origin = timer_origin or {}
			make_timer_task = function(fn, ti)
				local co
				co = new_task(function()
					if timer_origin then
						timer_origin[co] = nil
					end
					fn()
				end)
				timer_origin[co] = debug.traceback(string.format("TIMER %d+%d : ", skynet.now(), ti), 3)
				return co
			end
		else
			timer_origin = nil
			make_timer_task = new_task
		end
	end

	-- Takes a fork that has not started yet out of the queue; false when co is
	-- not queued.
	local function unqueue_fork(co)
		local last = forks.t
		for i = forks.h, last do
			if forks[i] == co then
				for j = i, last - 1 do
					forks[j] = forks[j + 1]
				end
				forks[last] = nil
				forks.t = last - 1
				return true
			end
		end
		return false
	end

	-- The session a blocked task waits on: the task itself, or (a string) the
	-- task whose name tostring(co) contains it.
	local function session_of(target)
		for session, co in pairs(waiting) do
			if co == target
				or (type(target) == "string" and type(co) == "thread" and tostring(co):find(target)) then
				return session
			end
		end
	end

	function skynet.killthread(target)
		if type(target) ~= "string" and unqueue_fork(target) then
			return target
		end
		local session = session_of(target)
		local co = session and waiting[session]
		if type(co) ~= "thread" then
			return
		end
		-- a request it was serving gets an error reply
		local addr, owed = requester[co], serving[co]
		if addr then
			if owed and owed > 0 then
				csend(addr, PTYPE_ERROR, owed, "")
			end
			requester[co], serving[co], tracetags[co] = nil, nil, nil
		end
		-- the answer to a call it made is dropped when it comes
		waiting[session] = outstanding[session] and BREAK or nil
		outstanding[session] = nil
		local token = keys_of(sleepers, session)[1]
		if token ~= nil then
			sleepers[token] = nil
		end
		coroutine.close(co)
		return co
	end

	function skynet.localname(name)
		return core.addresscommand("QUERY", name)
	end

	local start_seconds
	function skynet.starttime()
		if not start_seconds then
			start_seconds = cintcommand("STARTTIME")
		end
		return start_seconds
	end

	function skynet.time()
		return skynet.now() / 100 + (start_seconds or skynet.starttime())
	end

	function skynet.setenv(key, value)
		local taken = skynet.getenv(key) ~= nil
		assert(not taken, "Can't setenv exist key : " .. key)
		core.command("SETENV", key .. " " .. value)
	end

	function skynet.harbor(addr)
		return core.harbor(addr)
	end

	local trace_count = 0
	function skynet.trace(info)
		local co = current
		local old = tracetags[co]
		skynet.error("TRACE", old)
		if old == false then
			return	-- forced off for this task
		end
		trace_count = trace_count + 1
		local tag = string.format(":%08x-%d", skynet.self(), trace_count)
		tracetags[co] = tag
		core.trace(tag, info and ("trace " .. info) or "trace")
	end

	function skynet.tracetag()
		return tracetags[current]
	end

	-- flag true: trace every message of this type; false: never; nil: on demand
	function skynet.traceproto(prototype, flag)
		local p = assert(proto[prototype])
		p.trace = flag
	end

	function skynet.tracecall(tag, addr, typename, msg, sz)
		core.trace(tag, "tracecall begin")
		csend(addr, PTYPE_TRACE, 0, tag)
		local rmsg, rsz = yield_call(addr, send_packed(addr, typename, msg, sz))
		core.trace(tag, "tracecall end")
		return rmsg, rsz
	end

	function skynet.context()
		return serving[current], requester[current]
	end

	function skynet.response(pack)
		pack = pack or skynet.pack
		local co = current
		local session = assert(serving[co], "no session")
		serving[co] = nil
		if session == 0 then
			return function() end	-- a send has nobody to answer
		end
		local addr = requester[co]

		-- what the core's send returned for the one answer
		local function answer(ok, ...)
			if not ok then
				return csend(addr, PTYPE_ERROR, session, "")
			end
			return deliver(addr, session, pack(...))
		end

		local function respond(ok, ...)
			if ok == "TEST" then
				return pending_resp[respond] ~= nil	-- may it still answer?
			elseif not pack then
				error "Can't response more than once"
			end
			-- after the requester has gone (pending_resp cleared) nothing is sent
			local delivered = false
			if pending_resp[respond] then
				delivered = answer(ok, ...) ~= nil
				pending_resp[respond] = nil
			end
			pack = nil
			return delivered
		end

		pending_resp[respond] = addr
		return respond
	end

	-- batched calls: skynet.request { addr, type, ... } { ... } :select(timeout)

	do
		local batch = {}
		batch.__index = batch

		function batch:add(req)
			assert(type(req) == "table" and not self._thread)
			self[#self + 1] = req
			return self
		end
		batch.__call = batch.add

		-- Body of the task that stands in for the caller on every session of the
		-- batch: each resume brings one answer (or the timer).
		local function collect(self)
			while true do
				local ok, msg, sz, session = coroutine_yield("SUSPEND")
				if session == self._timer then
					self._timer = nil
					self.timeout = true
				else
					outstanding[session] = nil
					local req = self._sent[session]
					if ok then
						self._got[session] = table.pack(proto[req[2]].unpack(msg, sz))
					else
						self._got[session] = false
					end
				end
				skynet.wakeup(self)
			end
		end

		-- One answer that has come in, with its request; nothing when none has.
		local function take(self)
			local got = self._got
			local session, resp = next(got)
			if session ~= nil then
				local req = self._sent[session]
				got[session], self._sent[session] = nil, nil
				self._pending = self._pending - 1
				return req, resp
			end
		end

		-- The iterator of select: requests that could not be sent come first
		-- (alone, with no answer), then answers as they arrive.
		local function results(self)
			return function()
				local req = self._unsent and tremove(self._unsent)
				if req then
					return req
				end
				self._unsent = nil
				if next(self._got) == nil then
					if self._pending == 0 or self.timeout then
						return
					end
					skynet.wait(self)
					if self.timeout then
						return
					end
				end
				return take(self)
			end
		end

		function batch:close()
			if self._pending and self._pending > 0 then
				local got = self._got
				for session in pairs(self._sent) do
					if got[session] == nil then
						waiting[session] = BREAK
						outstanding[session] = nil
					end
				end
				self._pending = 0
			end
			if self._timer then
				waiting[self._timer] = BREAK
				self._timer = nil
			end
		end
		batch.__close = batch.close

		function batch:select(timeout)
			assert(self._thread == nil)
			local worker = co_create(collect)
			self._thread, self._got, self._sent, self._pending = worker, {}, {}, 0
			local unsent = {}
			for _, req in ipairs(self) do
				local p = proto[req[2]]
				assert(p.unpack)
				announce_trace(req[1], 4)
				local session = send_with_session(req[1], p.id, p.pack(table.unpack(req, 3, req.n)))
				if session then
					-- the worker stands in for us on every session
					self._sent[session], outstanding[session], waiting[session] = req, req[1], worker
					self._pending = self._pending + 1
				else
					unsent[#unsent + 1] = req
				end
			end
			self._unsent = unsent[1] and unsent or nil
			if timeout then
				local s = new_timer(timeout)
				self._timer = s
				waiting[s] = worker
			end
			local saved = current
			current = worker
			co_resume(worker, self)
			current = saved
			return results(self), nil, nil, self
		end

		function skynet.request(req)
			local b = setmetatable({}, batch)
			return req and b:add(req) or b
		end
	end

	-- uniqueservice and queryservice ask service_mgr (".service"); a first
	-- argument of true asks for the harbor-wide form (GLAUNCH, GQUERY), the name
	-- follows it.  They call skynet.call themselves, so that a waiting task's
	-- stack names them.
	function skynet.uniqueservice(name, ...)
		if name ~= true then return assert(skynet.call(".service", "lua", "LAUNCH", name, ...)) end
		return assert(skynet.call(".service", "lua", "GLAUNCH", ...))
	end

	function skynet.queryservice(name, ...)
		local global = name == true
		local command = global and "GQUERY" or "QUERY"
		if global then
			return assert(skynet.call(".service", "lua", command, ...))
		end
		return assert(skynet.call(".service", "lua", command, name, ...))
	end

	function skynet.exit()
		forks = { h = 1, t = 0 }	-- forks not started yet never run
		skynet.send(".launcher", "lua", "REMOVE", skynet.self(), false)
		-- fail the requests we were serving
		for co, session in pairs(serving) do
			local addr = requester[co]
			if session ~= 0 and addr then
				csend(addr, PTYPE_ERROR, session, "")
			end
		end
		-- close every blocked task (runs their to-be-closed variables)
		local blocked = {}
		for _, co in pairs(waiting) do
			if type(co) == "thread" and co ~= current and coroutine.status(co) == "suspended" then
				blocked[#blocked + 1] = co
			end
		end
		for i = 1, #blocked do
			coroutine.close(blocked[i])
		end
		for resp in pairs(pending_resp) do
			resp(false)
		end
		-- tell each service we are still waiting on, once, that we are gone
		local told = {}
		for _, addr in pairs(outstanding) do
			if not told[addr] then
				told[addr] = true
				csend(addr, PTYPE_ERROR, 0, "")
			end
		end
		exited = true
		wakes = { h = 1, t = 0 }
		failed = {}
		core.callback(function(ptype, msg, sz, session, source)
			if session ~= 0 and source ~= 0 then
				csend(source, PTYPE_ERROR, session, "")
			end
		end)
		core.command("EXIT")
		coroutine_yield("QUIT")
	end

	function skynet.endless()
		return cintcommand("STAT", "endless") == 1
	end

	function skynet.mqlen()
		return cintcommand("STAT", "mqlen")
	end

	function skynet.stat(what)
		return cintcommand("STAT", what)
	end

	local function stack_of(co)
		if co == BREAK then
			return co
		end
		local origin = timer_origin and timer_origin[co]
		if origin then
			return origin
		end
		return debug.traceback(co)
	end

	function skynet.task(arg)
		if arg == nil then
			local n = 0
			for _, co in pairs(waiting) do
				if co ~= BREAK then
					n = n + 1
				end
			end
			return n
		end
		if arg == "init" then
			if init_task then
				return debug.traceback(init_task)
			end
			return
		end
		local kind = type(arg)
		if kind == "table" then
			for session, co in pairs(waiting) do
				arg[string.format("%s session: %d", tostring(co), session)] = stack_of(co)
			end
		elseif kind == "number" then
			local co = waiting[arg]
			if co then
				return stack_of(co)
			end
			return "No session"
		elseif kind == "thread" then
			for session, co in pairs(waiting) do
				if co == arg then
					return session
				end
			end
		end
	end

	-- Blocked tasks grouped by identical stacks: "<count>\tsessions:[s1,s2...]\n"
	-- -> stack, listing at most nine sessions of a group.
	function skynet.uniqtask()
		local count, sample = {}, {}
		for session, co in pairs(waiting) do
			local stack = stack_of(co)
			local n = (count[stack] or 0) + 1
			count[stack] = n
			local list = sample[stack] or {}
			sample[stack] = list
			if n < 10 then
				list[n] = session
			end
		end
		local out = {}
		for stack, n in pairs(count) do
			local more = n > 10 and "..." or ""
			out[string.format("%d\tsessions:[%s%s]\n", n, table.concat(sample[stack], ","), more)] = stack
		end
		return out
	end

	function skynet.memlimit(bytes)
		-- the snlua host reads this once the service body has run
		debug.getregistry().memlimit = bytes
		skynet.memlimit = nil
	end
end

-- A name skynet.core provides as it is, or a message type's number; nil for others.
local function plain_field(k)
	if type(k) ~= "string" then
		return nil
	elseif string.find(CORE_FUNCTIONS, " " .. k .. " ", 1, true) then
		return core[k]
	end
	local name = string.match(k, "^PTYPE_(%u+)$")
	local at = name and string.find(TYPE_NAMES, " " .. name .. " ", 1, true)
	if at then
		local _, before = string.gsub(string.sub(TYPE_NAMES, 1, at), "%u+", "")
		return before
	end
end

local function store_plain_fields(t)
	for name in string.gmatch(CORE_FUNCTIONS, "%S+") do
		rawset(t, name, core[name])
	end
	for name in string.gmatch(TYPE_NAMES, "%S+") do
		local k = "PTYPE_" .. name
		rawset(t, k, plain_field(k))
	end
end

setmetatable(skynet, { __index = function(t, k)
	local v = plain_field(k)
	if v ~= nil then
		rawset(t, k, v)
		return v
	end
	setmetatable(t, nil)
	store_plain_fields(t)
	local build = more
	more = nil
	if build then
		build(t)
	end
	return rawget(t, k)
end })

---------------------------------------------------------------------------
-- built-in protocols

skynet.register_protocol {
	name = "lua",
	id = PTYPE_LUA,
	pack = core.pack,
	unpack = core.unpack,
}

skynet.register_protocol {
	name = "response",
	id = PTYPE_RESPONSE,
}

skynet.register_protocol {
	name = "error",
	id = PTYPE_ERROR,
	unpack = function(...) return ... end,
	dispatch = on_error,
}

-- the debug protocol (and skynet.info_func) comes from skynet.debug
require("skynet.debug").init(skynet, {
	id = PTYPE_DEBUG,
	pack = core.pack,
	unpack = core.unpack,
	dispatch = skynet.dispatch_message,
	suspend = settle,
	resume = function(co, ...)
		current = co
		return co_resume(co, ...)
	end,
})

return skynet
