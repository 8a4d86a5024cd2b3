-- multicastd: the channels of skynet.multicast on this node.
--
-- A channel id's low 8 bits name the node (harbor id) that owns it. The owner keeps
-- its local subscribers and the set of other nodes with subscribers; a node that
-- subscribes to a remote channel keeps a local group for it and asks the owner
-- (SUBR) to forward publications. Between nodes a message travels as plain bytes
-- (PTYPE_MULTICAST, the channel id as session); within a node as one shared block.
local skynet = require "skynet"
local core = require "skynet.multicast.core"
local datacenter = require "skynet.datacenter"
local c = require "skynet.core"

-- skynet.redirect without the protocol-name lookup: it runs once per subscriber
local PTYPE_MULTICAST = skynet.PTYPE_MULTICAST
local redirect = c.redirect

local node = skynet.harbor(skynet.self())

-- channel id -> { members = { [address] = true }, n = member count, nodes = { [harbor] = true } | nil }
local channels = {}
local next_id = node
local NORET = {}

local peers = setmetatable({}, {
	__index = function(t, harbor)
		local addr = assert(datacenter.get("multicast", harbor), "no multicastd on that node")
		t[harbor] = addr
		return addr
	end,
})

local function owner(id)
	return id % 256
end

local function group(id)
	local g = { members = {}, n = 0 }
	channels[id] = g
	return g
end

-- hands a block to every local member (or frees it when there is none)
local function fan_out(id, source, block, size)
	local g = channels[id]
	if g and g.nodes then
		local _, msg, sz = core.unpack(block, size)
		local bytes = skynet.tostring(msg, sz)
		for harbor in pairs(g.nodes) do
			skynet.redirect(peers[harbor], source, "multicast", id, bytes)
		end
	end
	if g == nil or g.n == 0 then
		core.close(core.bind(block, 1))
		return
	end
	local ref = skynet.tostring(block, size)     -- the slot's bytes: a reference to the block
	local record = core.bind(block, g.n)
	local gone
	for addr in pairs(g.members) do
		if not redirect(addr, source, PTYPE_MULTICAST, id, ref) then
			gone = gone or {}
			gone[#gone + 1] = addr
		end
	end
	-- a member that exited without unsubscribing: its share of the block, and its place, go
	if gone then
		for _, addr in ipairs(gone) do
			core.close(record)
			g.members[addr] = nil
			g.n = g.n - 1
		end
	end
end

local command = {}

function command.NEW()
	while channels[next_id] do
		next_id = core.nextid(next_id)
	end
	local id = next_id
	group(id)
	next_id = core.nextid(next_id)
	return id
end

function command.PUB(source, id, block, size)
	assert(skynet.harbor(source) == node)
	local home = owner(id)
	if home == node then
		fan_out(id, source, block, size)
	else
		skynet.redirect(peers[home], source, "multicast", id, core.remote(block))
	end
end

function command.SUB(source, id)
	local home = owner(id)
	if home ~= node and channels[id] == nil then
		if skynet.call(peers[home], "lua", "SUBR", id) then
			return          -- no such channel at its owner
		end
		if channels[id] == nil then     -- another SUB may have made it meanwhile
			group(id)
		end
	end
	local g = channels[id]
	if g and not g.members[source] then
		g.members[source] = true
		g.n = g.n + 1
	end
end

function command.USUB(source, id)
	local g = channels[id]
	if g == nil or not g.members[source] then     -- deleted meanwhile, or not a member
		return NORET
	end
	g.members[source] = nil
	g.n = g.n - 1
	local home = owner(id)
	if g.n == 0 and home ~= node then
		channels[id] = nil
		skynet.send(peers[home], "lua", "USUBR", id)
	end
	return NORET
end

function command.DEL(_, id)
	local home = owner(id)
	if home ~= node then
		skynet.send(peers[home], "lua", "DEL", id)
		return NORET
	end
	local g = channels[id]
	channels[id] = nil
	if g and g.nodes then
		for harbor in pairs(g.nodes) do
			skynet.send(peers[harbor], "lua", "DELR", id)
		end
	end
	return NORET
end

-- from other nodes' multicastd

-- returns true when the channel does not exist
function command.SUBR(source, id)
	local g = channels[id]
	if g == nil then
		return true
	end
	local harbor = skynet.harbor(source)
	assert(harbor ~= node and owner(id) == node)
	g.nodes = g.nodes or {}
	g.nodes[harbor] = true
end

function command.USUBR(source, id)
	local harbor = skynet.harbor(source)
	assert(harbor ~= node)
	local g = assert(channels[id])
	if g.nodes then
		g.nodes[harbor] = nil
		if next(g.nodes) == nil then
			g.nodes = nil
		end
	end
	return NORET
end

function command.DELR(_, id)
	channels[id] = nil
	return NORET
end

-- publications forwarded from another node arrive as bytes: copy them into a block
skynet.register_protocol {
	name = "multicast",
	id = skynet.PTYPE_MULTICAST,
	unpack = core.packremote,
	dispatch = function(id, source, block, size)
		skynet.ignoreret()
		fan_out(id, source, block, size)
	end,
}

skynet.info_func(function()
	local info = {}
	for id, g in pairs(channels) do
		local nodes = 0
		for _ in pairs(g.nodes or {}) do nodes = nodes + 1 end
		info[string.format("%x", id)] = { subscribers = g.n, nodes = nodes }
	end
	return info
end)

skynet.start(function()
	skynet.dispatch("lua", function(_, source, cmd, ...)
		local f = assert(command[cmd], cmd)
		local r = f(source, ...)
		if r ~= NORET then
			skynet.retpack(r)
		end
	end)
	assert(datacenter.set("multicast", node, skynet.self()) == nil)
end)
