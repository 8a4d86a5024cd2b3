-- skynet.injectcode: run Lua source as if written inside a live stack frame.
--
--   injectcode(source [, co [, level [, extra]]]) -> true, results... | false, err
--
-- The frame is `level` of coroutine `co`; with co omitted (or the running
-- coroutine) level 0 is the function calling injectcode.  The source sees the
-- frame's locals (their new values are written back afterwards), its
-- function's upvalues (shared, not copied), the frame's varargs as `...`, and
-- the functions of the table `extra` by name.

local getlocal, setlocal = debug.getlocal, debug.setlocal
local getupvalue, setupvalue, upvaluejoin = debug.getupvalue, debug.setupvalue, debug.upvaluejoin

return function(source, co, level, extra)
	local here = coroutine.running()
	co = co or here
	level = level or 0
	local frame = level
	if co == here then
		frame = level + 2	-- level 1 is this function, 2 its caller
	end

	local info = debug.getinfo(co, frame, "f")
	local fn = info and info.func
	if fn == nil then
		return false, "Invalid level"
	end

	-- names the generated function declares as upvalues
	local names, declared = {}, {}
	local function declare(name)
		if not declared[name] then
			declared[name] = true
			names[#names + 1] = name
		end
	end

	local local_value, is_local, local_slots = {}, {}, {}
	local i = 1
	while true do
		local name, value = getlocal(co, frame, i)
		if name == nil then
			break
		end
		if name:byte() ~= 40 then	-- skip internal "(...)" slots
			declare(name)
			local_value[name] = value	-- a later (inner) local shadows an earlier one
			is_local[name] = true
			local_slots[#local_slots + 1] = { i, name }
		end
		i = i + 1
	end

	local upvalue_index = {}
	i = 1
	while true do
		local name = getupvalue(fn, i)
		if name == nil then
			break
		end
		if upvalue_index[name] == nil then
			upvalue_index[name] = i
		end
		declare(name)
		i = i + 1
	end

	if extra then
		for name in pairs(extra) do
			declare(name)
		end
	end

	local readback = {}
	for _, slot in ipairs(local_slots) do
		readback[#readback + 1] = string.format("[%d]=%s,", slot[1], slot[2])
	end
	local text = "local " .. (#names > 0 and table.concat(names, ",") or "_") .. "\n" ..
		"return function(...)\n" .. source .. "\nend, function() return {" ..
		table.concat(readback) .. "} end\n"

	local maker, err = load(text, "=(debug)")
	if maker == nil then
		return false, err
	end
	local body, collect = maker()

	-- bind the declared names: a local of the frame, else an upvalue of its
	-- function, else an extra function
	i = 1
	while true do
		local name = getupvalue(body, i)
		if name == nil then
			break
		end
		if is_local[name] then
			setupvalue(body, i, local_value[name])
		elseif upvalue_index[name] then
			upvaluejoin(body, i, fn, upvalue_index[name])
		elseif extra and extra[name] ~= nil then
			setupvalue(body, i, extra[name])
		end
		i = i + 1
	end

	local varargs = {}
	i = 1
	while true do
		local name, value = getlocal(co, frame, -i)
		if name == nil then
			break
		end
		varargs[i] = value
		i = i + 1
	end

	local results = table.pack(pcall(body, table.unpack(varargs, 1, i - 1)))
	if not results[1] then
		return false, results[2]
	end
	for index, value in pairs(collect()) do
		setlocal(co, frame, index, value)
	end
	return table.unpack(results, 1, results.n)
end
