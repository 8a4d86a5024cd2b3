-- snaxd: host of a snax service.  Launched as "snaxd <name>", it loads the
-- snax source <name> (found through the `snax` search path, or through the
-- loader file named by `snax_loader`) into this service's globals and serves
-- its methods over the "snax" protocol (and "lua" after enablecluster).

local skynet = require "skynet"
local interface = require "snax.interface"
local profile = require "skynet.profile"
local snax = require "skynet.snax"

local snax_name = tostring(...)
local custom_loader
do
	local path = skynet.getenv "snax_loader"
	if path then
		custom_loader = assert(dofile(path))
	end
end

local methods, pattern = interface(snax_name, _ENV, custom_loader)
local snax_path = pattern:sub(1, pattern:find("?", 1, true) - 1) .. snax_name .. "/"
package.path = snax_path .. "?.lua;" .. package.path

SERVICE_NAME = snax_name
SERVICE_PATH = snax_path

local stats = {}	-- method name -> { count =, time = }

local function account(name, elapsed)
	local s = stats[name]
	if s == nil then
		s = { count = 0, time = 0 }
		stats[name] = s
	end
	s.count = s.count + 1
	s.time = s.time + elapsed
end

local traceback = debug.traceback

local function reply_with(f, ...)
	return skynet.ret(skynet.pack(f(...)))
end

local function timed_call(method, ...)
	local ok, err
	profile.start()
	if method[2] == "accept" then
		ok, err = xpcall(method[4], traceback, ...)
	else
		ok, err = xpcall(reply_with, traceback, method[4], ...)
	end
	account(method[3], profile.stop())
	assert(ok, err)
end

skynet.start(function()
	local ready = false

	local function dispatch(_, _, id, ...)
		local method = methods[id]
		if method[2] ~= "system" then
			assert(ready, "Init first")
			return timed_call(method, ...)
		end
		local hook = method[3]
		if hook == "hotfix" then
			local hotfix = require "snax.hotfix"
			skynet.ret(skynet.pack(hotfix(methods, ...)))
		elseif hook == "profile" then
			skynet.ret(skynet.pack(stats))
		elseif hook == "init" then
			assert(not ready, "Already init")
			local f = method[4] or function() end
			f(...)
			skynet.ret()
			skynet.info_func(function()
				return stats
			end)
			ready = true
		else
			assert(ready, "Never init")
			assert(hook == "exit")
			local f = method[4] or function() end
			f(...)
			skynet.ret()
			ready = false
			skynet.exit()
		end
	end

	skynet.dispatch("snax", dispatch)

	-- let the lua protocol reach the methods too (for cluster calls)
	function snax.enablecluster()
		skynet.dispatch("lua", dispatch)
	end
end)
