-- skynet.multicast: publish/subscribe channels, served by the multicastd service.
--
--   local mc = require "skynet.multicast"
--   local ch = mc.new()                       -- a new channel owned by this node
--   local ch = mc.new { channel = id,         -- an existing channel (id from ch.channel)
--                       pack = f, unpack = f, -- (default skynet.pack / skynet.unpack)
--                       dispatch = function(ch, source, ...) end }
--   ch:subscribe()  ch:unsubscribe()  ch:publish(...)  ch:delete()
--
-- A published message is packed once; every local subscriber receives a
-- reference to the same block (PTYPE_MULTICAST, the channel id as session), and
-- the block is freed when the last of them is done with it.
local skynet = require "skynet"
local core = require "skynet.multicast.core"

local multicast = {}

local server                -- the multicastd service
local subscribed = {}       -- channel id -> channel object of this service

local channel = {}
local channel_mt = {
	__index = channel,
	__tostring = function(self)
		return string.format("[Multicast:%x]", self.channel)
	end,
	__gc = function(self)
		self:unsubscribe()
	end,
}

function multicast.new(conf)
	assert(server, "Init first")
	conf = conf or {}
	local id = conf.channel
	if id == nil then
		id = skynet.call(server, "lua", "NEW")
	end
	return setmetatable({
		channel = id,
		__pack = conf.pack or skynet.pack,
		__unpack = conf.unpack or skynet.unpack,
		__dispatch = conf.dispatch,
	}, channel_mt)
end

function channel:publish(...)
	local id = assert(self.channel)
	skynet.call(server, "lua", "PUB", id, core.pack(self.__pack(...)))
end

-- joins (on) or leaves the channel; nothing happens when already there
local function subscription(self, on)
	if (self.__subscribe == true) == on then
		return
	end
	local id = assert(self.channel)
	if on then
		skynet.call(server, "lua", "SUB", id)
		self.__subscribe, subscribed[id] = true, self
	else
		self.__subscribe, subscribed[id] = nil, nil
		skynet.send(server, "lua", "USUB", id)
	end
end

function channel:subscribe()
	subscription(self, true)
end

function channel:unsubscribe()
	subscription(self, false)
end

function channel:delete()
	local id = assert(self.channel)
	skynet.send(server, "lua", "DEL", id)
	self.channel = nil
	self.__subscribe = nil
	subscribed[id] = nil
end

-- a message of a channel: drop our hold on the block whatever the handler does
local function deliver(id, source, block, msg, sz)
	skynet.ignoreret()      -- the session is the channel id, not a request
	local self = subscribed[id]
	if self == nil or not self.__subscribe then
		-- unsubscribed while the message was on its way
		core.close(block)
		return
	end
	local ok, err = pcall(self.__dispatch, self, source, self.__unpack(msg, sz))
	core.close(block)
	if not ok then
		error(err)
	end
end

skynet.init(function()
	server = skynet.uniqueservice "multicastd"
	skynet.register_protocol {
		name = "multicast",
		id = skynet.PTYPE_MULTICAST,
		unpack = core.unpack,
		dispatch = deliver,
	}
end)

return multicast
