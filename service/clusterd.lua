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

-- the node table of the config file (a Lua chunk of assignments); empty without one
local function read_config_file()
	local t = {}
	if config_file then
		local f = assert(io.open(config_file))
		local chunk = f:read "a"
		f:close()
		assert(load(chunk, "@" .. config_file, "t", t))()
	end
	return t
end

local function load_config(t)
	local changed = {}
	for name, addr in pairs(t or read_config_file()) do
		local opt = name:match "^__(.+)"
		if opt then
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

-- listen for other nodes: on host:port, or (port nil) as the node named host in the config
function command.listen(source, host, port, maxclient)
	-- nodelay: a reply goes out in parts (32 KiB each for a large one), and under Nagle a
	-- part waits for the peer's delayed ACK (40 ms) while an earlier one is unacknowledged
	local conf = { maxclient = maxclient, nodelay = true }
	if port == nil then
		conf.address = address[host] or error(host .. " is down")
	else
		conf.address, conf.port = host, port
	end
	local gate = skynet.newservice "gate"
	local a, p = skynet.call(gate, "lua", "open", conf)
	if port == nil then
		-- as upstream: a named open answers the name
		a, p = host, nil
	end
	skynet.retpack(a, p)
end

function command.reload(source, t)
	load_config(t)
	skynet.retpack(nil)
end

function command.sender(source, node)
	skynet.ret(skynet.pack(channel(node)))
end

function command.senders(source)
	skynet.retpack(sender)
end

-- proxies: "node.name" -> clusterproxy service
local proxies = {}

local function split_proxy_name(text)
	local node, name = text:match "^([^@.]+)([@.].+)"
	if not name then
		error("Invalid name " .. tostring(text))
	end
	return node, name
end

function command.proxy(source, node, name)
	if name == nil then
		node, name = split_proxy_name(node)
	end
	local key = string.format("%s.%s", node, tostring(name))
	if not proxies[key] then
		local p = skynet.newservice("clusterproxy", node, name)
		-- newservice yields: someone else may have made one meanwhile; keep the first
		if proxies[key] then
			skynet.kill(p)
		else
			proxies[key] = p
		end
	end
	skynet.retpack(proxies[key])
end

-- names given with cluster.register, both ways
local by_name = {}	-- name -> address
local by_addr = {}	-- address -> name

-- connections from other nodes: fd -> { agent = clusteragent once started, gone = true once
-- the connection closed }
local links = {}

local function forget_names_everywhere()
	for _, l in pairs(links) do
		if l.agent then
			skynet.send(l.agent, "lua", "namechange")
		end
	end
end

function command.register(source, name, addr)
	if by_name[name] ~= nil then
		error(string.format("cluster name %s is registered already (:%08x)", name, by_name[name]))
	end
	addr = addr or source
	local previous = by_addr[addr]
	if previous ~= nil then
		-- one name per address: the old one goes
		by_name[previous] = nil
		forget_names_everywhere()
	end
	by_name[name], by_addr[addr] = addr, name
	skynet.ret(nil)
	skynet.error(string.format("Register [%s] :%08x", name, addr))
end

function command.unregister(source, name)
	local addr = by_name[name]
	if addr ~= nil then
		by_name[name], by_addr[addr] = nil, nil
		forget_names_everywhere()
		skynet.error(string.format("Unregister [%s] :%08x", name, addr))
	end
	skynet.ret(nil)
end

function command.queryname(source, name)
	skynet.retpack(by_name[name])
end

local function retire(fd, l)
	links[fd] = nil
	skynet.send(l.agent, "lua", "exit")
end

local socket_event = {}

function socket_event.open(gate, fd, addr)
	skynet.error(string.format("socket accept from %s", addr))
	local l = {}
	links[fd] = l
	l.agent = skynet.newservice("clusteragent", skynet.self(), gate, fd)
	if l.gone then
		-- it closed while the agent was starting
		retire(fd, l)
	end
end

function socket_event.close(gate, fd)
	local l = links[fd]
	if l then
		l.gone = true
		if l.agent then
			retire(fd, l)
		end
	end
end

socket_event.error = socket_event.close

function command.socket(source, event, fd, arg)
	local f = socket_event[event]
	if f then
		f(source, fd, arg)
	else
		skynet.error(string.format("socket %s %d %s", event, fd, tostring(arg or "")))
	end
end

skynet.start(function()
	load_config()
	skynet.dispatch("lua", function(session, source, cmd, ...)
		local f = command[cmd]
		if not f then
			error("clusterd: unknown command " .. tostring(cmd))
		end
		f(source, ...)
	end)
end)
