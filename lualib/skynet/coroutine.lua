-- skynet.coroutine: coroutines that may block on skynet (call, sleep, wait)
-- while being driven by ordinary resume/yield.
--
-- A coroutine made here yields its own values tagged "USER".  Any other yield
-- comes from the framework suspending it; resume() then suspends the calling
-- task the same way, and hands the answer back down when it arrives.  Only the
-- outermost task is known to the scheduler; coroutine.thread() finds it.

local raw = coroutine
local c_create, c_resume, c_yield, c_close = raw.create, raw.resume, raw.yield, raw.close
local c_status, c_running = raw.status, raw.running
local select = select

local M = {
	isyieldable = raw.isyieldable,
	running = raw.running,
}

-- coroutine -> true (ours, free to resume) | false (blocked inside skynet)
local ours = setmetatable({}, { __mode = "kv" })
-- coroutine -> the skynet task at the root of its resume chain
local root = setmetatable({}, { __mode = "kv" })

function M.create(f)
	local co = c_create(f)
	ours[co] = true
	return co
end

local pass_down

local function came_back(co, ok, ...)
	if not ok then
		return false, ...
	end
	if c_status(co) == "dead" then
		ours[co] = nil
		return true, ...
	end
	if (...) == "USER" then
		return true, select(2, ...)
	end
	-- blocked by the framework: block the caller likewise, then carry on
	ours[co] = false
	return pass_down(co, c_yield(...))
end

function pass_down(co, ...)
	ours[co] = true
	return came_back(co, c_resume(co, ...))
end

function M.resume(co, ...)
	local state = ours[co]
	if state == false then
		return false, "cannot resume a skynet coroutine suspend by skynet framework"
	elseif state == nil then
		if c_status(co) == "dead" then
			return c_resume(co, ...)	-- the stock "cannot resume dead coroutine"
		end
		return false, "cannot resume none skynet coroutine"
	end
	local me = c_running()
	root[co] = root[me] or me
	return came_back(co, c_resume(co, ...))
end

-- Returns the skynet task behind co (default: the running coroutine) and
-- whether co is itself such a task.
function M.thread(co)
	co = co or c_running()
	local is_task = ours[co] == nil
	if is_task then
		return co, true
	end
	return root[co], false
end

function M.status(co)
	local s = c_status(co)
	if s == "suspended" and ours[co] == false then
		return "blocked"
	end
	return s
end

function M.yield(...)
	return c_yield("USER", ...)
end

local function unwrap(ok, ...)
	if ok then
		return ...
	end
	error((...), 0)
end

function M.wrap(f)
	local co = M.create(f)
	return function(...)
		return unwrap(M.resume(co, ...))
	end
end

function M.close(co)
	ours[co] = nil
	return c_close(co)
end

return M
