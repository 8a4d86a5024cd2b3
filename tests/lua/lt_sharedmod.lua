-- The module of test_sharedcode: loaded once into the shared state, run by several services.
local M = {}

local Point = {}
Point.__index = Point

function Point.new(x, y)
	return setmetatable({ x = x, y = y }, Point)
end

function Point:sum()
	return self.x + self.y
end

M.Point = Point
M.greeting = "hello"
M.only_in_this_module = true

function M.field(t, k)
	return t[k]
end

function M.fail()
	error("shared failure")
end

function M.first_local()
	local alpha = 1
	return debug.getlocal(1, 1), alpha
end

return M
