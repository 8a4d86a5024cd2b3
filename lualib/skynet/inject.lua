-- Runs a chunk of Lua source inside a live service (debug command RUN).
--
-- The chunk gets its own environment on top of _ENV with:
--   print  collects output lines, returned to the requester
--   _U     tables reachable as upvalues of the given functions, by name
--   _P     per protocol name, tables reachable from that protocol's dispatch

-- Walk the upvalues of fn (and of functions among them); record tables by name.
local function gather_tables(into, fn, seen)
	for i = 1, math.huge do
		local name, value = debug.getupvalue(fn, i)
		if name == nil then break end
		if type(value) == "table" then
			into[name] = value
		elseif type(value) == "function" and not seen[value] then
			seen[value] = true
			gather_tables(into, value, seen)
		end
	end
end

return function(skynet, source, filename, args, ...)
	local chunkname = filename and ("@" .. filename) or "=(load)"
	local lines = {}

	local function capture_print(...)
		local n = select("#", ...)
		local parts = { ... }
		for i = 1, n do
			parts[i] = tostring(parts[i])
		end
		lines[#lines + 1] = table.concat(parts, "\t", 1, n)
	end

	local upvalues, seen = {}, {}
	for _, fn in ipairs { ... } do
		gather_tables(upvalues, fn, seen)
	end

	-- `proto`, the protocol classes of skynet.lua, names each dispatch function
	local by_protocol = {}
	for _, class in pairs(upvalues.proto or {}) do
		local pname, handler = class.name, class.dispatch
		if pname and handler and by_protocol[pname] == nil then
			by_protocol[pname] = {}
			gather_tables(by_protocol[pname], handler, seen)
		end
	end

	local env = setmetatable({ print = capture_print, _U = upvalues, _P = by_protocol },
		{ __index = _ENV })
	local chunk, err = load(source, chunkname, "bt", env)
	if not chunk then
		return false, { err }
	end
	local ok, failure = skynet.pcall(chunk, table.unpack(args, 1, args.n))
	if not ok then
		lines[#lines + 1] = failure
		return false, lines
	end
	return true, lines
end
