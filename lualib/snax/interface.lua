-- snax.interface: load a snax service source and list its methods.
--
-- A snax source defines functions in three ways:
--   function accept.NAME(...)    -- a post (no reply)
--   function response.NAME(...)  -- a request (reply with the results)
--   function init/exit/hotfix/profile(...)  -- the system hooks
-- Other globals it sets land in G once the source has run.
--
-- interface(name, G [, loader]) -> methods, pattern
--   methods[i] = { i, group, name, fn }, group being "system", "accept" or
--   "response"; ids 1..4 are always init, exit, hotfix, profile (fn may be nil).
--   pattern is the entry of the `snax` search path that matched.

local skynet = require "skynet"

local SYSTEM = { "init", "exit", "hotfix", "profile" }

local function search(path, name, G)
	local errors = {}
	for pattern in string.gmatch(path, "[^;]+") do
		local filename = string.gsub(pattern, "%?", function() return name end)
		local chunk, err = loadfile(filename, "bt", G)
		if chunk then
			return chunk, pattern
		end
		errors[#errors + 1] = err
	end
	error(table.concat(errors, "\n"))
end

-- Why a definition group.NAME = fn is refused, or nil when it is fine.
local function refusal(group, defined, name, fn)
	if type(name) ~= "string" then
		return string.format("%s method only support string", group)
	elseif type(fn) ~= "function" then
		return string.format("%s.%s must be function", group, name)
	elseif defined[name] then
		return string.format("%s.%s duplicate definition", group, name)
	end
end

-- a write-only table that appends each assignment to `methods` under `group`
local function recorder(methods, group)
	local defined = {}
	return setmetatable({}, {
		__newindex = function(_, name, fn)
			local why = refusal(group, defined, name, fn)
			if why then
				error(why)
			end
			defined[name] = true
			methods[#methods + 1] = { #methods + 1, group, name, fn }
		end,
	})
end

return function(name, G, loader)
	local path = assert(skynet.getenv "snax", "please set snax in config file")
	assert(getmetatable(G) == nil)
	for _, taken in ipairs { "init", "exit", "accept", "response" } do
		assert(G[taken] == nil)
	end

	-- ids 1..4: the system hooks, in SYSTEM's order
	local methods, hook_id = {}, {}
	for id, hook in ipairs(SYSTEM) do
		hook_id[hook] = id
		methods[id] = { id, "system", hook }
	end

	-- While the source runs, G's missing names read as the two method groups
	-- or as the other globals the source set so far; assignments to new names
	-- either set a system hook or wait in `later` until the source is done.
	local groups = { accept = recorder(methods, "accept"), response = recorder(methods, "response") }
	local later = {}
	local while_loading = {
		__index = function(_, key)
			local group = groups[key]
			if group ~= nil then
				return group
			end
			return later[key]
		end,
		__newindex = function(_, key, value)
			local id = hook_id[key]
			if id == nil then
				later[key] = value
			elseif type(value) == "function" then
				methods[id][4] = value
			else
				error(string.format("%s must be a function", key))
			end
		end,
	}

	local chunk, pattern = (loader or search)(path, name, G)
	setmetatable(G, while_loading)
	local ok, err = xpcall(chunk, debug.traceback)
	setmetatable(G, nil)
	assert(ok, err)
	for k, v in next, later do rawset(G, k, v) end
	return methods, pattern
end
