-- Shared by the node tests: `check(cond, what)` prints "ok <what>" or "TEST FAIL <what>";
-- `finish(name)` prints "TEST PASS <name>" when no check failed.
local M = { failed = 0 }

function M.check(cond, what, ...)
	if cond then
		print("ok " .. what)
	else
		M.failed = M.failed + 1
		print("TEST FAIL " .. what, ...)
	end
	return cond
end

function M.finish(name)
	if M.failed == 0 then
		print("TEST PASS " .. name)
	end
end

return M
