-- multicast: 1,000 subscribers each receive every message exactly once, in order;
-- unsubscribe stops the flow, delete ends the channel, a failing handler harms nothing.
local skynet = require "skynet"
local mc = require "skynet.multicast"
local check = require "check"

local mode = ...
local SUBS, MESSAGES = 1000, 20

if mode == "rawsub" then
	-- subscribes without a channel object (so nothing unsubscribes it), then exits
	skynet.start(function()
		skynet.dispatch("lua", function(_, _, id)
			skynet.call(skynet.uniqueservice "multicastd", "lua", "SUB", id)
			skynet.retpack(true)
			skynet.exit()
		end)
	end)
	return
end

if mode == "sizesub" then
	-- counts bytes without unpacking them
	local bytes = 0
	skynet.start(function()
		skynet.dispatch("lua", function(_, _, cmd, id)
			if cmd == "init" then
				mc.new { channel = id, unpack = function(_, sz) return sz end,
					dispatch = function(_, _, sz) bytes = bytes + sz end }:subscribe()
			end
			skynet.retpack(bytes)
		end)
	end)
	return
end

if mode == "sub" then
	local got, order_ok, ch = {}, true, nil
	skynet.start(function()
		skynet.dispatch("lua", function(_, _, cmd, arg)
			if cmd == "init" then
				ch = mc.new {
					channel = arg,
					dispatch = function(_, _, seq, text)
						if seq == "boom" then error "handler fails on purpose" end
						if seq ~= #got + 1 or text ~= "msg" .. seq then order_ok = false end
						got[#got + 1] = seq
					end,
				}
				ch:subscribe()
				skynet.retpack(true)
			elseif cmd == "unsub" then
				ch:unsubscribe()
				skynet.retpack(true)
			elseif cmd == "report" then
				skynet.retpack(#got, order_ok)
			end
		end)
	end)
	return
end

skynet.start(function()
	local c = check.new("multicast")
	local ch = mc.new()
	c:ok(type(ch.channel) == "number", "new channel has an id")
	c:ok(tostring(ch):match("^%[Multicast:%x+%]$"), "tostring: " .. tostring(ch))
	local subs = {}
	for i = 1, SUBS do
		subs[i] = skynet.newservice(SERVICE_NAME, "sub")
	end
	for i = 1, SUBS do
		skynet.call(subs[i], "lua", "init", ch.channel)
	end
	local t0 = skynet.now()
	for seq = 1, MESSAGES do
		ch:publish(seq, "msg" .. seq)
	end
	local bad = 0
	for i = 1, SUBS do
		local n, ordered = skynet.call(subs[i], "lua", "report")
		if n ~= MESSAGES or not ordered then
			bad = bad + 1
			if bad < 5 then skynet.error("FAIL multicast: subscriber", i, "got", n, "ordered", ordered) end
		end
	end
	c:eq(bad, 0, "subscribers that missed, doubled or reordered a message")
	skynet.error(string.format("multicast: %d messages to %d subscribers in %d cs", MESSAGES, SUBS, skynet.now() - t0))
	-- a handler that raises: the others still count on
	ch:publish("boom")
	ch:publish(MESSAGES + 1, "msg" .. (MESSAGES + 1))
	local n = skynet.call(subs[1], "lua", "report")
	c:eq(n, MESSAGES + 1, "messages after a failing handler")
	-- half unsubscribe
	for i = 1, SUBS, 2 do
		skynet.call(subs[i], "lua", "unsub")
	end
	ch:publish(MESSAGES + 2, "msg" .. (MESSAGES + 2))
	local odd_ok, even_ok = true, true
	for i = 1, SUBS do
		local n = skynet.call(subs[i], "lua", "report")
		if i % 2 == 1 and n ~= MESSAGES + 1 then odd_ok = false end
		if i % 2 == 0 and n ~= MESSAGES + 2 then even_ok = false end
	end
	c:ok(odd_ok, "unsubscribed services receive nothing more")
	c:ok(even_ok, "the others receive it")
	-- a channel named by its id elsewhere, and delete
	local other = mc.new { channel = ch.channel, dispatch = function() end }
	other:delete()
	ch:publish(999, "after delete")       -- a dead channel: the block is freed, nobody gets it
	local after = skynet.call(subs[2], "lua", "report")
	c:eq(after, MESSAGES + 2, "nothing delivered after delete")
	-- a subscriber that is gone without unsubscribing is dropped at the next publish
	local ch2 = mc.new()
	local sub = skynet.newservice(SERVICE_NAME, "sub")
	skynet.call(sub, "lua", "init", ch2.channel)
	local raw = skynet.newservice(SERVICE_NAME, "rawsub")
	skynet.call(raw, "lua", ch2.channel)
	for _ = 1, 100 do       -- until it has exited
		if not pcall(skynet.call, raw, "debug", "PING") then break end
		skynet.sleep(1)
	end
	local server = skynet.uniqueservice "multicastd"
	local key = string.format("%x", ch2.channel)
	c:eq(skynet.call(server, "debug", "INFO")[key].subscribers, 2, "two subscribers")
	ch2:publish(1, "msg1")
	c:eq(skynet.call(server, "debug", "INFO")[key].subscribers, 1, "the exited one is dropped")
	c:eq(skynet.call(sub, "lua", "report"), 1, "the live one got the message")
	-- the blocks are freed once every subscriber is done with them
	local memory = require "skynet.memory"
	local ch3 = mc.new()
	local counters = {}
	for i = 1, 10 do
		counters[i] = skynet.newservice(SERVICE_NAME, "sizesub")
		skynet.call(counters[i], "lua", "init", ch3.channel)
	end
	collectgarbage() collectgarbage()
	local base = memory.total()
	local big = string.rep("x", 256 * 1024)
	for _ = 1, 50 do
		ch3:publish(big)
	end
	local all = true
	for i = 1, 10 do
		if skynet.call(counters[i], "lua", "count") < 50 * #big then all = false end
	end
	c:ok(all, "every counter got every big message")
	big = nil
	collectgarbage() collectgarbage()
	local grew = memory.total() - base
	skynet.error(string.format("multicast: 50 x 256 KiB to 10 subscribers, memory after: %+d bytes", grew))
	c:ok(grew < 2 * 1024 * 1024, "LEAK: multicast blocks not freed: " .. grew)
	c:done()
end)
