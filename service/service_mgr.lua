-- .service: makes sure a named service is started once (skynet.uniqueservice)
-- and tells where it is (skynet.queryservice).  On the master node (standalone)
-- it is also "SERVICE", the keeper of node-wide unique services; elsewhere the
-- global commands are forwarded to it.
--
-- Commands (lua protocol), each answered with (result) or (nil, error):
--   LAUNCH name ...   QUERY name   GLAUNCH name ...   GQUERY name   LIST
--   REPORT addr       (master only: another node's .service announces itself)
-- The name "snaxd" takes a second word, the snax service name.
--
-- A key (the service name, "@name" for a global one, "snaxd.<snax name>" for
-- snax services) is in exactly one of three states, each its own table.

local skynet = require "skynet"
require "skynet.manager"
local snax = require "skynet.snax"

local started = {}	-- key -> handle of the running service
local failed = {}	-- key -> why its start failed (later askers get this error)
local starting = {}	-- key -> { first = asker starting it, askers = { asker ... } }

-- Who is asking: the task and the request it serves (LIST shows their stacks).
local function asker()
	local session, source = skynet.context()
	return { co = coroutine.running(), session = session, source = source }
end

-- The first asker with a way to start the service runs it; everyone else who
-- asked meanwhile sleeps until it is done.
local function run_start(key, slot, start, ...)
	slot.first = asker()
	local ok, handle = pcall(start, ...)
	starting[key] = nil
	if ok then
		started[key] = handle
	else
		failed[key] = tostring(handle)
	end
	for _, who in ipairs(slot.askers) do
		skynet.wakeup(who.co)
	end
	if not ok then
		error(failed[key])
	end
	return handle
end

-- The handle for key; start (with its arguments) starts the service when
-- nobody has yet.  Without start, waits for somebody else to.
local function resolve(key, start, ...)
	local handle = started[key]
	if handle then
		return handle
	end
	if failed[key] then
		error(failed[key])
	end
	local slot = starting[key]
	if not slot then
		slot = { askers = {} }
		starting[key] = slot
	end
	if start and not slot.first then
		return run_start(key, slot, start, ...)
	end
	local me = asker()
	slot.askers[#slot.askers + 1] = me
	skynet.wait()
	if failed[key] then
		error(failed[key])
	end
	return assert(started[key])
end

-- The key of a request, and the name without its global mark '@'.
local function key_of(name, subname)
	local bare = name
	if name:sub(1, 1) == "@" then
		bare = name:sub(2)
	end
	if bare == "snaxd" then
		return name .. "." .. subname, bare
	end
	return name, bare
end

local cmd = {}

function cmd.LAUNCH(name, subname, ...)
	local key, bare = key_of(name, subname)
	if bare ~= "snaxd" then
		return resolve(key, skynet.newservice, bare, subname, ...)
	end
	return resolve(key, snax.rawnewservice, subname, ...)
end

function cmd.QUERY(name, subname)
	return resolve((key_of(name, subname)))
end

-- The debug stacks behind a key still starting: who starts it (and where the
-- new service is in its init) and who waits for it.
local function starting_report(slot)
	local out = {}
	local function add(line)
		out[#out + 1] = line
	end
	local first = slot.first
	local booting = first and skynet.call(".launcher", "lua", "QUERY", skynet.task(first.co))
	if booting then
		add("Init as " .. skynet.address(booting))
		add(skynet.call(booting, "debug", "TASK", "init"))
		add("Launching from " .. skynet.address(first.source))
		add(skynet.call(first.source, "debug", "TASK", first.session))
	end
	if slot.askers[1] then
		add("Querying:")
		for _, who in ipairs(slot.askers) do
			local stack = skynet.call(who.source, "debug", "TASK", who.session)
			add(skynet.address(who.source) .. " " .. tostring(stack))
		end
	end
	return table.concat(out, "\n")
end

-- key -> text: the address, "Error: why", or the report of a start under way
local function local_list()
	local list = {}
	for key, handle in pairs(started) do
		list[key] = skynet.address(handle)
	end
	for key, why in pairs(failed) do
		list[key] = "Error: " .. why
	end
	for key, slot in pairs(starting) do
		list[key] = starting_report(slot)
	end
	return list
end

local roles = {}

-- The master keeps the global services itself, under "@name".
function roles.master()
	local nodes = {}	-- the .service of every other node that reported

	cmd.GLAUNCH = function(name, ...) return cmd.LAUNCH("@" .. name, ...) end
	cmd.GQUERY = function(name, ...) return cmd.QUERY("@" .. name, ...) end

	function cmd.REPORT(addr)
		nodes[addr] = true
	end

	-- every node's list, its keys suffixed "@<harbor id>"; ours unsuffixed
	function cmd.LIST()
		local all = {}
		for addr in pairs(nodes) do
			pcall(function()
				local at = "@" .. skynet.harbor(addr)
				for key, text in pairs(skynet.call(addr, "lua", "LIST")) do
					all[key .. at] = text
				end
			end)
		end
		for key, text in pairs(local_list()) do
			all[key] = text
		end
		return all
	end
end

-- Other nodes ask the master and remember its answer under the same "@" key.
function roles.slave()
	local function via_master(command, name, ...)
		local global = "@" .. name
		local key = name == "snaxd" and (global .. "." .. (...)) or global
		return resolve(key, skynet.call, "SERVICE", "lua", command, global, ...)
	end

	cmd.GLAUNCH = function(...) return via_master("LAUNCH", ...) end
	cmd.GQUERY = function(...) return via_master("QUERY", ...) end
	cmd.LIST = local_list

	skynet.call("SERVICE", "lua", "REPORT", skynet.self())
end

local function reply(ok, result)
	if ok then
		return skynet.retpack(result)
	end
	return skynet.retpack(nil, result)
end

skynet.start(function()
	skynet.dispatch("lua", function(_, _, command, ...)
		local f = cmd[command]
		if f then
			return reply(pcall(f, ...))
		end
		return skynet.retpack(nil, "Invalid command " .. command)
	end)
	local holder = skynet.localname ".service"
	if holder then
		-- one per node
		skynet.error(".service is already register by ", skynet.address(holder))
		return skynet.exit()
	end
	skynet.register(".service")
	local role = skynet.getenv "standalone" and "master" or "slave"
	if role == "master" then
		skynet.register("SERVICE")
	end
	roles[role]()
end)
