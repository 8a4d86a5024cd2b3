-- skynet.snax: client side of snax services (and a few helpers for them).
--
-- A snax object wraps a handle:  obj.post.NAME(...) sends to accept.NAME,
-- obj.req.NAME(...) calls response.NAME and returns its results.

local skynet = require "skynet"
local interface = require "snax.interface"

local snax = {}

-- optional module whose table is the environment snax sources are parsed in
local shared_env
do
	local modname = skynet.getenv "snax_interface_g"
	if modname then
		shared_env = require(modname)
	else
		shared_env = { require = function() end }
	end
end

skynet.register_protocol {
	name = "snax",
	id = skynet.PTYPE_SNAX,
	pack = skynet.pack,
	unpack = skynet.unpack,
}

local types = {}	-- service name -> { name =, accept =, response =, system = }

function snax.interface(name)
	local t = types[name]
	if t then
		return t
	end
	t = { name = name, accept = {}, response = {}, system = {} }
	for _, m in ipairs(interface(name, shared_env)) do
		local id, group, method = m[1], m[2], m[3]
		t[group][method] = id
	end
	types[name] = t
	return t
end

local function method_table(t, handle, group, kind, invoke)
	return setmetatable({}, {
		__index = function(_, key)
			local id = t[group][key]
			if not id then
				error(string.format("%s %s:%s no exist", kind, t.name, key))
			end
			return function(...)
				return invoke(handle, "snax", id, ...)
			end
		end,
	})
end

local object_meta = {
	__tostring = function(obj)
		return string.format("[%s:%x]", obj.type, obj.handle)
	end,
}

local bound = setmetatable({}, { __mode = "kv" })

function snax.bind(handle, typename)
	local obj = bound[handle]
	if obj then
		assert(obj.type == typename)
		return obj
	end
	local t = snax.interface(typename)
	obj = setmetatable({
		post = method_table(t, handle, "accept", "post", function(...)
			skynet.send(...)	-- a post has no result
		end),
		req = method_table(t, handle, "response", "request", skynet.call),
		type = typename,
		handle = handle,
	}, object_meta)
	bound[handle] = obj
	return obj
end

-- Calls the system method `what` (init, exit, hotfix, profile) of a snax
-- service of type typename.
local function call_system(handle, typename, what, ...)
	local id = snax.interface(typename).system[what]
	return skynet.call(handle, "snax", id, ...)
end

-- inside a snax service: the object of this service, and its way out
function snax.self()
	return snax.bind(skynet.self(), SERVICE_NAME)
end

function snax.exit(...)
	snax.kill(snax.self(), ...)
end

-- Starts a snaxd of the type (its init, when it has one, gets ...); a handle.
function snax.rawnewservice(name, ...)
	local has_init = snax.interface(name).system.init ~= nil
	local handle = skynet.newservice("snaxd", name)
	assert(bound[handle] == nil)
	if has_init then
		call_system(handle, name, "init", ...)
	end
	return handle
end

function snax.newservice(name, ...)
	return snax.bind(snax.rawnewservice(name, ...), name)
end

-- The snaxd kept unique by service_mgr (".service") under the type name.
local function managed(command, name, ...)
	local handle = skynet.call(".service", "lua", command, "snaxd", name, ...)
	return snax.bind(assert(handle), name)
end

function snax.uniqueservice(name, ...) return managed("LAUNCH", name, ...) end
function snax.globalservice(name, ...) return managed("GLAUNCH", name, ...) end
function snax.queryservice(name) return managed("QUERY", name) end
function snax.queryglobal(name) return managed("GQUERY", name) end

function snax.kill(obj, ...)
	call_system(obj.handle, obj.type, "exit", ...)
end

-- hotfix answers (true, results...) or (false, error)
local function hotfix_result(ok, ...)
	if not ok then
		error(...)
	end
	return ...
end

function snax.hotfix(obj, source, ...)
	return hotfix_result(call_system(obj.handle, obj.type, "hotfix", source, ...))
end

function snax.profile_info(obj)
	return call_system(obj.handle, obj.type, "profile")
end

function snax.printf(fmt, ...)
	skynet.error(string.format(fmt, ...))
end

return snax
