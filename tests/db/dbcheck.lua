-- A tiny harness for the db suite's Lua services: each check prints "ok <name>" or
-- "not ok <name>: <why>"; done() prints the count and stops the node.
local skynet = require "skynet"
require "skynet.manager"

local M = { count = 0 }

function M.check(name, f, ...)
	M.count = M.count + 1
	local ok, err = xpcall(f, debug.traceback, ...)
	if ok then
		skynet.error("ok " .. name)
	else
		skynet.error("not ok " .. name .. ": " .. tostring(err))
	end
	return ok
end

function M.eq(got, want, what)
	if got ~= want then
		error(string.format("%s: got %s, want %s", what or "value", tostring(got), tostring(want)), 2)
	end
end

-- Runs f and returns the error it raised; fails if it raised none.
function M.raises(f, ...)
	local ok, err = pcall(f, ...)
	if ok then
		error("no error raised", 2)
	end
	return err
end

-- Polls cond every 10 ms until it is true or ms milliseconds pass.
function M.wait_for(cond, ms, what)
	local deadline = skynet.now() + (ms // 10)
	while not cond() do
		if skynet.now() > deadline then
			error("timed out waiting for " .. (what or "a condition"), 2)
		end
		skynet.sleep(1)
	end
end

function M.done()
	skynet.error("done " .. M.count)
	skynet.abort()
end

return M
