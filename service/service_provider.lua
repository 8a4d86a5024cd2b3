-- service_provider: the registry behind skynet.service.
--   test name            -> address | nil, true (booting) | nil ; error if it failed
--   launch name code ... -> address, starting a service_cell with code once
--   query name           -> address, waiting while it boots
--   close name           -> address (forgotten here; the caller kills it) | nil
--
-- Each name has a record whose `state` is one of
--   "unknown"  asked about (query), nobody launched it yet: askers wait
--   "booting"  its service_cell runs the code: askers wait
--   "up"       running at record.address
--   "failed"   its start failed with record.error

local skynet = require "skynet"

local records = {}	-- name -> record

local function record_of(name)
	local r = records[name]
	if r == nil then
		r = { state = "unknown", waiting = {} }
		records[name] = r
	end
	return r
end

-- Answers everybody who waited for the record: the address, or an error.
local function release(r)
	local waiting = r.waiting
	r.waiting = {}
	for _, answer in ipairs(waiting) do
		if r.state == "up" then
			answer(true, r.address)
		else
			answer(false)
		end
	end
end

local function answer_address(r)
	skynet.ret(skynet.pack(r.address))
end

local provider = {}

function provider.query(name)
	local r = record_of(name)
	if r.state == "up" then
		return answer_address(r)
	elseif r.state == "failed" then
		error(r.error)
	end
	r.waiting[#r.waiting + 1] = skynet.response()
end

-- Gives the new cell its code, then notes how it was started (for info).
local function boot(addr, r, code, ...)
	skynet.call(addr, "lua", "init", code, ...)
	local args = table.pack(...)
	if args.n > 0 then
		for i = 1, args.n do
			args[i] = tostring(args[i])
		end
		r.init = table.concat(args, ",", 1, args.n)
	end
	r.time = skynet.time()
end

function provider.launch(name, code, ...)
	local r = record_of(name)
	if r.state == "up" then
		return answer_address(r)
	elseif r.state == "booting" then
		r.waiting[#r.waiting + 1] = skynet.response()
		return
	end
	r.state = "booting"
	local ok, addr = pcall(skynet.newservice, "service_cell", name)
	local why = addr
	if ok then
		ok, why = xpcall(boot, debug.traceback, addr, r, code, ...)
	else
		addr = nil
	end
	if not ok then
		if addr then
			skynet.send(addr, "debug", "EXIT")	-- the cell whose code failed
		end
		r.state, r.error = "failed", why
		release(r)
		error(why)
	end
	r.state, r.address = "up", addr
	release(r)
	answer_address(r)
end

function provider.test(name)
	local r = record_of(name)
	local state = r.state
	if state == "booting" then
		skynet.ret(skynet.pack(nil, true))
	elseif state == "up" then
		answer_address(r)
	elseif state == "failed" then
		error(r.error)
	else
		skynet.ret()
	end
end

-- Forgets the name (unless it is still booting) and returns its address.
function provider.close(name)
	local r = records[name]
	if r ~= nil and r.state ~= "booting" then
		records[name] = nil
		return answer_address(r)
	end
	skynet.ret(skynet.pack(nil))
end

-- debug INFO: address -> how each service was started
local function describe()
	local out = {}
	for name, r in pairs(records) do
		local status
		if r.state == "booting" then
			status = "booting"
		elseif r.state == "unknown" then
			status = "waiting(" .. #r.waiting .. ")"
		end
		local when = r.time and os.date("%Y %b %d %T %z", math.floor(r.time))
		out[skynet.address(r.address)] = { name = name, init = r.init, time = when, status = status }
	end
	return out
end

skynet.start(function()
	skynet.dispatch("lua", function(_, _, cmd, ...)
		provider[cmd](...)
	end)
	skynet.info_func(describe)
end)
