-- .service: makes sure a named service is started once (skynet.uniqueservice)
-- and tells where it is (skynet.queryservice).  On the master node (standalone)
-- it is also "SERVICE", the keeper of node-wide unique services; elsewhere the
-- global commands are forwarded to it.
--
-- Commands (lua protocol), each answered with (result) or (nil, error):
--   LAUNCH name ...   QUERY name   GLAUNCH name ...   GQUERY name   LIST
--   REPORT addr       (master only: another node's .service announces itself)
-- The name "snaxd" takes a second word, the snax service name.

local skynet = require "skynet"
require "skynet.manager"
local snax = require "skynet.snax"

local cmd = {}
-- name -> handle (ready) | string (start failed) | table (starting: the
-- tasks waiting for it, plus .launch describing the one starting it)
local service = {}

-- run the starter, record the outcome, wake whoever waited
local function launch(name, starter, ...)
	local ok, handle = pcall(starter, ...)
	local entry = service[name]
	assert(type(entry) == "table")
	if ok then
		service[name] = handle
	else
		service[name] = tostring(handle)
	end
	for _, waiter in ipairs(entry) do
		skynet.wakeup(waiter.co)
	end
	if ok then
		return handle
	end
	error(tostring(handle))
end

-- the handle for name: known, started now (when starter is given), or awaited
local function waitfor(name, starter, ...)
	local entry = service[name]
	if type(entry) == "number" then
		return entry
	end
	local co = coroutine.running()
	if entry == nil then
		entry = {}
		service[name] = entry
	elseif type(entry) == "string" then
		error(entry)
	end
	assert(type(entry) == "table")

	local session, source = skynet.context()
	if entry.launch == nil and starter then
		entry.launch = { session = session, source = source, co = co }
		return launch(name, starter, ...)
	end

	entry[#entry + 1] = { co = co, session = session, source = source }
	skynet.wait()
	entry = service[name]
	if type(entry) == "string" then
		error(entry)
	end
	assert(type(entry) == "number")
	return entry
end

-- "@name" is the global form of name
local function plain_name(name)
	if string.byte(name) == 64 then	-- '@'
		return string.sub(name, 2)
	end
	return name
end

function cmd.LAUNCH(name, subname, ...)
	local real = plain_name(name)
	if real == "snaxd" then
		return waitfor(name .. "." .. subname, snax.rawnewservice, subname, ...)
	end
	return waitfor(name, skynet.newservice, real, subname, ...)
end

function cmd.QUERY(name, subname)
	if plain_name(name) == "snaxd" then
		return waitfor(name .. "." .. subname)
	end
	return waitfor(name)
end

local function describe()
	local result = {}
	for name, entry in pairs(service) do
		local text
		local kind = type(entry)
		if kind == "string" then
			text = "Error: " .. entry
		elseif kind == "table" then
			local lines = {}
			local l = entry.launch
			if l then
				local session = skynet.task(l.co)
				local booting = skynet.call(".launcher", "lua", "QUERY", session)
				if booting then
					lines[#lines + 1] = "Init as " .. skynet.address(booting)
					lines[#lines + 1] = skynet.call(booting, "debug", "TASK", "init")
					lines[#lines + 1] = "Launching from " .. skynet.address(l.source)
					lines[#lines + 1] = skynet.call(l.source, "debug", "TASK", l.session)
				end
			end
			if #entry > 0 then
				lines[#lines + 1] = "Querying:"
				for _, w in ipairs(entry) do
					lines[#lines + 1] = skynet.address(w.source) .. " " ..
						tostring(skynet.call(w.source, "debug", "TASK", w.session))
				end
			end
			text = table.concat(lines, "\n")
		else
			text = skynet.address(entry)
		end
		result[name] = text
	end
	return result
end

local function as_master()
	function cmd.GLAUNCH(name, ...)
		return cmd.LAUNCH("@" .. name, ...)
	end

	function cmd.GQUERY(name, ...)
		return cmd.QUERY("@" .. name, ...)
	end

	local others = {}	-- .service of other nodes

	function cmd.REPORT(addr)
		others[addr] = true
	end

	local function merge(into, addr)
		local suffix = "@" .. skynet.harbor(addr)
		for name, text in pairs(skynet.call(addr, "lua", "LIST")) do
			into[name .. suffix] = text
		end
	end

	function cmd.LIST()
		local result = {}
		for addr in pairs(others) do
			pcall(merge, result, addr)
		end
		for name, text in pairs(describe()) do
			result[name] = text
		end
		return result
	end
end

local function as_slave()
	local function ask_master(command, name, ...)
		local global = "@" .. name
		local key = global
		if name == "snaxd" then
			key = global .. "." .. (...)
		end
		return waitfor(key, skynet.call, "SERVICE", "lua", command, global, ...)
	end

	function cmd.GLAUNCH(...)
		return ask_master("LAUNCH", ...)
	end

	function cmd.GQUERY(...)
		return ask_master("QUERY", ...)
	end

	function cmd.LIST()
		return describe()
	end

	skynet.call("SERVICE", "lua", "REPORT", skynet.self())
end

skynet.start(function()
	skynet.dispatch("lua", function(_, _, command, ...)
		local f = cmd[command]
		if f == nil then
			skynet.ret(skynet.pack(nil, "Invalid command " .. command))
			return
		end
		local ok, r = pcall(f, ...)
		if ok then
			skynet.ret(skynet.pack(r))
		else
			skynet.ret(skynet.pack(nil, r))
		end
	end)
	local other = skynet.localname ".service"
	if other then
		skynet.error(".service is already register by ", skynet.address(other))
		skynet.exit()
	else
		skynet.register(".service")
	end
	if skynet.getenv "standalone" then
		skynet.register("SERVICE")
		as_master()
	else
		as_slave()
	end
end)
