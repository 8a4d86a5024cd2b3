-- clusterd: the cluster service of a node (one per node, skynet.uniqueservice).
--
-- It knows the address of every node by name (config file named by the `cluster` setting,
-- or cluster.reload tables; "__name" keys are options: __nowaiting = true makes a call to an
-- unknown node fail at once instead of waiting for a reload that names it), starts one
-- clustersender per peer node and keeps it pointed at the node's current address, listens
-- (a gate) for other nodes and starts a clusteragent per connection, and keeps the names
-- registered with cluster.register.
local skynet = require "skynet"
require "skynet.manager"
local core = require "skynet.cluster.core"

local config_file = skynet.getenv "cluster"
local nodename = core.nodename()

local options = {}
local address = {}	-- node -> "host:port", or false: the node is down
local sender = {}	-- node -> clustersender service
local aimed = {}	-- node -> the address its sender was last pointed at (false: closed)
local busy = {}		-- node -> { co... } waiting while the sender is being (re)pointed
local unknown = {}	-- node -> { co... } waiting for the node to appear in the config

local function wait_in(t, key)
	local list = t[key]
	if list == nil then
		list = {}
		t[key] = list
	end
	local co = coroutine.running()
	list[#list + 1] = co
	skynet.wait(co)
end

local function wake(t, key)
	local list = t[key]
	if list then
		t[key] = nil
		for _, co in ipairs(list) do
			skynet.wakeup(co)
		end
	end
end

-- point the sender of node at addr (string) or close it (false); raises on failure
local function aim(node, addr)
	local s = sender[node]
	if s and aimed[node] == addr then
		return s
	end
	if s == nil and addr == false then
		return nil
	end
	busy[node] = busy[node] or {}
	local ok = pcall(function()
		if s == nil then
			s = skynet.newservice("clustersender", node, nodename, addr)
			sender[node] = s
		end
		skynet.call(s, "lua", "changenode", addr)
	end)
	wake(busy, node)
	if not ok then
		aimed[node] = nil
		error(string.format("changenode [%s] (%s) failed", node, tostring(addr)))
	end
	aimed[node] = addr
	return s
end

-- the sender of node, connected to its current address; for a node that is down, its
-- closed sender (every request through it fails), or an error when it never had one
local function channel(node)
	while true do
		if busy[node] then
			wait_in(busy, node)
		else
			local addr = address[node]
			if addr == nil then
				if options.nowaiting then
					error(string.format("cluster node [%s] is absent.", node))
				end
				skynet.error("Waiting for cluster node [" .. node .. "]")
				wait_in(unknown, node)
				if address[node] == nil then
					error(string.format("cluster node [%s] is absent.", node))
				end
			else
				local s = aim(node, addr)
				-- the address may have changed while the sender was being pointed
				if address[node] == addr then
					if s == nil then
						error(string.format("cluster node [%s] is down.", node))
					end
					return s
				end
			end
		end
	end
end

local function load_config(t)
	if t == nil then
		t = {}
		if config_file then
			local f = assert(io.open(config_file))
			local source = f:read "a"
			f:close()
			assert(load(source, "@" .. config_file, "t", t))()
		end
	end
	local changed = {}
	for name, addr in pairs(t) do
		if name:sub(1, 2) == "__" then
			local opt = name:sub(3)
			options[opt] = addr
			skynet.error(string.format("Config %s = %s", opt, tostring(addr)))
		else
			assert(addr == false or type(addr) == "string",
				string.format("cluster node [%s]: the address must be a string or false", name))
			if address[name] ~= addr then
				address[name] = addr
				if sender[name] then
					changed[#changed + 1] = name
				end
			end
			if unknown[name] and not options.nowaiting then
				skynet.error(string.format("Cluster node [%s] resolved : %s", name, tostring(addr)))
				wake(unknown, name)
			end
		end
	end
	if options.nowaiting then
		for name in pairs(unknown) do
			wake(unknown, name)
		end
	end
	-- tell the existing senders now, before any later request reaches them; they connect
	-- to the new address at once (or close) and the next request retries if that failed
	for _, name in ipairs(changed) do
		local s, addr = sender[name], address[name]
		if aimed[name] ~= addr then
			aimed[name] = addr
			skynet.send(s, "lua", "changenode", addr)
		end
	end
end

local command = {}

function command.reload(source, t)
	load_config(t)
	skynet.ret(skynet.pack(nil))
end

function command.listen(source, addr, port, maxclient)
	local gate = skynet.newservice("gate")
	if port == nil then
		local where = assert(address[addr], addr .. " is down")
		skynet.call(gate, "lua", "open", { address = where, maxclient = maxclient })
		skynet.ret(skynet.pack(addr, port))
	else
		local a, p = skynet.call(gate, "lua", "open", { address = addr, port = port, maxclient = maxclient })
		skynet.ret(skynet.pack(a, p))
	end
end

function command.sender(source, node)
	skynet.ret(skynet.pack(channel(node)))
end

function command.senders(source)
	skynet.retpack(sender)
end

local proxies = {}

function command.proxy(source, node, name)
	if name == nil then
		node, name = node:match "^([^@.]+)([@.].+)"
		if name == nil then
			error("Invalid name " .. tostring(node))
		end
	end
	local key = node .. "." .. tostring(name)
	local p = proxies[key]
	if p == nil then
		p = skynet.newservice("clusterproxy", node, name)
		if proxies[key] then
			-- another caller was quicker
			skynet.kill(p)
			p = proxies[key]
		else
			proxies[key] = p
		end
	end
	skynet.ret(skynet.pack(p))
end

local agents = {}	-- fd -> agent, or false while it starts, true if it closed meanwhile
local registered = {}	-- name -> address and address -> name

local function names_changed()
	for _, agent in pairs(agents) do
		if type(agent) == "number" then
			skynet.send(agent, "lua", "namechange")
		end
	end
end

function command.register(source, name, addr)
	assert(registered[name] == nil, "cluster name " .. tostring(name) .. " is registered already")
	addr = addr or source
	local old = registered[addr]
	if old then
		registered[old] = nil
		names_changed()
	end
	registered[addr] = name
	registered[name] = addr
	skynet.ret(nil)
	skynet.error(string.format("Register [%s] :%08x", name, addr))
end

function command.unregister(source, name)
	local addr = registered[name]
	if addr then
		registered[addr] = nil
		registered[name] = nil
		names_changed()
		skynet.error(string.format("Unregister [%s] :%08x", name, addr))
	end
	skynet.ret(nil)
end

function command.queryname(source, name)
	skynet.ret(skynet.pack(registered[name]))
end

function command.socket(source, event, fd, arg)
	if event == "open" then
		skynet.error(string.format("socket accept from %s", arg))
		agents[fd] = false
		local agent = skynet.newservice("clusteragent", skynet.self(), source, fd)
		local closed = agents[fd]
		agents[fd] = agent
		if closed then
			skynet.send(agent, "lua", "exit")
			agents[fd] = nil
		end
	elseif event == "close" or event == "error" then
		local agent = agents[fd]
		if agent == false then
			agents[fd] = true
		elseif agent then
			skynet.send(agent, "lua", "exit")
			agents[fd] = nil
		end
	else
		skynet.error(string.format("socket %s %d %s", event, fd, tostring(arg or "")))
	end
end

skynet.start(function()
	load_config()
	skynet.dispatch("lua", function(session, source, cmd, ...)
		local f = assert(command[cmd], cmd)
		f(source, ...)
	end)
end)
