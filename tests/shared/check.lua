-- A tiny assertion helper for the shared suite: check(name) returns an object whose
-- :eq / :ok / :raises count failures and print "FAIL ..." lines; :done prints PASS.
local skynet = require "skynet"

local M = {}
M.__index = M

function M.new(name)
	return setmetatable({ name = name, failures = 0, count = 0 }, M)
end

function M:ok(cond, what)
	self.count = self.count + 1
	if not cond then
		self.failures = self.failures + 1
		skynet.error(string.format("FAIL %s: %s", self.name, what))
	end
	return cond
end

function M:eq(got, want, what)
	return self:ok(got == want, string.format("%s: got %q, want %q", what, tostring(got), tostring(want)))
end

-- f(...) must raise an error whose message contains pattern (plain find)
function M:raises(pattern, what, f, ...)
	local ok, err = pcall(f, ...)
	return self:ok(not ok and (pattern == nil or tostring(err):find(pattern, 1, true)),
		string.format("%s: expected an error%s, got %s", what,
			pattern and (" with " .. pattern) or "", ok and "success" or tostring(err)))
end

function M:done()
	if self.failures == 0 then
		skynet.error(string.format("%s: PASS (%d checks)", self.name, self.count))
	else
		skynet.error(string.format("%s: %d of %d checks FAILED", self.name, self.failures, self.count))
	end
	require "skynet.manager"
	skynet.abort()
end

return M
