-- Database round trips through the drivers, the same service on both stacks, for
-- bench_seconds each; prints "BENCH <key> <value>" lines (requests per second) on stderr.
-- One request in flight at a time:
--   redis_get_s      GET of a 20-byte value
--   redis_hgetall_s  HGETALL of a 10-field hash
--   mysql_select_s   SELECT of one 6-column row by primary key
--   mysql_rows_s     SELECT of 100 such rows
-- Ten coroutines each with one request in flight on the same connection (the driver
-- pipelines them): redis_get10_s, mysql_select10_s.
local skynet = require "skynet"
require "skynet.manager"
local redis = require "skynet.db.redis"
local mysql = require "skynet.db.mysql"

local budget = tonumber(skynet.getenv("bench_seconds")) or 3
local only = skynet.getenv("bench_only")	-- one figure alone (for perf stat), else all
if only == "" then
	only = nil
end

local function clock()
	return skynet.hpc() / 1e9
end

local function report(key, value)
	io.stderr:write(string.format("BENCH %s %.6g\n", key, value))
end

-- runs f until the budget is spent; reports calls per second
local function rate(key, f)
	if only and only ~= key then
		return
	end
	local n, start, elapsed = 0, clock(), 0
	repeat
		for _ = 1, 100 do
			f()
		end
		n = n + 100
		elapsed = clock() - start
	until elapsed >= budget
	report(key, n / elapsed)
	report((key:gsub("_s$", "_n")), n)
end

-- the same from ten coroutines at once
local function rate10(key, f)
	if only and only ~= key then
		return
	end
	local n, start, left = 0, clock(), 10
	local done = coroutine.running()
	for _ = 1, 10 do
		skynet.fork(function()
			repeat
				for _ = 1, 20 do
					f()
				end
				n = n + 20
			until clock() - start >= budget
			left = left - 1
			if left == 0 then
				skynet.wakeup(done)
			end
		end)
	end
	skynet.wait(done)
	report(key, n / (clock() - start))
	report((key:gsub("_s$", "_n")), n)
end

local function bench_redis()
	local db = redis.connect { host = "127.0.0.1", port = assert(tonumber(skynet.getenv("redis_port"))), db = 0 }
	db:set("bench:key", "a value of 20 bytes.")
	for i = 1, 10 do
		db:hset("bench:hash", "field" .. i, "value number " .. i)
	end
	rate("redis_get_s", function()
		assert(db:get("bench:key") == "a value of 20 bytes.")
	end)
	rate("redis_hgetall_s", function()
		assert(#db:hgetall("bench:hash") == 20)
	end)
	rate10("redis_get10_s", function()
		assert(db:get("bench:key") == "a value of 20 bytes.")
	end)
	db:disconnect()
end

local function bench_mysql()
	local db = mysql.connect {
		host = "127.0.0.1", port = assert(tonumber(skynet.getenv("mysql_port"))),
		user = skynet.getenv("mysql_user"), password = skynet.getenv("mysql_pass"),
		database = "bench", max_packet_size = 1024 * 1024,
	}
	local sel = "select id, name, level, exp, guild, online from players where id = 42"
	rate("mysql_select_s", function()
		local rows = db:query(sel)
		assert(rows[1] and rows[1].id == 42, rows.err)
	end)
	local many = "select id, name, level, exp, guild, online from players where id <= 100"
	rate("mysql_rows_s", function()
		local rows = db:query(many)
		assert(#rows == 100, rows.err)
	end)
	rate10("mysql_select10_s", function()
		local rows = db:query(sel)
		assert(rows[1] and rows[1].id == 42, rows.err)
	end)
	db:disconnect()
end

skynet.start(function()
	local which = skynet.getenv("bench")
	if which == "redis" then
		bench_redis()
	else
		bench_mysql()
	end
	skynet.abort()
end)
