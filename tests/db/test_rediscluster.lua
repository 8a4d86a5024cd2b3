-- skynet.db.redis.cluster against a three-master Redis Cluster started by run.sh.
local skynet = require "skynet"
local redis = require "skynet.db.redis"
local rcluster = require "skynet.db.redis.cluster"
local crc16 = require "skynet.db.redis.crc16"
local t = require "dbcheck"

local HOST = "127.0.0.1"
local ports = {}
for p in (skynet.getenv "cluster_ports"):gmatch "%d+" do
	ports[#ports + 1] = tonumber(p)
end

skynet.start(function()
	local got = {}
	local db = rcluster.new({ { host = HOST, port = ports[1] }, { host = HOST, port = ports[2] } },
		{ db = 0 }, function(data, channel, pattern)
			got[#got + 1] = { data, channel, pattern }
		end)

	t.check("crc16 and keyslot: the values Redis uses", function()
		t.eq(crc16 "123456789", 0x31c3)
		t.eq(db:keyslot "foo", 12182)
		t.eq(db:keyslot "{user1000}.following", db:keyslot "{user1000}.followers")
		t.eq(db:keyslot "foo{}{bar}", crc16 "foo{}{bar}" % 16384, "an empty tag hashes the whole key")
		local direct = redis.connect { host = HOST, port = ports[1] }
		for _, k in ipairs { "a", "hello", "{x}y", "key:12345" } do
			t.eq(db:keyslot(k), direct:cluster("keyslot", k), "slot of " .. k)
		end
		direct:disconnect()
	end)
	t.check("commands go to the node of their key", function()
		t.eq(#db.nodes, 3, "masters")
		for i = 1, 200 do
			t.eq(db:set("k" .. i, i), "OK")
		end
		for i = 1, 200 do
			t.eq(db:get("k" .. i), tostring(i))
		end
		-- every node holds some of them, and only its own
		local total = 0
		for _, p in ipairs(ports) do
			local d = redis.connect { host = HOST, port = p }
			local n = d:dbsize()
			assert(n > 0 and n < 200, "node " .. p .. " holds " .. n)
			total = total + n
			d:disconnect()
		end
		t.eq(total, 200)
		db:rpush("list", 1, 2, 3)
		t.eq(table.concat(db:lrange("list", 0, -1), ","), "1,2,3")
	end)
	t.check("MOVED: a wrong or empty slot map is corrected", function()
		db:flush_slots_cache()
		t.eq(db:set("A", 1), "OK")
		t.eq(db:get "A", "1")
		db:initialize_slots_cache()	-- a random node may have answered without a MOVED
		local slot = db:keyslot "A"
		local right = db.slots[slot]
		for _, node in ipairs(db.nodes) do
			if node.name ~= right.name then
				db.slots[slot] = node	-- point the slot at the wrong master
				break
			end
		end
		t.eq(db:get "A", "1")
		t.eq(db.slots[slot].name, right.name, "the slot map after the MOVED")
	end)
	t.check("ASK: a slot being migrated is followed to its new node", function()
		local key = "askme"
		local slot = db:keyslot(key)
		local src = db.slots[slot]
		local dst
		for _, node in ipairs(db.nodes) do
			if node.name ~= src.name then dst = node break end
		end
		local s = redis.connect { host = src.host, port = src.port }
		local d = redis.connect { host = dst.host, port = dst.port }
		local sid, did = s:cluster "myid", d:cluster "myid"
		d:cluster("setslot", slot, "importing", sid)
		s:cluster("setslot", slot, "migrating", did)
		local ok, err = pcall(function()
			t.eq(db:set(key, "moved along"), "OK")	-- not on src: it answers ASK
			t.eq(d:dbsize() > 0, true)
		end)
		pcall(d.pipeline, d, { { "asking" }, { "del", key } })
		d:cluster("setslot", slot, "stable")
		s:cluster("setslot", slot, "stable")
		s:disconnect() d:disconnect()
		assert(ok, err)
	end)
	t.check("pipeline on one slot's connection; any node answers PING", function()
		local conn = db:get_connection_by_slot(db:keyslot "{foo}")
		local r = conn:pipeline({
			{ "del", "{foo}h" },
			{ "hmset", "{foo}h", 1, 1, 2, 2 },
			{ "hgetall", "{foo}h" },
		}, {})
		t.eq(r[2].out, "OK") t.eq(#r[3].out, 4)
		t.eq(db:get_random_connection():ping(), "PONG")
	end)
	t.check("errors: server errors raised, unroutable commands refused", function()
		db:set("str", "x")
		local e = t.raises(db.lpush, db, "str", 1)
		assert(tostring(e):find("^WRONGTYPE"), tostring(e))
		e = t.raises(db.info, db)
		assert(tostring(e):find("No way to dispatch", 1, true), tostring(e))
	end)
	t.check("close_all_connection: later commands connect again", function()
		db:close_all_connection()
		t.eq(next(db.connections), nil)
		t.eq(db:get "k1", "1")
	end)
	t.check("subscribe: published messages reach onmessage", function()
		db:subscribe "world"
		db:psubscribe "{tag}*team"
		t.wait_for(function()
			db:publish("world", "hello")
			return #got > 0
		end, 5000, "the message")
		t.eq(got[1][1], "hello") t.eq(got[1][2], "world")
		local function last_is(data)
			return #got > 0 and got[#got][1] == data
		end
		t.wait_for(function()
			db:publish("{tag}1team", "hi team")
			return last_is "hi team"
		end, 5000, "the pattern message")
		local m = got[#got]
		t.eq(m[2], "{tag}1team") t.eq(m[3], "{tag}*team")
	end)
	t.done()
end)
