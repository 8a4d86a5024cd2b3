-- skynet.cluster: named nodes calling each other over TCP.
--
-- Each node runs one clusterd (it knows node names -> addresses and the names registered
-- here) and, per peer node, one clustersender that owns the connection to it. This module
-- keeps, per node, the sender handle once clusterd has given it; until then sends wait in
-- order and callers wait for the first answer.
local skynet = require "skynet"

local clusterd
local cluster = {}

local senders = {}	-- node -> sender service
local asking = {}	-- node -> { sends = { packed... }, waiting = { co... } } while clusterd is asked

local function ask_clusterd(node, q)
	local ok, s = pcall(skynet.call, clusterd, "lua", "sender", node)
	if not ok then
		skynet.error(s)
		s = nil
		q.err = "cluster: no sender for node " .. tostring(node)
	end
	asking[node] = nil
	if s then
		senders[node] = s
		for _, packed in ipairs(q.sends) do
			skynet.send(s, "lua", "push", skynet.unpack(packed))
		end
	elseif #q.sends > 0 then
		skynet.error(string.format("cluster: %d message(s) to node %s dropped", #q.sends, tostring(node)))
	end
	q.sender = s
	for _, co in ipairs(q.waiting) do
		skynet.wakeup(co)
	end
end

local function pending(node)
	local q = asking[node]
	if q == nil then
		q = { sends = {}, waiting = {} }
		asking[node] = q
		skynet.fork(ask_clusterd, node, q)
	end
	return q
end

-- the sender service of node (blocks the first time); raises when there is none
local function get_sender(node)
	local s = senders[node]
	if s then
		return s
	end
	local q = pending(node)
	local co = coroutine.running()
	q.waiting[#q.waiting + 1] = co
	skynet.wait(co)
	return q.sender or error(q.err)
end

cluster.get_sender = get_sender

function cluster.call(node, address, ...)
	local s = senders[node] or get_sender(node)
	-- the packed message (a C pointer) is freed by the sender's packrequest
	return skynet.call(s, "lua", "req", address, skynet.pack(...))
end

function cluster.send(node, address, ...)
	local s = senders[node]
	if s then
		skynet.send(s, "lua", "push", address, skynet.pack(...))
	else
		local q = pending(node)
		q.sends[#q.sends + 1] = skynet.packstring(address, ...)
	end
end

local function ask(...)
	return skynet.call(clusterd, "lua", ...)
end

local function need_string(v, what)
	if type(v) ~= "string" then
		error(string.format("cluster: %s must be a string, got %s", what, type(v)), 3)
	end
end

-- the address registered as name on node (an error when there is none)
function cluster.query(node, name)
	return skynet.call(get_sender(node), "lua", "req", 0, skynet.pack(name))
end

-- name a service of this node for the other nodes ("@name"); default the caller
function cluster.register(name, addr)
	need_string(name, "a cluster name")
	if addr ~= nil and type(addr) ~= "number" then
		error("cluster: the address to register must be a handle", 2)
	end
	return ask("register", name, addr)
end

function cluster.unregister(name)
	need_string(name, "a cluster name")
	return ask("unregister", name)
end

-- a local service that forwards every lua message to name on node; cluster.proxy "node@name"
-- and "node.name" work too
function cluster.proxy(node, name)
	return ask("proxy", node, name)
end

-- a snax object for the snax service `name` of node (found through its .service when no
-- address is given)
function cluster.snax(node, name, address)
	address = address or cluster.call(node, ".service", "QUERY", "snaxd", name)
	local snax = require "skynet.snax"
	return snax.bind(cluster.proxy(node, address), name)
end

-- new node addresses (a table as in the cluster config file; nil reads the file again)
function cluster.reload(config)
	ask("reload", config)
end

-- listen as "nodename" (on the address the config gives it) or on a port of 0.0.0.0
function cluster.open(port, maxclient)
	local host = "0.0.0.0"
	if type(port) == "string" then
		host, port = port, nil
	end
	return ask("listen", host, port, maxclient)
end

skynet.init(function()
	clusterd = skynet.uniqueservice "clusterd"
end)

return cluster
