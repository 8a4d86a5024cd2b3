-- skynet.queue(): a re-entrant critical section for tasks of one service.
--
--   local cs = queue()
--   cs(f, ...)   -- runs f(...) once no other task is inside cs
--
-- The task inside may call cs again (nesting); others wait in FIFO order.
-- Errors raised by f propagate to the caller after the section is released.

local skynet = require "skynet"

local running = coroutine.running
local traceback = debug.traceback

function skynet.queue()
	local holder		-- task inside the section
	local depth = 0		-- how many times holder has entered
	local queued = {}	-- tasks waiting to enter: queued[head .. tail]
	local head, tail = 1, 0

	local function release(ok, ...)
		depth = depth - 1
		if depth == 0 then
			local nxt
			if head <= tail then
				nxt = queued[head]
				queued[head] = nil
				head = head + 1
			else
				head, tail = 1, 0
			end
			holder = nxt
			if nxt then
				skynet.wakeup(nxt)
			end
		end
		if not ok then
			error((...), 0)
		end
		return ...
	end

	return function(f, ...)
		local me = running()
		if holder ~= nil and holder ~= me then
			tail = tail + 1
			queued[tail] = me
			skynet.wait()
			-- release() handed the section to us
			assert(depth == 0)
		end
		holder = me
		depth = depth + 1
		return release(xpcall(f, traceback, ...))
	end
end

return skynet.queue
