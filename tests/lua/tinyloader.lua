-- A stand-in loader for testing the snlua host without the Lua layer: finds the service on
-- LUA_SERVICE, lets it require files beside it, and runs it with its arguments.
local args = {}
for word in string.gmatch(..., "%S+") do
	args[#args + 1] = word
end
SERVICE_NAME = args[1]
local errors = {}
for pattern in string.gmatch(LUA_SERVICE, "([^;]+);*") do
	local f, err = loadfile((string.gsub(pattern, "?", SERVICE_NAME)))
	if f then
		local dir = string.match(pattern, "^(.*/)[^/]*$") or "./"
		package.path = dir .. "?.lua;" .. LUA_PATH
		package.cpath = LUA_CPATH
		return f(table.unpack(args, 2))
	end
	errors[#errors + 1] = err
end
error(table.concat(errors, "\n"))
