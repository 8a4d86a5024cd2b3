-- skynet.db.mongo against tests/mongo/mongoserver.py (a MongoDB wire-protocol server with the
-- documents in memory, started by run.sh with logins required).
-- Prints "ok <check>" / "not ok <check>: <why>" per check, then "done <count>".
local skynet = require "skynet"
require "skynet.manager"
local mongo = require "skynet.db.mongo"
local driver = require "skynet.mongo.driver"
local bson = require "bson"

local PORT = assert(tonumber(skynet.getenv "mongo_port"))
local DEAD = assert(tonumber(skynet.getenv "dead_port"))
local HOST = "127.0.0.1"
local USER, PASS = "skynet_user", "p@ss,word=1"

local count = 0
local function check(name, f)
	count = count + 1
	local ok, err = xpcall(f, debug.traceback)
	if ok then
		skynet.error("ok " .. name)
	else
		skynet.error("not ok " .. name .. ": " .. tostring(err))
	end
end

local function eq(got, want, what)
	if got ~= want then
		error(string.format("%s: got %s, want %s", what or "value", tostring(got), tostring(want)), 2)
	end
end

local function raises(f, ...)
	local ok, err = pcall(f, ...)
	if ok then
		error("no error raised", 2)
	end
	return tostring(err)
end

local function has(s, part)
	if not tostring(s):find(part, 1, true) then
		error(string.format("%q does not contain %q", tostring(s), part), 2)
	end
end

local function client(extra)
	local conf = { host = HOST, port = PORT, username = USER, password = PASS, authdb = "admin" }
	for k, v in pairs(extra or {}) do
		conf[k] = v
	end
	return mongo.client(conf)
end

local function le32(n)
	return string.pack("<i4", n)
end

-- the server's counters (messages seen, wire violations, moreToCome requests, connections)
local function stats(c)
	local r = c:runCommand "testStats"
	assert(r.ok == 1, r.errmsg)
	return r
end

local function open_cursors(c)
	return c:runCommand("testCursors").open
end

local function all(cursor)
	local out = {}
	while cursor:hasNext() do
		out[#out + 1] = cursor:next()
	end
	return out
end

local function field_list(docs, key)
	local out = {}
	for i, d in ipairs(docs) do
		out[i] = tostring(d[key])
	end
	return table.concat(out, ",")
end

skynet.start(function()
	-------------------------------------------------------------------------- the bytes
	check("wire: op_msg lays out header, flagBits, one kind-0 section, no checksum", function()
		local doc = bson.encode_order("ping", 1, "$db", "admin")
		local body = tostring(doc)
		local m = driver.op_msg(7, 0, doc)
		eq(#m, 16 + 4 + 1 + #body, "size")
		eq(m, le32(#m) .. le32(7) .. le32(0) .. le32(2013) .. le32(0) .. "\0" .. body, "bytes")
		local m2 = driver.op_msg(0x7fffffff, 2, doc)
		eq(m2:sub(5, 8), le32(0x7fffffff), "request id")
		eq(m2:sub(17, 20), le32(2), "moreToCome flag")
		raises(driver.op_msg, 1, 0, nil)
	end)
	check("wire: op_msg with a kind-1 document sequence, and the 48 MB cap", function()
		local body = bson.encode_order("insert", "t", "$db", "d")
		local d1, d2 = bson.encode { a = 1 }, bson.encode { b = "xy" }
		local seq = tostring(d1) .. tostring(d2)
		local m = driver.op_msg(9, 0, body, "documents", { d1, tostring(d2) })
		local want_seq = "\1" .. le32(4 + #"documents" + 1 + #seq) .. "documents\0" .. seq
		eq(m, le32(#m) .. le32(9) .. le32(0) .. le32(2013) .. le32(0) .. "\0" .. tostring(body) .. want_seq, "bytes")
		has(raises(driver.op_msg, 1, 0, body, "documents", { 42 }), "not bson")
		has(raises(driver.op_msg, 1, 0, "\5\0\0"), "length")
		local big = bson.encode { s = string.rep("x", 25000000) }
		has(raises(driver.op_msg, 1, 0, body, "documents", { big, big }), "limit")
	end)
	check("wire: reply and length read a server's OP_MSG and refuse what they cannot read", function()
		local body = tostring(bson.encode_order("ok", 1, "n", 3))
		local rest = le32(99) .. le32(42) .. le32(2013) .. le32(0) .. "\0" .. body
		eq(driver.length(le32(#rest + 4)), #rest, "length")
		local ok, to, ptr = driver.reply(rest)
		eq(ok, true)
		eq(to, 42, "responseTo")
		eq(bson.decode(ptr).n, 3, "document")
		eq(driver.reply "short", false, "a reply shorter than a header")
		has(raises(driver.length, le32(10)), "Invalid message length")
		has(raises(driver.length, le32(0x7ffffff0)), "Invalid message length")
		has(raises(driver.reply, le32(1) .. le32(42) .. le32(1) .. le32(0) .. "\0" .. body), "opcode")
		has(raises(driver.reply, le32(1) .. le32(42) .. le32(2013) .. le32(1) .. "\0" .. body), "checksum")
		has(raises(driver.reply, le32(1) .. le32(42) .. le32(2013) .. le32(0) .. "\1" .. body), "payload type")
		has(raises(driver.reply, le32(1) .. le32(42) .. le32(2013) .. le32(0) .. "\0" .. body .. body), "section")
		has(raises(driver.reply, le32(1) .. le32(42) .. le32(2013) .. le32(0) .. "\0" .. body:sub(1, -2)), "length")
	end)

	-------------------------------------------------------------------------- logins
	local c = client()
	local db = c.skynet_test
	check("auth: SCRAM-SHA-1 login through authdb, then commands run", function()
		eq(c:runCommand("ping").ok, 1)
		eq(db:runCommand("ping").ok, 1)
		db.people:drop()
		local ok, err, r = db.people:safe_insert { name = "ann", age = 31 }
		assert(ok, err)
		eq(r.n, 1)
	end)
	check("auth: a wrong password or unknown user makes mongo.client raise", function()
		raises(client, { password = "wrong" })
		raises(client, { username = "nobody" })
		raises(client, { authdb = "app" })	-- the user is admin's, not app's
	end)
	check("auth: a user of another database (authdb = app) and MONGODB-CR", function()
		local c2 = client { username = "appuser", password = "app-pass", authdb = "app" }
		eq(c2.app.t:safe_insert { x = 1 }, true)
		c2:disconnect()
		local c3 = client { authmod = "mongodb_cr" }
		eq(c3.skynet_test:runCommand("count", "people").n, 1)
		c3:disconnect()
		raises(client, { authmod = "mongodb_cr", password = "wrong" })
		raises(client, { authmod = "no_such" })
	end)
	check("auth: a client without credentials, db:auth, logout", function()
		local c4 = mongo.client { host = HOST, port = PORT }
		local t = c4.skynet_test
		has(raises(t.people.findOne, t.people, {}), "requires authentication")
		eq(t:auth(USER, "wrong"), false, "auth with the wrong password")
		eq(c4.admin:auth(USER, PASS), true, "auth")
		eq(t.people:findOne({ name = "ann" }).age, 31)
		eq(c4:logout(), true, "logout")
		has(raises(t.people.findOne, t.people, {}), "requires authentication")
		c4:disconnect()
	end)

	-------------------------------------------------------------------------- writes
	local people = db.people
	check("insert: unacknowledged insert gets an _id and is there for the next read", function()
		local before = stats(c)
		local doc = { name = "bob", age = 25 }
		people:insert(doc)
		assert(doc._id, "insert sets _id")
		local got = people:findOne { name = "bob" }
		eq(got.age, 25)
		eq(got._id, doc._id, "_id")
		local after = stats(c)
		eq(after.moreToCome, before.moreToCome + 1, "moreToCome requests")
		eq(after.connections, before.connections, "connections (no reply confused the channel)")
	end)
	check("insert: batch_insert, insert_many, safe_batch_insert, raw_safe_insert", function()
		people:batch_insert { { name = "c1", age = 1 }, { name = "c2", age = 2 } }
		people:insert_many { { name = "c3", age = 3 } }
		local ok, err, r = people:safe_batch_insert { { name = "c4", age = 4 }, { name = "c5", age = 5 } }
		assert(ok, err)
		eq(r.n, 2)
		ok, err, r = people:safe_insert_many { { name = "c6", age = 6 } }
		assert(ok, err)
		ok, err, r = people:raw_safe_insert(bson.encode { name = "c7", age = 7 })
		assert(ok, err)
		eq(people:find():count(), 9, "count")
	end)
	check("insert: a batch over 16 MB goes as a kind-1 document sequence", function()
		local big = db.big
		big:drop()
		local before = stats(c).kind1
		local chunk = string.rep("z", 4 * 1024 * 1024)
		local list = {}
		for i = 1, 5 do
			list[i] = { n = i, blob = chunk }
		end
		local ok, err, r = big:safe_batch_insert(list)
		assert(ok, err)
		eq(r.n, 5)
		eq(stats(c).kind1, before + 1, "kind-1 sections the server saw")
		eq(#big:findOne({ n = 3 }).blob, #chunk)
		eq(big:find():count(), 5)
		assert(big:safe_insert { n = 6 })
		eq(stats(c).kind1, before + 1, "a small insert stays in the body")
		eq(big:drop().ok, 1)
	end)
	check("index: a unique index turns a second insert into (false, duplicate key error)", function()
		local r = people:createIndex({ name = 1 }, { unique = true, name = "name_unique" })
		eq(r.ok, 1, tostring(r.errmsg))
		local ok, err = people:safe_insert { name = "ann" }
		eq(ok, false)
		has(err, "duplicate key error")
		local names = {}
		for _, ix in ipairs(db:runCommand("listIndexes", "people").cursor.firstBatch) do
			names[#names + 1] = ix.name
		end
		eq(table.concat(names, ","), "_id_,name_unique")
	end)
	check("update: safe_update, upsert, multi, update, batch and raw forms", function()
		local ok, err, r = people:safe_update({ name = "ann" }, { ["$set"] = { age = 32 } })
		assert(ok, err)
		eq(r.n, 1)
		eq(people:findOne({ name = "ann" }).age, 32)
		ok, err, r = people:safe_update({ name = "dan" }, { ["$set"] = { age = 40 } }, true)
		assert(ok, err)
		assert(r.upserted, "upserted")
		eq(people:findOne({ name = "dan" }).age, 40)
		ok, err, r = people:safe_update({ age = { ["$lt"] = 10 } }, { ["$inc"] = { age = 100 } }, false, true)
		assert(ok, err)
		eq(r.nModified, 7, "multi")
		people:update({ name = "bob" }, { ["$set"] = { age = 26 } })
		eq(people:findOne({ name = "bob" }).age, 26)
		people:batch_update { { query = { name = "c1" }, update = { ["$set"] = { tag = "a" } } } }
		ok, err, r = people:safe_batch_update {
			{ query = { name = "c2" }, update = { ["$set"] = { tag = "b" } } },
			{ query = { name = "c3" }, update = { ["$set"] = { tag = "c" } } },
		}
		assert(ok, err)
		eq(r.n, 2)
		ok, err = people:raw_safe_update(bson.encode { q = { name = "c4" }, u = { ["$set"] = { tag = "d" } } })
		assert(ok, err)
		eq(field_list(all(people:find({ tag = { ["$exists"] = true } }):sort { name = 1 }), "tag"), "a,b,c,d")
		ok, err = people:safe_update({ name = "c5" }, { ["$set"] = { name = "ann" } })
		eq(ok, false, "an update that breaks the unique index")
		has(err, "duplicate key error")
	end)
	check("delete: safe_delete single and all, delete, safe_batch_delete, raw_safe_delete", function()
		local ok, err, r = people:safe_delete({ age = { ["$gt"] = 100 } }, true)
		assert(ok, err)
		eq(r.n, 1, "single")
		people:delete { name = "c7" }
		ok, err, r = people:safe_batch_delete { { name = "c5" }, { name = "c6" } }
		assert(ok, err)
		eq(r.n, 2)
		ok, err, r = people:raw_safe_delete(bson.encode { q = { name = "c4" }, limit = 0 })
		eq(r.n, 1)
		eq(field_list(all(people:find():sort { name = 1 }), "name"), "ann,bob,c2,c3,dan")
		ok, err, r = people:safe_delete {}
		eq(r.n, 5, "all")
		eq(people:findOne {}, nil)
	end)

	-------------------------------------------------------------------------- reads
	local nums = db.nums
	nums:drop()
	local docs = {}
	for i = 1, 7 do
		docs[i] = { i = i, odd = i % 2 == 1, sq = i * i }
	end
	nums:safe_batch_insert(docs)
	check("find: a cursor over 3 batches (find + 2 getMore) sees every document once", function()
		local before = stats(c).messages
		local got = all(nums:find({ i = { ["$lte"] = 5 } }):sort({ i = -1 }):batchSize(2))
		local after = stats(c).messages
		eq(field_list(got, "i"), "5,4,3,2,1")
		eq(after - before - 1, 3, "requests for the cursor")
		eq(open_cursors(c), 0, "cursors left open")
	end)
	check("find: sort by two keys, skip, limit, count and count(true), projection", function()
		local cur = nums:find({ i = { ["$gt"] = 0 } }):sort({ odd = 1 }, { i = -1 }):skip(1):limit(3)
		eq(cur:count(), 7, "count")
		eq(cur:count(true), 3, "count with limit and skip")
		eq(field_list(all(cur), "i"), "4,2,7", "order")
		local p = nums:findOne({ i = 3 }, { sq = 1 })
		eq(p.sq, 9)
		eq(p.i, nil, "projected out")
		eq(nums:findOne { i = 99 }, nil)
	end)
	check("find: a limit reached before the last batch kills the server's cursor", function()
		local cur = nums:find():sort({ i = 1 }):batchSize(2):limit(3)
		eq(field_list(all(cur), "i"), "1,2,3")
		eq(open_cursors(c), 0, "cursors left open")
	end)
	check("find: close() frees the cursor; next() without hasNext raises", function()
		local cur = nums:find():sort({ i = 1 }):batchSize(2)
		has(raises(cur.next, cur), "Call\thasNext\tfirst")
		assert(cur:hasNext())
		eq(cur:next().i, 1)
		eq(open_cursors(c), 1, "cursor open on the server")
		cur:close()
		eq(open_cursors(c), 0, "after close")
		assert(cur:hasNext(), "the batch in hand is still there")
		eq(cur:next().i, 2)
		eq(cur:hasNext(), false, "nothing after the batch in hand")
		eq(nums:find({ i = 100 }):hasNext(), false, "empty result")
	end)
	check("findAndModify: update returning the new document, upsert, remove", function()
		local r = nums:findAndModify { query = { i = 1 }, update = { ["$inc"] = { sq = 10 } }, new = true }
		eq(r.ok, 1)
		eq(r.value.sq, 11)
		r = nums:findAndModify { query = { i = 50 }, update = { ["$set"] = { sq = 0 } }, upsert = true, new = true }
		eq(r.value.i, 50)
		r = nums:findAndModify { query = { i = 50 }, remove = true }
		eq(r.value.sq, 0)
		eq(nums:findOne { i = 50 }, nil)
		raises(nums.findAndModify, nums, { query = { i = 1 } })
	end)
	check("aggregate: $group through runCommand, a cursor with batches, sort/skip/limit, count", function()
		local r = db:runCommand("aggregate", "nums", "pipeline",
			{ { ["$group"] = { _id = mongo.null, total = { ["$sum"] = "$i" } } } }, "cursor", {})
		eq(r.cursor.firstBatch[1].total, 28)
		local cur = nums:aggregate({ { ["$match"] = { odd = true } } }, { cursor = { batchSize = 1 } })
		eq(field_list(all(cur:sort { i = -1 }), "i"), "7,5,3,1")
		local cur2 = nums:aggregate { { ["$match"] = { odd = false } } }
		cur2:sort({ i = 1 }):skip(1):limit(1)
		eq(cur2:count(), 3, "count")
		eq(cur2:count(true), 1, "count with skip and limit")
		eq(field_list(all(cur2), "i"), "4")
		eq(nums:aggregate({ { ["$match"] = { i = 1000 } } }):count(), 0, "count of nothing")
		eq(open_cursors(c), 0, "cursors left open")
	end)
	check("index: createIndexes with several keys, dropIndex by name and *, drop", function()
		local r = nums:createIndexes({ { i = 1 }, { sq = -1 } }, { "odd", unique = false, name = "by_odd" })
		eq(r.ok, 1, tostring(r.errmsg))
		eq(r.numIndexesAfter, 3)
		local names = {}
		for _, ix in ipairs(db:runCommand("listIndexes", "nums").cursor.firstBatch) do
			names[#names + 1] = ix.name
		end
		eq(table.concat(names, ","), "_id_,i_1_sq_-1,by_odd")
		eq(nums:createIndex({ "sq", { i = -1 } }).ok, 1)
		eq(nums:dropIndex("by_odd").ok, 1)
		local bad = nums:dropIndex "by_odd"
		eq(bad.ok, 0)
		has(bad.errmsg, "index not found")
		eq(nums:dropIndex("*").ok, 1)
		eq(#db:runCommand("listIndexes", "nums").cursor.firstBatch, 1)
		eq(nums:drop().ok, 1)
		local again = nums:drop()
		eq(again.ok, 0, "dropping a missing collection")
		has(again.errmsg, "ns not found")
	end)
	check("bulkWrite: inserts, updates and a delete over two collections", function()
		db.b1:drop()
		db.b2:drop()
		local ok, err, r = c:bulkWrite {
			{ op = "insert", collection = "skynet_test.b1", insert = { k = 1 } },
			{ op = "insert", collection = "skynet_test.b2", insert = { k = 2 } },
			{ op = "update", collection = "skynet_test.b1", filter = { k = 1 }, update = { ["$set"] = { v = "x" } } },
			{ op = "delete", collection = "skynet_test.b2", filter = { k = 2 } },
		}
		assert(ok, err)
		eq(r.nInserted, 2)
		eq(db.b1:findOne({ k = 1 }).v, "x")
		eq(db.b2:findOne {}, nil)
	end)
	check("transaction: commit keeps the writes, a raise rolls them back, a failed commit is returned", function()
		mongo.enable "transaction"
		mongo.enable "transaction"	-- once only
		local acc = db.accounts
		acc:drop()
		assert(acc:safe_batch_insert { { _id = "a", bal = 100 }, { _id = "b", bal = 0 } })
		local s0 = stats(c)
		local err = db:run_transaction(function()
			assert(acc:safe_update({ _id = "a" }, { ["$inc"] = { bal = -10 } }))
			acc:insert { _id = "c", bal = 5 }	-- moreToCome inside the transaction
			assert(acc:safe_update({ _id = "b" }, { ["$inc"] = { bal = 10 } }))
		end)
		eq(err, nil, "commit")
		eq(acc:findOne({ _id = "a" }).bal, 90)
		eq(acc:findOne({ _id = "b" }).bal, 10)
		eq(acc:findOne({ _id = "c" }).bal, 5)
		err = db:run_transaction(function()
			assert(acc:safe_update({ _id = "a" }, { ["$inc"] = { bal = -50 } }))
			acc:delete { _id = "b" }
			error "boom"
		end)
		has(err, "boom")
		eq(acc:findOne({ _id = "a" }).bal, 90, "rolled back")
		eq(acc:findOne({ _id = "b" }).bal, 10, "rolled back")
		err = db:run_transaction(function()
			assert(acc:safe_update({ _id = "a" }, { ["$set"] = { bal = 0 } }))
			eq(c.admin:runCommand("abortTransaction").ok, 1)
		end)
		has(err, "aborted")
		eq(acc:findOne({ _id = "a" }).bal, 90, "aborted from inside")
		local s1 = stats(c)
		eq(s1.commits - s0.commits, 1, "commits")
		eq(s1.aborts - s0.aborts, 2, "aborts")
		eq(#s1.violations, 0, "wire violations")
	end)
	check("objects: client[db], db[coll], coll[sub], tostring", function()
		eq(c.skynet_test, db, "client[name] is the same db")
		eq(c:getDB "skynet_test".name, "skynet_test")
		eq(db.people, db.people, "db[name] is kept")
		eq(db:getCollection("people").full_name, "skynet_test.people")
		eq(db.a.b.full_name, "skynet_test.a.b")
		eq(db.a.b.name, "a.b")
		eq(db.mt.full_name, "skynet_test.mt", "a collection named like an internal")
		eq(db.people.mt.name, "people.mt")
		eq(tostring(c), "[mongo client :\t127.0.0.1:" .. PORT .. "]")
		eq(tostring(db), "[mongo db :\tskynet_test]")
		eq(tostring(db.people), "[mongo collection :\tskynet_test.people]")
		assert(db.a.b:safe_insert { z = 1 })
		eq(db:runCommand("count", "a.b").n, 1)
		eq(mongo.type(mongo.null), "nil")
	end)

	-------------------------------------------------------------------------- failures
	check("server error: {ok = 0, errmsg} returned by runCommand, raised by findOne/hasNext/count", function()
		assert(people:safe_insert { a = 1 })
		local r = db:runCommand "noSuchCommand"
		eq(r.ok, 0)
		has(r.errmsg, "no such command")
		has(raises(people.findOne, people, { a = { ["$bogus"] = 1 } }), "unknown operator")
		local cur = people:find { a = { ["$bogus"] = 1 } }
		has(raises(cur.hasNext, cur), "unknown operator")
		eq(cur:hasNext(), false, "a failed cursor stays ended")
		raises(cur.count, cur)
		local bad = db:runCommand("getMore", bson.int64(424242), "collection", "people")
		has(bad.errmsg, "cursor id 424242 not found")
	end)
	check("connection lost: the server closing mid-call raises; the next call reconnects and logs in", function()
		local before = stats(c).connections
		raises(c.runCommand, c, "testClose")
		eq(c.skynet_test.nums:find():count(), 0, "next call works (and is logged in)")
		raises(c.runCommand, c, "testHalf")
		eq(c:runCommand("ping").ok, 1)
		eq(stats(c).connections, before + 2, "reconnected twice")
	end)
	check("malformed replies: each raises in its caller; the client goes on", function()
		for _, kind in ipairs { "opcode", "checksum", "flags", "kind", "doclen", "short", "huge", "unknown" } do
			local err = raises(c.runCommand, c, "testGarbage", kind)
			eq(c:runCommand("ping").ok, 1, "after " .. kind .. " (" .. err .. ")")
		end
		local before = stats(c).connections
		raises(c.runCommand, c, "testGarbage", "bson")
		eq(c:runCommand("ping").ok, 1, "after bad bson")
		eq(stats(c).connections, before, "a bad document does not cost the connection")
	end)
	check("malformed reply: another request waiting on the same connection gets an error, not a hang", function()
		local results, left = {}, 2
		skynet.fork(function()
			results[1] = pcall(c.runCommand, c, "testGarbage", "opcode")
			left = left - 1
		end)
		skynet.fork(function()
			results[2] = table.pack(pcall(c.skynet_test.people.findOne, c.skynet_test.people, {}))
			left = left - 1
		end)
		local deadline = skynet.now() + 500
		while left > 0 and skynet.now() < deadline do
			skynet.sleep(1)
		end
		eq(left, 0, "requests still waiting")
		eq(results[1], false, "the garbage request")
		eq(c:runCommand("ping").ok, 1)
	end)
	check("replica set list: a dead first host, the next one answers", function()
		local rc = mongo.client { rs = {
			{ host = HOST, port = DEAD, username = USER, password = PASS, authdb = "admin" },
			{ host = HOST, port = PORT },
		} }
		eq(rc:runCommand("ping").ok, 1)
		eq(rc.skynet_test:runCommand("count", "people").ok, 1, "logged in")
		rc:disconnect()
	end)
	check("concurrency: 20 coroutines share one client; each gets its own replies", function()
		local conc = db.conc
		conc:drop()
		local results, left = {}, 20
		for i = 1, 20 do
			skynet.fork(function()
				local ok, err = pcall(function()
					assert(conc:safe_insert { k = i })
					local got = conc:findOne { k = i }
					assert(got and got.k == i, "wrong document for " .. i)
					return all(conc:find({ k = { ["$lte"] = i } }):batchSize(1))
				end)
				results[i] = ok or err
				left = left - 1
			end)
		end
		local deadline = skynet.now() + 1000
		while left > 0 and skynet.now() < deadline do
			skynet.sleep(1)
		end
		eq(left, 0, "coroutines still waiting")
		for i = 1, 20 do
			eq(results[i], true, "coroutine " .. i)
		end
		eq(conc:find():count(), 20)
	end)
	check("connect: mongo.client to a port nobody listens on raises", function()
		raises(mongo.client, { host = HOST, port = DEAD })
	end)
	check("replica set: a secondary's hello sends the client to the primary", function()
		local sc = client { port = assert(tonumber(skynet.getenv "secondary_port")) }
		eq(sc.port, PORT, "the client follows the primary")
		assert(sc.skynet_test.rs:safe_insert { via = "secondary" })
		eq(c.skynet_test.rs:findOne({ via = "secondary" }).via, "secondary", "written on the primary")
		sc:disconnect()
		local before = stats(c).connections
		local oc = client { port = assert(tonumber(skynet.getenv "orphan_port")),
			rs = { { host = HOST, port = assert(tonumber(skynet.getenv "orphan_port")),
				username = USER, password = PASS, authdb = "admin" }, { host = HOST, port = PORT } } }
		eq(oc:runCommand("ping").ok, 1, "no primary there: the next host of the list")
		eq(stats(c).connections, before + 1, "the client went to the listed backup")
		oc:disconnect()
		raises(client, { port = assert(tonumber(skynet.getenv "orphan_port")) })
	end)
	check("disconnect: later calls raise", function()
		local c5 = client()
		c5:disconnect()
		has(raises(c5.runCommand, c5, "ping"), "disconnected")
		c5:disconnect()
	end)
	check("wire: every request the server saw followed the OP_MSG spec", function()
		local s = stats(c)
		eq(#s.violations, 0, "violations (" .. table.concat(s.violations, "; ") .. ")")
		assert(s.messages > 100, "messages seen")
	end)
	skynet.error("done " .. count)
	skynet.abort()
end)
