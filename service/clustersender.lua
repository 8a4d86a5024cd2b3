-- clustersender: the connection of this node to one peer node (started by clusterd with the
-- peer's name, this node's name and the peer's address).
--
-- Lua commands: "req" addr msg sz (a call: answers the peer's reply, or an error),
-- "push" addr msg sz (no reply), "changenode" host [port] (connect there; false closes).
-- Requests are framed by skynet.cluster.core; the replies are matched by session on one
-- socketchannel, a large reply arriving in parts that are joined here.
local skynet = require "skynet"
local sc = require "skynet.socketchannel"
local socket = require "skynet.socket"
local core = require "skynet.cluster.core"

local node, nodename, host, port = ...

local channel
local session = 1
local command = {}

-- one reply frame: 2-byte big-endian length, then session, ok, data[, more parts follow]
local function read_reply(sock)
	local body = sock:read(socket.header(sock:read(2)))
	return core.unpackresponse(body)
end

-- the trace tag of the running task goes to the peer just before its request; the first hop
-- names itself "(this-peer-session)"
local function forward_trace()
	local tag = skynet.tracetag()
	if tag == nil then
		return
	end
	if tag:byte() ~= 40 then	-- '('
		local hop = ("(%s-%s-%d)%s"):format(nodename, node, session, tag)
		skynet.tracelog(tag, "session " .. hop)
		tag = hop
	end
	skynet.tracelog(tag, "cluster " .. node)
	channel:request(core.packtrace(tag))
end

-- a call: frames the packed message (freed by packrequest) and waits for the reply
local function request(addr, msg, sz)
	local frame, next_session, parts = core.packrequest(addr, session, msg, sz)
	local mine = session
	session = next_session
	forward_trace()
	return channel:request(frame, mine, parts)
end

function command.req(...)
	local ok, reply = pcall(request, ...)
	if not ok then
		skynet.error(string.format("cluster call to node %s failed: %s", node, tostring(reply)))
		skynet.response()(false)
		return
	end
	if type(reply) == "table" then
		-- a large reply: { size, part, part... }
		local msg, sz = core.concat(reply)
		if msg == nil then
			skynet.error(string.format("cluster: a large reply from node %s does not add up", node))
			skynet.response()(false)
			return
		end
		skynet.ret(msg, sz)
	else
		skynet.ret(reply)
	end
end

function command.push(addr, msg, sz)
	local frame, next_session, parts = core.packpush(addr, session, msg, sz)
	if parts then
		-- a large push uses a session to join its parts
		session = next_session
	end
	local ok, err = pcall(channel.request, channel, frame, nil, parts)
	if not ok then
		skynet.error(string.format("cluster push to node %s failed: %s", node, tostring(err)))
	end
end

-- sent (not called) by clusterd on a reload: the failure to connect is only logged, the
-- next request tries again
local function changenode(called, h, p)
	if not h then
		skynet.error(string.format("Close cluster sender %s (%s%s)", node, tostring(channel._host),
			channel._port and ":" .. channel._port or ""))
		channel:close()
	else
		channel:changehost(h, p and tonumber(p))
		local ok, err = pcall(channel.connect, channel, true)
		if not ok then
			if called then
				error(string.format("connect to cluster node %s (%s) failed", node, h))
			end
			skynet.error(string.format("cluster: connect to node %s (%s) failed: %s", node, h, tostring(err)))
		end
	end
	if called then
		skynet.ret(skynet.pack(nil))
	end
end

command.changenode = changenode

skynet.start(function()
	channel = sc.channel {
		host = host,
		port = tonumber(port),
		response = read_reply,
		nodelay = true,
	}
	skynet.dispatch("lua", function(session, _, cmd, ...)
		local f = assert(command[cmd], cmd)
		if f == changenode then
			f(session ~= 0, ...)
		else
			f(...)
		end
	end)
end)
