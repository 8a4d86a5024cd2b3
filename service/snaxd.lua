-- snaxd: host of a snax service.  Launched as "snaxd <name>", it loads the
-- snax source <name> (found through the `snax` search path, or through the
-- loader file named by `snax_loader`) into this service's globals and serves
-- its methods over the "snax" protocol (and "lua" after enablecluster).

local skynet = require "skynet"
local interface = require "snax.interface"
local profile = require "skynet.profile"
local snax = require "skynet.snax"

local snax_name = tostring(...)
local loader_file = skynet.getenv "snax_loader"
local methods, pattern = interface(snax_name, _ENV, loader_file and assert(dofile(loader_file)))
-- the service's own directory: the search pattern up to its '?', then the name
local snax_path = pattern:match("^[^?]*") .. snax_name .. "/"
package.path = snax_path .. "?.lua;" .. package.path

SERVICE_NAME = snax_name
SERVICE_PATH = snax_path

local stats = {}	-- method name -> { count = calls, time = seconds spent }
local ready = false	-- between init and exit

local function account(name, elapsed)
	local s = stats[name] or { count = 0, time = 0 }
	stats[name] = s
	s.count, s.time = s.count + 1, s.time + elapsed
end

local traceback = debug.traceback

local function answer(f, ...)
	return skynet.ret(skynet.pack(f(...)))
end

-- Runs an accept method (nothing to answer) or a response method (its results
-- are the answer), timed for the profile; an error goes on with its traceback.
-- (named `timing` and called without a tail call: upstream's tracebacks show it)
local function timing(method, ...)
	profile.start()
	local ok, err
	if method[2] ~= "accept" then
		ok, err = xpcall(answer, traceback, method[4], ...)
	else
		ok, err = xpcall(method[4], traceback, ...)
	end
	account(method[3], profile.stop())
	assert(ok, err)
end

local function nothing() end

-- One dispatch for every method; the system ones (hotfix, profile, init,
-- exit) are handled inline, so that tracebacks through them read as upstream's.
local function dispatch(_, _, id, ...)
	local method = methods[id]
	local kind, name = method[2], method[3]
	if kind ~= "system" then
		assert(ready, "Init first")
		timing(method, ...)
	elseif name == "hotfix" then
		local hotfix = require "snax.hotfix"
		skynet.ret(skynet.pack(hotfix(methods, ...)))
	elseif name == "profile" then
		skynet.ret(skynet.pack(stats))
	elseif name == "init" then
		assert(not ready, "Already init")
		local initfunc = method[4] or nothing
		initfunc(...)
		ready = true
		skynet.info_func(function() return stats end)
		skynet.ret()
	else
		assert(ready, "Never init")
		assert(name == "exit")
		local exitfunc = method[4] or nothing
		exitfunc(...)
		ready = false
		skynet.ret()
		skynet.exit()
	end
end

skynet.start(function()
	skynet.dispatch("snax", dispatch)
	-- let the lua protocol reach the methods too (for cluster calls)
	function snax.enablecluster()
		skynet.dispatch("lua", dispatch)
	end
end)
