-- service_provider: the registry behind skynet.service.
--   test name            -> address | nil, true (booting) | nil ; error if it failed
--   launch name code ... -> address, starting a service_cell with code once
--   query name           -> address, waiting while it boots
--   close name           -> address (forgotten here; the caller kills it) | nil

local skynet = require "skynet"

local provider = {}

-- name -> { queue = responses waiting for it, address =, booting =, error =,
--           init = args as text, time = when it started }
local registry = setmetatable({}, {
	__index = function(t, name)
		local entry = { queue = {} }
		t[name] = entry
		return entry
	end,
})

function provider.query(name)
	local entry = registry[name]
	if entry.queue then
		table.insert(entry.queue, skynet.response())
	elseif entry.address then
		return skynet.ret(skynet.pack(entry.address))
	else
		error(entry.error)
	end
end

local function boot(addr, name, code, ...)
	local entry = registry[name]
	skynet.call(addr, "lua", "init", code, ...)
	local n = select("#", ...)
	if n > 0 then
		local args = { ... }
		for i = 1, n do
			args[i] = tostring(args[i])
		end
		entry.init = table.concat(args, ",", 1, n)
	end
	entry.time = skynet.time()
end

function provider.launch(name, code, ...)
	local entry = registry[name]
	if entry.address then
		return skynet.ret(skynet.pack(entry.address))
	end
	if entry.booting then
		table.insert(entry.queue, skynet.response())
		return
	end
	entry.booting = true
	local ok, addr = pcall(skynet.newservice, "service_cell", name)
	local err
	if ok then
		ok, err = xpcall(boot, debug.traceback, addr, name, code, ...)
	else
		err = addr
		addr = nil
	end
	entry.booting = nil
	local waiters = entry.queue
	entry.queue = nil
	if ok then
		entry.address = addr
		for _, respond in ipairs(waiters) do
			respond(true, addr)
		end
		skynet.ret(skynet.pack(addr))
	else
		if addr then
			skynet.send(addr, "debug", "EXIT")
		end
		entry.error = err
		for _, respond in ipairs(waiters) do
			respond(false)
		end
		error(err)
	end
end

function provider.test(name)
	local entry = registry[name]
	if entry.booting then
		skynet.ret(skynet.pack(nil, true))
	elseif entry.address then
		skynet.ret(skynet.pack(entry.address))
	elseif entry.error then
		error(entry.error)
	else
		skynet.ret()
	end
end

function provider.close(name)
	local entry = rawget(registry, name)
	if not entry or entry.booting then
		return skynet.ret(skynet.pack(nil))
	end
	registry[name] = nil
	skynet.ret(skynet.pack(entry.address))
end

skynet.start(function()
	skynet.dispatch("lua", function(_, _, cmd, ...)
		provider[cmd](...)
	end)
	skynet.info_func(function()
		local info = {}
		for name, entry in pairs(registry) do
			local status
			if entry.booting then
				status = "booting"
			elseif entry.queue then
				status = "waiting(" .. #entry.queue .. ")"
			end
			info[skynet.address(entry.address)] = {
				init = entry.init,
				name = name,
				time = entry.time and os.date("%Y %b %d %T %z", math.floor(entry.time)),
				status = status,
			}
		end
		return info
	end)
end)
