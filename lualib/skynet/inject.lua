-- Runs a chunk of Lua source inside a live service (debug command RUN).
--
-- The chunk gets its own environment on top of _ENV with:
--   print  collects output lines, returned to the requester
--   _U     tables reachable as upvalues of the given functions, by name
--   _P     per protocol name, tables reachable from that protocol's dispatch

-- Walk the upvalues of fn (and of functions among them); record tables by name.
local function gather_tables(into, fn, seen)
	local i = 1
	while true do
		local name, value = debug.getupvalue(fn, i)
		if name == nil then
			return
		end
		local kind = type(value)
		if kind == "table" then
			into[name] = value
		elseif kind == "function" and not seen[value] then
			seen[value] = true
			gather_tables(into, value, seen)
		end
		i = i + 1
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

	local by_protocol = {}
	local protocols = upvalues.proto
	if protocols then
		for _, class in pairs(protocols) do
			local pname, handler = class.name, class.dispatch
			if pname and handler and not by_protocol[pname] then
				local t = {}
				by_protocol[pname] = t
				gather_tables(t, handler, seen)
			end
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
