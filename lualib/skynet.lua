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

local type, tostring, pairs, next, select = type, tostring, pairs, next, select
-- xpcall stays global: tracebacks through init_service name it as upstream's do.
local assert, error, pcall = assert, error, pcall
local setmetatable = setmetatable
local tinsert, tremove, tpack, tunpack, tconcat = table.insert, table.remove, table.pack, table.unpack, table.concat
local format = string.format
local traceback = debug.traceback

-- captured once: the host may have swapped in profiling versions already
local co_create = coroutine.create
local co_resume = coroutine.resume
local co_yield = coroutine.yield
local co_running = coroutine.running
local co_status = coroutine.status
local co_close = coroutine.close

local skynet = {
	-- message types, the same numbers as the C core uses
	PTYPE_TEXT = 0,
	PTYPE_RESPONSE = 1,
	PTYPE_MULTICAST = 2,
	PTYPE_CLIENT = 3,
	PTYPE_SYSTEM = 4,
	PTYPE_HARBOR = 5,
	PTYPE_SOCKET = 6,
	PTYPE_ERROR = 7,
	PTYPE_QUEUE = 8,	-- only the deprecated skynet.mqueue uses it
	PTYPE_DEBUG = 9,
	PTYPE_LUA = 10,
	PTYPE_SNAX = 11,
	PTYPE_TRACE = 12,
}

local PTYPE_RESPONSE = skynet.PTYPE_RESPONSE
local PTYPE_ERROR = skynet.PTYPE_ERROR
local PTYPE_TRACE = skynet.PTYPE_TRACE

local BREAK = "BREAK"	-- marks a session whose answer is to be dropped

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
local wake_tokens = {}	-- FIFO of tokens given to skynet.wakeup
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

local LAST_SESSION = 0x7fffffff
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

local idle = setmetatable({}, { __mode = "kv" })

local function finish_task(co, fn)
	local session = serving[co]
	if session and session ~= 0 then
		local info = debug.getinfo(fn, "S")
		skynet.error(format("Maybe forgot response session %s from %s : %s:%d",
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
	local co = tremove(idle)
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
			idle[#idle + 1] = co
			f = co_yield("SUSPEND")
			f(co_yield())
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
			co_close(co)
			return
		elseif command == "USER" then
			error("Call skynet.coroutine.yield out of skynet.coroutine.resume\n" .. traceback(co))
		else
			error("Unknown command : " .. tostring(command) .. "\n" .. traceback(co))
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
	local report = traceback(co, tostring(command))
	co_close(co)
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
	local token = tremove(wake_tokens, 1)
	while token ~= nil do
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
		token = tremove(wake_tokens, 1)
	end
	local session = tremove(failed, 1)
	while session ~= nil do
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
	skynet.error(format("Unknown request (%s): %s", prototype, core.tostring(msg, sz)))
	error(format("Unknown session : %d from %x", session, address))
end

function skynet.dispatch_unknown_request(handler)
	local previous = unknown_request
	unknown_request = handler
	return previous
end

local function unknown_response(session, address, msg, sz)
	skynet.error(format("Response message : %s", core.tostring(msg, sz)))
	error(format("Unknown session : %d from %x", session, address))
end

function skynet.dispatch_unknown_response(handler)
	local previous = unknown_response
	unknown_response = handler
	return previous
end

---------------------------------------------------------------------------
-- message entry point

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

	local co = new_task(handler)
	serving[co] = session
	requester[co] = source
	local flag = p.trace
	if flag == false then
		trace_next[source] = nil
		tracetags[co] = false
	else
		local tag = trace_next[source]
		if tag then
			trace_next[source] = nil
			core.trace(tag, "request")
			tracetags[co] = tag
		elseif flag then
			current = co
			skynet.trace()
		end
	end
	return run(co, session, source, p.unpack(msg, sz))
end

function skynet.dispatch_message(...)
	local ok, err = pcall(route, ...)
	local errors
	if not ok then
		errors = { tostring(err) }
	end
	while not exited do
		local co, n, a, b, c, d = next_job()
		if co == nil then
			break
		end
		local fine, why
		if n == 0 then
			fine, why = pcall(run, co)
		else
			fine, why = pcall(run, co, a, b, c, d)
		end
		if not fine then
			if errors then
				errors[#errors + 1] = tostring(why)
			else
				errors = { tostring(why) }
			end
		end
	end
	assert(not errors, errors and tconcat(errors, "\n"))
end

---------------------------------------------------------------------------
-- failures of calls (PTYPE_ERROR)

local function on_error(err_session, err_source)
	skynet.ignoreret()
	if err_session == 0 then
		-- err_source is gone: forget what we owe it, fail what we asked of it
		for resp, addr in pairs(pending_resp) do
			if addr == err_source then
				pending_resp[resp] = nil
			end
		end
		for session, addr in pairs(outstanding) do
			if addr == err_source then
				failed[#failed + 1] = session
			end
		end
	elseif outstanding[err_session] then
		failed[#failed + 1] = err_session
	end
end

function skynet.term(service)
	return on_error(0, service)
end

---------------------------------------------------------------------------
-- timers, sleeping, waking

local make_timer_task
local timer_origin	-- task -> traceback of where its timer was set (trace_timeout)

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
			timer_origin[co] = traceback(format("TIMER %d+%d : ", skynet.now(), ti), 3)
			return co
		end
	else
		timer_origin = nil
		make_timer_task = new_task
	end
end

skynet.trace_timeout(false)

function skynet.timeout(ti, fn)
	local session = assert(new_timer(ti))
	local co = make_timer_task(fn, ti)
	assert(waiting[session] == nil)
	waiting[session] = co
	return co
end

local function park(session, token)
	local tag = tracetags[current]
	if tag then
		core.trace(tag, "sleep", 2)
	end
	waiting[session] = current
	assert(sleepers[token] == nil, "token duplicative")
	sleepers[token] = session
	return co_yield("SUSPEND")
end

function skynet.sleep(ti, token)
	local session = assert(new_timer(ti))
	token = token or co_running()
	local ok, why = park(session, token)
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
	local session = new_session()
	token = token or co_running()
	park(session, token)
	sleepers[token] = nil
	waiting[session] = nil
end

function skynet.wakeup(token)
	if sleepers[token] then
		wake_tokens[#wake_tokens + 1] = token
		return true
	end
end

function skynet.fork(fn, ...)
	local n = select("#", ...)
	local co
	if n == 0 then
		co = new_task(fn)
	else
		local args = { ... }
		co = new_task(function()
			fn(tunpack(args, 1, n))
		end)
	end
	local t = forks.t + 1
	forks.t = t
	forks[t] = co
	return co
end

function skynet.killthread(target)
	local session
	if type(target) == "string" then
		for s, co in pairs(waiting) do
			if type(co) == "thread" and tostring(co):find(target) then
				session = s
				break
			end
		end
	else
		-- a fork that has not run yet just leaves the queue
		local t = forks.t
		for i = forks.h, t do
			if forks[i] == target then
				table.move(forks, i + 1, t, i)
				forks[t] = nil
				forks.t = t - 1
				return target
			end
		end
		for s, co in pairs(waiting) do
			if co == target then
				session = s
				break
			end
		end
	end
	if session == nil then
		return
	end
	local co = waiting[session]
	if type(co) ~= "thread" then
		return
	end
	local addr = requester[co]
	if addr then
		requester[co] = nil
		tracetags[co] = nil
		local owed = serving[co]
		if owed and owed > 0 then
			csend(addr, PTYPE_ERROR, owed, "")
		end
		serving[co] = nil
	end
	if outstanding[session] then
		waiting[session] = BREAK
		outstanding[session] = nil
	else
		waiting[session] = nil
	end
	for token, s in pairs(sleepers) do
		if s == session then
			sleepers[token] = nil
			break
		end
	end
	co_close(co)
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

function skynet.localname(name)
	return core.addresscommand("QUERY", name)
end

skynet.now = core.now
skynet.hpc = core.hpc

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

function skynet.getenv(key)
	return (core.command("GETENV", key))
end

function skynet.setenv(key, value)
	assert(core.command("GETENV", key) == nil, "Can't setenv exist key : " .. key)
	core.command("SETENV", key .. " " .. value)
end

function skynet.address(addr)
	if type(addr) == "number" then
		return format(":%08x", addr)
	end
	return tostring(addr)
end

function skynet.harbor(addr)
	return core.harbor(addr)
end

skynet.error = core.error
skynet.tracelog = core.trace

---------------------------------------------------------------------------
-- tracing

local trace_count = 0
function skynet.trace(info)
	skynet.error("TRACE", tracetags[current])
	if tracetags[current] == false then
		return	-- forced off for this task
	end
	trace_count = trace_count + 1
	local tag = format(":%08x-%d", skynet.self(), trace_count)
	tracetags[current] = tag
	if info then
		core.trace(tag, "trace " .. info)
	else
		core.trace(tag, "trace")
	end
end

function skynet.tracetag()
	return tracetags[current]
end

-- flag true: trace every message of this type; false: never; nil: on demand
function skynet.traceproto(prototype, flag)
	local p = assert(proto[prototype])
	p.trace = flag
end

local function announce_trace(addr, level)
	local tag = tracetags[current]
	if tag then
		core.trace(tag, "call", level)
		csend(addr, PTYPE_TRACE, 0, tag)
	end
end

---------------------------------------------------------------------------
-- sending and calling

skynet.genid = assert(core.genid)
skynet.pack = assert(core.pack)
skynet.packstring = assert(core.packstring)
skynet.unpack = assert(core.unpack)
skynet.tostring = assert(core.tostring)
skynet.trash = assert(core.trash)

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
	local ok, msg, sz = co_yield("SUSPEND")
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
	if session == nil then
		error("call to invalid address " .. skynet.address(addr))
	end
	return p.unpack(yield_call(addr, session))
end

function skynet.rawcall(addr, typename, msg, sz)
	announce_trace(addr, 3)
	local p = proto[typename]
	local session = assert(send_with_session(addr, p.id, msg, sz), "call to invalid address")
	return yield_call(addr, session)
end

function skynet.tracecall(tag, addr, typename, msg, sz)
	core.trace(tag, "tracecall begin")
	csend(addr, PTYPE_TRACE, 0, tag)
	local p = proto[typename]
	local session = assert(send_with_session(addr, p.id, msg, sz), "call to invalid address")
	local rmsg, rsz = yield_call(addr, session)
	core.trace(tag, "tracecall end")
	return rmsg, rsz
end

---------------------------------------------------------------------------
-- answering requests

function skynet.ret(msg, sz)
	msg = msg or ""
	local co = current
	local tag = tracetags[co]
	if tag then
		core.trace(tag, "response")
	end
	local session = serving[co]
	if session == nil then
		error "No session"
	end
	serving[co] = nil
	if session == 0 then
		-- the request was a send: nothing to answer
		if sz ~= nil then
			core.trash(msg, sz)
		end
		return false
	end
	local addr = requester[co]
	local sent = csend(addr, PTYPE_RESPONSE, session, msg, sz)
	if sent then
		return true
	elseif sent == false then
		-- too large to deliver: tell the caller it failed
		csend(addr, PTYPE_ERROR, session, "")
	end
	return false
end

function skynet.retpack(...)
	return skynet.ret(skynet.pack(...))
end

function skynet.context()
	return serving[current], requester[current]
end

function skynet.ignoreret()
	serving[current] = nil
end

function skynet.response(pack)
	pack = pack or skynet.pack
	local co = current
	local session = assert(serving[co], "no session")
	serving[co] = nil
	local addr = requester[co]
	if session == 0 then
		return function() end
	end

	local function respond(ok, ...)
		if ok == "TEST" then
			return pending_resp[respond] ~= nil
		end
		if not pack then
			error "Can't response more than once"
		end
		local result = false
		if pending_resp[respond] then
			local sent
			if ok then
				sent = csend(addr, PTYPE_RESPONSE, session, pack(...))
				if sent == false then
					csend(addr, PTYPE_ERROR, session, "")
				end
			else
				sent = csend(addr, PTYPE_ERROR, session, "")
			end
			pending_resp[respond] = nil
			result = sent ~= nil
		end
		pack = nil
		return result
	end

	pending_resp[respond] = addr
	return respond
end

---------------------------------------------------------------------------
-- dispatch functions

function skynet.dispatch(typename, fn)
	local p = proto[typename]
	if fn then
		local previous = p.dispatch
		p.dispatch = fn
		return previous
	end
	return p and p.dispatch
end

---------------------------------------------------------------------------
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
			local ok, msg, sz, session = co_yield("SUSPEND")
			if session == self._timer then
				self._timer = nil
				self.timeout = true
			else
				outstanding[session] = nil
				local req = self._sent[session]
				if ok then
					self._got[session] = tpack(proto[req[2]].unpack(msg, sz))
				else
					self._got[session] = false
				end
			end
			skynet.wakeup(self)
		end
	end

	local function results(self)
		return function()
			local unsent = self._unsent
			if unsent then
				local req = tremove(unsent)
				if req then
					return req
				end
				self._unsent = nil
			end
			local session, resp = next(self._got)
			if session == nil then
				if self._pending == 0 or self.timeout then
					return
				end
				skynet.wait(self)
				if self.timeout then
					return
				end
				session, resp = next(self._got)
				if session == nil then
					return
				end
			end
			self._pending = self._pending - 1
			local req = self._sent[session]
			self._got[session] = nil
			self._sent[session] = nil
			return req, resp
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
		self._thread = worker
		self._got = {}
		local sent = {}
		self._sent = sent
		local count = 0
		local unsent
		for i = 1, #self do
			local req = self[i]
			local addr = req[1]
			local p = proto[req[2]]
			assert(p.unpack)
			announce_trace(addr, 4)
			local session = send_with_session(addr, p.id, p.pack(tunpack(req, 3, req.n)))
			if not session then
				unsent = unsent or {}
				unsent[#unsent + 1] = req
			else
				sent[session] = req
				outstanding[session] = addr
				waiting[session] = worker
				count = count + 1
			end
		end
		self._pending = count
		self._unsent = unsent
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
		if req then
			return b(req)
		end
		return b
	end
end

---------------------------------------------------------------------------
-- services

function skynet.newservice(name, ...)
	return skynet.call(".launcher", "lua", "LAUNCH", "snlua", name, ...)
end

function skynet.uniqueservice(name, ...)
	if name == true then
		return assert(skynet.call(".service", "lua", "GLAUNCH", ...))
	end
	return assert(skynet.call(".service", "lua", "LAUNCH", name, ...))
end

function skynet.queryservice(name, ...)
	if name == true then
		return assert(skynet.call(".service", "lua", "GQUERY", ...))
	end
	return assert(skynet.call(".service", "lua", "QUERY", name, ...))
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
		if type(co) == "thread" and co ~= current and co_status(co) == "suspended" then
			blocked[#blocked + 1] = co
		end
	end
	for i = 1, #blocked do
		co_close(blocked[i])
	end
	for resp in pairs(pending_resp) do
		resp(false)
	end
	-- tell those we are still waiting on that we are gone
	local callees = {}
	for _, addr in pairs(outstanding) do
		callees[addr] = true
	end
	for addr in pairs(callees) do
		csend(addr, PTYPE_ERROR, 0, "")
	end
	exited = true
	wake_tokens = {}
	failed = {}
	core.callback(function(ptype, msg, sz, session, source)
		if session ~= 0 and source ~= 0 then
			csend(source, PTYPE_ERROR, session, "")
		end
	end)
	core.command("EXIT")
	co_yield("QUIT")
end

---------------------------------------------------------------------------
-- start up

skynet.init = modreq.init
skynet.pcall = pcall	-- kept for old code; plain pcall works

function skynet.init_service(start)
	local ok, err = xpcall(function()
		modreq.init_all()
		start()
	end, traceback)
	if ok then
		skynet.send(".launcher", "lua", "LAUNCHOK")
	else
		skynet.error("init service failed: " .. tostring(err))
		skynet.send(".launcher", "lua", "ERROR")
		skynet.exit()
	end
end

function skynet.start(start)
	core.callback(skynet.dispatch_message)
	init_task = skynet.timeout(0, function()
		skynet.init_service(start)
		init_task = nil
	end)
end

---------------------------------------------------------------------------
-- introspection

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
	return traceback(co)
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
			return traceback(init_task)
		end
		return
	end
	local kind = type(arg)
	if kind == "table" then
		for session, co in pairs(waiting) do
			arg[format("%s session: %d", tostring(co), session)] = stack_of(co)
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

function skynet.uniqtask()
	local groups = {}
	for session, co in pairs(waiting) do
		local stack = stack_of(co)
		local g = groups[stack]
		if g == nil then
			g = { count = 0, sessions = {} }
			groups[stack] = g
		end
		g.count = g.count + 1
		if g.count < 10 then
			g.sessions[#g.sessions + 1] = session
		end
	end
	local out = {}
	for stack, g in pairs(groups) do
		local list = tconcat(g.sessions, ",")
		if g.count > 10 then
			list = list .. "..."
		end
		out[format("%d\tsessions:[%s]\n", g.count, list)] = stack
	end
	return out
end

function skynet.memlimit(bytes)
	-- the snlua host reads this once the service body has run
	debug.getregistry().memlimit = bytes
	skynet.memlimit = nil
end

---------------------------------------------------------------------------
-- built-in protocols

skynet.register_protocol {
	name = "lua",
	id = skynet.PTYPE_LUA,
	pack = skynet.pack,
	unpack = skynet.unpack,
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
	dispatch = skynet.dispatch_message,
	suspend = settle,
	resume = function(co, ...)
		current = co
		return co_resume(co, ...)
	end,
})

return skynet
