-- snax.hotfix: replace methods of a running snax service with new source.
--
-- The patch is a snax source of its own.  Each method it defines replaces the
-- method of the same group and name; the new function's free variables (the
-- upvalues that are still unset, or still the patch's scratch environment) are
-- joined to the variables of the same name the old methods use, so the patched
-- code shares state with the service.  A `hotfix` hook in the patch is run
-- afterwards with the extra arguments; its results are returned.

-- (named si, as upstream names it: it shows in tracebacks)
local si = require "snax.interface"

local getupvalue = debug.getupvalue
local upvalueid = debug.upvalueid

local function env_slot(f)
	local i = 1
	while true do
		local name = getupvalue(f, i)
		if name == nil then
			return
		end
		if name == "_ENV" then
			return upvalueid(f, i)
		end
		i = i + 1
	end
end

-- name -> { func =, index =, id = } for every upvalue reachable from f
-- through functions that share f's environment
local function gather(f, found, env)
	local i = 1
	while true do
		local name, value = getupvalue(f, i)
		if name == nil then
			return
		end
		local id = upvalueid(f, i)
		local old = found[name]
		if old then
			assert(old.id == id, string.format("ambiguity local value %s", name))
		else
			found[name] = { func = f, index = i, id = id }
			if type(value) == "function" and env_slot(value) == env then
				gather(value, found, env)
			end
		end
		i = i + 1
	end
end

-- owns exactly one upvalue, _ENV: a stand-in when no method uses globals
local function global_anchor()
	return _ENV
end

local function service_variables(methods)
	local found = {}
	for _, m in pairs(methods) do
		local f = m[4]
		if f then
			gather(f, found, env_slot(f))
		end
	end
	if found._ENV == nil then
		found._ENV = { func = global_anchor, index = 1 }
	end
	return found
end

local function lookup(methods, group, name)
	for _, m in pairs(methods) do
		if m[2] == group and m[3] == name then
			return m
		end
	end
end

-- scratch environment the patch source runs in
local scratch = {}
for k, v in pairs(_ENV) do
	scratch[k] = v
end

local function rebind(vars, f)
	local i = 1
	while true do
		local name, value = getupvalue(f, i)
		if name == nil then
			return
		end
		if value == nil or value == scratch then
			local target = vars[name]
			if target then
				debug.upvaluejoin(f, i, target.func, target.index)
			end
		elseif type(value) == "function" then
			rebind(vars, value)
		end
		i = i + 1
	end
end

local function apply(methods, source, ...)
	local patch = si("patch", scratch, function()
		return load(source, "=patch", "bt", scratch)
	end)
	local vars = service_variables(methods)
	for _, m in pairs(patch) do
		local group, name, f = m[2], m[3], m[4]
		if f then
			local target = assert(lookup(methods, group, name),
				string.format("Patch mismatch %s.%s", group, name))
			rebind(vars, f)
			target[4] = f
		end
	end
	-- the patch's own hotfix hook runs last, its results go back to the caller
	local hook = lookup(patch, "system", "hotfix")[4]
	if hook then
		return hook(...)
	end
end

-- hotfix(methods, source, ...) -> true, results of the patch's hotfix | false, error
return function(...)
	return pcall(apply, ...)
end
