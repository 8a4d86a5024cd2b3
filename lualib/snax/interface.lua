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

-- a write-only table that appends each assignment to `methods` under `group`
local function recorder(methods, group)
	local defined = {}
	return setmetatable({}, {
		__newindex = function(_, name, fn)
			if type(name) ~= "string" then
				error(string.format("%s method only support string", group))
			end
			if type(fn) ~= "function" then
				error(string.format("%s.%s must be function", group, name))
			end
			if defined[name] then
				error(string.format("%s.%s duplicate definition", group, name))
			end
			defined[name] = true
			methods[#methods + 1] = { #methods + 1, group, name, fn }
		end,
	})
end

return function(name, G, loader)
	loader = loader or search

	assert(getmetatable(G) == nil)
	assert(G.init == nil)
	assert(G.exit == nil)
	assert(G.accept == nil)
	assert(G.response == nil)

	local methods = {}
	local system_id = {}
	for id, hook in ipairs(SYSTEM) do
		system_id[hook] = id
		methods[id] = { id, "system", hook }
	end

	local new_globals = {}
	local visible = setmetatable({
		accept = recorder(methods, "accept"),
		response = recorder(methods, "response"),
	}, { __index = new_globals })

	local function on_assign(_, key, value)
		local id = system_id[key]
		if id then
			if type(value) ~= "function" then
				error(string.format("%s must be a function", key))
			end
			methods[id][4] = value
		else
			new_globals[key] = value
		end
	end

	local path = assert(skynet.getenv "snax", "please set snax in config file")
	local chunk, pattern = loader(path, name, G)

	setmetatable(G, { __index = visible, __newindex = on_assign })
	local ok, err = xpcall(chunk, debug.traceback)
	setmetatable(G, nil)
	assert(ok, err)

	for k, v in pairs(new_globals) do
		G[k] = v
	end

	return methods, pattern
end
