-- skynet.db.redis against a real redis-server (started by run.sh with requirepass), and a
-- second, password-less one (redis_port2) that this test shuts down mid-call.
local skynet = require "skynet"
local redis = require "skynet.db.redis"
local sc = require "skynet.socketchannel"
local t = require "dbcheck"

local PORT = assert(tonumber(skynet.getenv "redis_port"))
local PORT2 = assert(tonumber(skynet.getenv "redis_port2"))
local PASS = skynet.getenv "redis_pass"
local HOST = "127.0.0.1"
local conf = { host = HOST, port = PORT, auth = PASS, db = 1 }

local function starts(s, prefix)
	return type(s) == "string" and s:sub(1, #prefix) == prefix
end

-- Runs f(i) in n coroutines and waits for them all; returns their pcall results.
local function together(n, f)
	local results, left = {}, n
	for i = 1, n do
		skynet.fork(function()
			results[i] = table.pack(pcall(f, i))
			left = left - 1
		end)
	end
	t.wait_for(function() return left == 0 end, 10000, "the coroutines")
	return results
end

skynet.start(function()
	local db = redis.connect(conf)
	db:flushdb()

	t.check("commands: set/get, missing key, integers", function()
		t.eq(db:set("A", "hello"), "OK")
		t.eq(db:get "A", "hello")
		t.eq(db:get "nothing", nil)
		t.eq(db:incr "n", 1)
		t.eq(db:incrby("n", 41), 42)
		t.eq(math.type(db:get "n" and db:incr "n"), "integer")
		t.eq(db:del("A", "n", "nothing"), 2, "deleted")
	end)
	t.check("commands: table arguments, hashes, sets, lists", function()
		t.eq(db:hmset { "H", "f1", "v1", "f2", 2 }, "OK")
		t.eq(db:hget("H", "f2"), "2")
		local all = db:hgetall "H"
		t.eq(#all, 4)
		t.eq(db:sadd("S", "one"), 1)
		t.eq(db:sismember("S", "one"), true)
		t.eq(db:sismember("S", "two"), false)
		t.eq(db:exists "S", true)
		t.eq(db:exists "nope", false)
		db:rpush("L", 1, 2, 3)
		t.eq(table.concat(db:lrange("L", 0, -1), ","), "1,2,3")
	end)
	t.check("commands: binary-safe and large values", function()
		local bin = "a\r\nb\0c$*-\r\n"
		db:set("bin", bin)
		t.eq(db:get "bin", bin)
		local big = string.rep("0123456789", 200000)
		db:set("big", big)
		t.eq(db:get "big", big)
		t.eq(db:strlen "big", #big)
	end)
	t.check("commands: multi/exec returns the queued replies", function()
		t.eq(db:multi(), "OK")
		t.eq(db:set("m", "x"), "QUEUED")
		t.eq(db:get "m", "QUEUED")
		local r = db:exec()
		t.eq(r[1], "OK")
		t.eq(r[2], "x")
	end)
	t.check("errors: an error reply raises the server's message, the connection goes on", function()
		db:set("str", "x")
		local e = t.raises(db.lpush, db, "str", 1)
		assert(starts(e, "WRONGTYPE"), tostring(e))
		e = t.raises(db.nosuchcommand, db, "x")
		assert(starts(e, "ERR unknown command"), tostring(e))
		t.eq(db:ping(), "PONG")
	end)
	t.check("errors: a nil argument is refused before anything is sent", function()
		local e = t.raises(db.set, db, "k", nil, "x")
		assert(tostring(e):find("argument #2 is nil", 1, true), tostring(e))
		t.eq(db:ping(), "PONG")
	end)
	t.check("pipeline: without resp, the last reply", function()
		local r = db:pipeline {
			{ "set", "p", 1 },
			{ "incr", "p" },
			{ "incr", "p" },
		}
		t.eq(r, 3)
	end)
	t.check("pipeline: with resp, every reply and the errors among them", function()
		local r = db:pipeline({
			{ "del", "p" },
			{ "hset", "str", "f", 1 },	-- WRONGTYPE
			{ "hmset", "ph", 1, 1, 2, 2 },
			{ "hgetall", "ph" },
		}, {})
		t.eq(#r, 4)
		t.eq(r[1].ok, true) t.eq(r[1].out, 1)
		t.eq(r[2].ok, false)
		assert(starts(r[2].out, "WRONGTYPE"), tostring(r[2].out))
		t.eq(r[3].out, "OK")
		t.eq(#r[4].out, 4)
	end)
	t.check("concurrency: 100 coroutines on one connection", function()
		db:del "c"
		local r = together(100, function(i)
			db:incr "c"
			return db:set("c" .. i, i) and db:get("c" .. i)
		end)
		for i = 1, 100 do
			assert(r[i][1], tostring(r[i][2]))
			t.eq(r[i][2], tostring(i))
		end
		t.eq(db:get "c", "100")
	end)
	t.check("select: db 1 and db 0 are apart", function()
		db:set("where", "one")
		local db0 = redis.connect { host = HOST, port = PORT, auth = PASS }
		t.eq(db0:get "where", nil)
		db0:disconnect()
	end)
	t.check("auth: a wrong password makes connect raise", function()
		local e = t.raises(redis.connect, { host = HOST, port = PORT, auth = "wrong" })
		t.eq(e, sc.error)
	end)
	t.check("auth: no password on a server that wants one: NOAUTH raised", function()
		local anon = redis.connect { host = HOST, port = PORT }
		local e = t.raises(anon.get, anon, "A")
		assert(starts(e, "NOAUTH"), tostring(e))
		anon:disconnect()
	end)
	t.check("auth: username and password (ACL)", function()
		t.eq(db:acl("setuser", "alice", "on", ">alicepw", "~*", "&*", "+@all"), "OK")
		local a = redis.connect { host = HOST, port = PORT, username = "alice", auth = "alicepw", db = 1 }
		t.eq(a:get "where", "one")
		t.eq(a:acl "whoami", "alice")
		a:disconnect()
		t.eq(t.raises(redis.connect, { host = HOST, port = PORT, username = "alice", auth = "x" }),
			sc.error)
	end)
	t.check("watch: subscribe, psubscribe, message, unsubscribe", function()
		local w = redis.watch(conf)
		w:subscribe "foo"
		w:psubscribe "hello.*"
		local got = {}
		local reader_done = false
		skynet.fork(function()
			for i = 1, 3 do
				got[i] = table.pack(w:message())
			end
			reader_done = true
		end)
		-- publish returns the number of receivers: poll until the subscriptions are in place
		t.wait_for(function() return db:publish("foo", "first") == 1 end, 5000, "SUBSCRIBE")
		t.wait_for(function() return db:publish("hello.x", "second") == 1 end, 5000, "PSUBSCRIBE")
		db:publish("foo", "third")
		t.wait_for(function() return reader_done end, 5000, "three messages")
		t.eq(got[1][1], "first") t.eq(got[1][2], "foo") t.eq(got[1].n, 2)
		t.eq(got[2][1], "second") t.eq(got[2][2], "hello.x") t.eq(got[2][3], "hello.*")
		t.eq(got[3][1], "third")
		w:unsubscribe "foo"
		skynet.fork(function() got.last = w:message() end)
		t.wait_for(function() return db:publish("foo", "gone") == 0 end, 5000, "UNSUBSCRIBE")
		db:publish("hello.y", "still")
		t.wait_for(function() return got.last end, 5000, "the pattern message")
		t.eq(got.last, "still")
		w:disconnect()
	end)
	t.check("watch: resubscribes after its connection is killed", function()
		local w = redis.watch(conf)
		w:subscribe "news"
		local got
		skynet.fork(function() got = w:message() end)
		t.wait_for(function() return db:publish("news", "x0") == 1 end, 5000, "SUBSCRIBE")
		t.wait_for(function() return got end, 5000, "x0")
		got = nil
		skynet.fork(function()
			while true do
				local ok, v = pcall(w.message, w)
				if ok then got = v return end
			end
		end)
		db:client("kill", "type", "pubsub")
		t.wait_for(function() return db:publish("news", "x1") == 1 end, 5000, "the new SUBSCRIBE")
		t.wait_for(function() return got end, 5000, "x1")
		t.eq(got, "x1")
		w:disconnect()
	end)
	t.check("killed mid-call: a blocked caller gets an error, the next call reconnects", function()
		local other = redis.connect(conf)
		local r
		skynet.fork(function() r = table.pack(pcall(other.blpop, other, "never", 0)) end)
		t.wait_for(function()
			return tostring(db:client "list"):find("cmd=blpop", 1, true) ~= nil
		end, 5000, "the BLPOP")
		db:client("kill", "type", "normal")	-- every normal client but this one
		t.wait_for(function() return r end, 5000, "the error")
		t.eq(r[1], false)
		t.eq(r[2], sc.error)
		t.eq(other:get "where", "one", "after reconnecting (auth and select again)")
		other:disconnect()
	end)
	t.check("server shut down mid-call: callers get errors, nobody waits forever", function()
		local a = redis.connect { host = HOST, port = PORT2 }
		local b = redis.connect { host = HOST, port = PORT2 }
		local r
		skynet.fork(function() r = table.pack(pcall(a.blpop, a, "never", 0)) end)
		t.wait_for(function()
			return tostring(b:client "list"):find("cmd=blpop", 1, true) ~= nil
		end, 5000, "the BLPOP")
		pcall(b.shutdown, b, "nosave")
		t.wait_for(function() return r end, 5000, "the error")
		t.eq(r[1], false)
		t.eq(r[2], sc.error)
		t.eq(t.raises(a.get, a, "x"), sc.error, "after the server is gone")
	end)
	db:disconnect()
	t.done()
end)
