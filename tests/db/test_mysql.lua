-- skynet.db.mysql against a real mariadbd (started by run.sh; a user with a password, the
-- database "skynet"). Shuts the server down at the end.
local skynet = require "skynet"
local mysql = require "skynet.db.mysql"
local sc = require "skynet.socketchannel"
local t = require "dbcheck"

local conf = {
	host = "127.0.0.1",
	port = assert(tonumber(skynet.getenv "mysql_port")),
	user = skynet.getenv "mysql_user",
	password = skynet.getenv "mysql_pass",
	database = "skynet",
	charset = "utf8mb4",
	max_packet_size = 64 * 1024 * 1024,
}

local function with(extra)
	local c = {}
	for k, v in pairs(conf) do c[k] = v end
	for k, v in pairs(extra) do c[k] = v end
	return c
end

local function ok_query(db, sql)
	local r = db:query(sql)
	if r.badresult then
		error(sql .. ": " .. tostring(r.err), 2)
	end
	return r
end

local function hex(s)
	return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

skynet.start(function()
	local connects = 0
	local db = mysql.connect(with { on_connect = function(d)
		connects = connects + 1
		d:query "set names utf8mb4"
	end })

	t.check("connect: password login, server version, on_connect", function()
		assert(db:server_ver():find("MariaDB", 1, true), db:server_ver())
		t.eq(connects, 1, "on_connect calls")
		local r = ok_query(db, "select current_user() as u")
		assert(r[1].u:find(conf.user .. "@", 1, true), r[1].u)
	end)
	t.check("query: DDL and INSERT give OK results", function()
		ok_query(db, "drop table if exists cats")
		local r = ok_query(db, "create table cats (id serial primary key, name varchar(5), n int)")
		t.eq(r.affected_rows, 0)
		r = ok_query(db, "insert into cats (name, n) values ('Bob', 1), ('', -2), (null, null)")
		t.eq(r.affected_rows, 3)
		t.eq(r.insert_id, 1)
		assert(type(r.server_status) == "number" and type(r.warning_count) == "number")
	end)
	t.check("query: rows by column name, NULL as nil, numbers converted", function()
		local r = ok_query(db, "select * from cats order by id")
		t.eq(#r, 3)
		t.eq(r[1].name, "Bob") t.eq(r[1].n, 1) t.eq(math.type(r[1].id), "integer")
		t.eq(r[2].name, "") t.eq(r[2].n, -2)
		t.eq(r[3].name, nil) t.eq(r[3].n, nil)
		db:set_compact_arrays(true)
		r = ok_query(db, "select id, name from cats order by id")
		db:set_compact_arrays(false)
		t.eq(r[1][1], 1) t.eq(r[1][2], "Bob")
	end)
	t.check("bigint: 64-bit integers exact, text and binary protocols", function()
		ok_query(db, "drop table if exists big")
		ok_query(db, "create table big (v bigint)")
		ok_query(db, "insert into big values (9223372036854775807), (-9223372036854775808), (1234567890123)")
		local r = ok_query(db, "select v from big order by v")
		t.eq(r[1].v, math.mininteger) t.eq(r[3].v, math.maxinteger) t.eq(r[2].v, 1234567890123)
		t.eq(math.type(r[3].v), "integer")
		local stmt = db:prepare "select v from big where v = ?"
		local b = db:execute(stmt, math.maxinteger)
		t.eq(b[1].v, math.maxinteger)
		b = db:execute(stmt, math.mininteger)
		t.eq(b[1].v, math.mininteger)
		db:stmt_close(stmt)
	end)
	t.check("multi result sets", function()
		local r = db:query "select 1 as a; select 2 as b, 'x' as c"
		t.eq(r.multiresultset, true)
		t.eq(#r, 2)
		t.eq(r[1][1].a, 1) t.eq(r[2][1].b, 2) t.eq(r[2][1].c, "x")
		r = db:query "select 1 as a; select * from no_such_table"
		t.eq(r.multiresultset, true) t.eq(r.badresult, true) t.eq(r.errno, 1146)
		t.eq(r[1][1].a, 1)
		t.eq(ok_query(db, "select 3 as z")[1].z, 3, "the connection after it")
	end)
	t.check("errors: a bad statement returns badresult, errno, sqlstate", function()
		local r = db:query "select * from no_such_table"
		t.eq(r.badresult, true)
		t.eq(r.errno, 1146)
		t.eq(r.sqlstate, "42S02")
		assert(r.err:find("doesn't exist", 1, true), r.err)
		r = db:query "selec 1"
		t.eq(r.errno, 1064)
		t.eq(ok_query(db, "select 4 as z")[1].z, 4)
	end)
	t.check("prepared statements: prepare, execute, types, stmt_close", function()
		local stmt = db:prepare "SELECT * FROM cats WHERE name=?"
		t.eq(stmt.param_count, 1) t.eq(stmt.field_count, 3)
		assert(type(stmt.prepare_id) == "number")
		t.eq(#stmt.fields, 3) t.eq(stmt.fields[2].name, "name")
		local r = db:execute(stmt, "Bob")
		t.eq(#r, 1) t.eq(r[1].id, 1) t.eq(r[1].n, 1)
		local e = t.raises(db.execute, db, stmt)
		assert(tostring(e):find("param_count", 1, true), tostring(e))
		db:stmt_close(stmt)
		r = db:execute(stmt, "Bob")
		t.eq(r.badresult, true, "executing a closed statement")
		ok_query(db, "drop table if exists typed")
		ok_query(db, [[create table typed (id int auto_increment primary key, s varchar(20),
			dt datetime, d date, tm time, f double, b mediumblob, u tinyint unsigned,
			i tinyint, flag bool, nothing int, dec_ decimal(10,2))]])
		local ins = db:prepare "insert into typed (s, dt, d, tm, f, b, u, i, flag, nothing, dec_) values (?,?,?,?,?,?,?,?,?,?,?)"
		local blob = "\255\0\1\r\n" .. string.rep("z", 70000)
		r = db:execute(ins, "héllo", "2020-03-20 15:30:40", "2021-12-31", "-25:01:02", 3.25,
			blob, 255, -128, true, nil, "12.34")
		t.eq(r.affected_rows, 1) t.eq(r.insert_id, 1)
		db:stmt_close(ins)
		local sel = db:prepare "select * from typed where id = ?"
		r = db:execute(sel, 1)[1]
		t.eq(r.s, "héllo") t.eq(r.dt, "2020-03-20 15:30:40") t.eq(r.d, "2021-12-31")
		t.eq(r.tm, "-25:01:02") t.eq(r.f, 3.25) t.eq(#r.b, #blob) assert(r.b == blob, "blob")
		t.eq(r.u, 255) t.eq(r.i, -128) t.eq(r.flag, 1) t.eq(r.nothing, nil) t.eq(r.dec_, "12.34")
		db:stmt_close(sel)
	end)
	t.check("prepared statements: a stored procedure's results; a bad statement", function()
		ok_query(db, "drop procedure if exists get_cat")
		ok_query(db, "create procedure get_cat(in p_id int) begin select * from cats where id = p_id; end")
		local stmt = db:prepare "call get_cat(?)"
		local r = db:execute(stmt, 1)
		t.eq(r.multiresultset, true) t.eq(r.mulitresultset, true)
		t.eq(r[1][1].name, "Bob")
		assert(r[2].affected_rows ~= nil, "the procedure's OK result")
		db:stmt_close(stmt)
		local bad = db:prepare "select * from no_such_table where x = ?"
		t.eq(bad.badresult, true) t.eq(bad.errno, 1146)
	end)
	t.check("stmt_reset and ping give OK results", function()
		local stmt = db:prepare "select ?"
		t.eq(db:stmt_reset(stmt).badresult, nil)
		db:stmt_close(stmt)
		assert(db:ping().server_status, "ping")
	end)
	t.check("quote_sql_str", function()
		t.eq(mysql.quote_sql_str [[\a'b"c]] , [['\\a\'b\"c']])
		t.eq(mysql.quote_sql_str "x\0y\n", "'x\\0y\\n'")
	end)
	t.check("a value over 16 MB (split packets) both ways", function()
		local big = string.rep("0123456789abcdef", 17 * 65536 + 3)	-- 17 MB and a bit
		ok_query(db, "drop table if exists huge")
		ok_query(db, "create table huge (b longblob)")
		ok_query(db, "insert into huge values ('" .. big .. "')")
		local r = ok_query(db, "select b, length(b) as n from huge")
		t.eq(r[1].n, #big)
		assert(r[1].b == big, "the value came back changed")
		ok_query(db, "drop table huge")
	end)
	t.check("concurrency: 50 coroutines share one connection", function()
		local done, bad = 0, nil
		for i = 1, 50 do
			skynet.fork(function()
				local ok, r = pcall(db.query, db, "select " .. i .. " as v")
				if not ok or r[1].v ~= i then bad = bad or tostring(r) end
				done = done + 1
			end)
		end
		t.wait_for(function() return done == 50 end, 10000, "the queries")
		assert(not bad, bad)
	end)
	t.check("pipelined replies of many rows (several reads each) reach their own callers", function()
		ok_query(db, "drop table if exists wide")
		ok_query(db, "create table wide (id int primary key, s varchar(255))")
		local values = {}
		for i = 1, 300 do
			values[i] = string.format("(%d, '%s')", i, string.rep(string.char(97 + i % 26), 200))
		end
		ok_query(db, "insert into wide values " .. table.concat(values, ","))
		local done, bad = 0, nil
		for i = 1, 20 do
			skynet.fork(function()
				local sql = i % 2 == 0 and "select id, s from wide order by id" or ("select " .. i .. " as v")
				local ok, r = pcall(db.query, db, sql)
				if not ok then
					bad = bad or tostring(r)
				elseif i % 2 == 0 then
					if #r ~= 300 or r[300].id ~= 300 or r[150].s ~= string.rep(string.char(97 + 150 % 26), 200) then
						bad = bad or ("caller " .. i .. " got a wrong result of " .. #r .. " rows")
					end
				elseif r[1].v ~= i then
					bad = bad or ("caller " .. i .. " got " .. tostring(r[1].v))
				end
				done = done + 1
			end)
		end
		t.wait_for(function() return done == 20 end, 10000, "the queries")
		assert(not bad, bad)
		ok_query(db, "drop table wide")
	end)
	t.check("sha256 (for caching_sha2_password) matches known digests", function()
		local sha = mysql._sha256
		t.eq(hex(sha ""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
		t.eq(hex(sha "abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
		t.eq(hex(sha(string.rep("a", 55))), "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318")
		t.eq(hex(sha(string.rep("a", 56))), "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a")
		t.eq(hex(sha(string.rep("a", 64))), "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb")
		t.eq(hex(sha(string.rep("a", 1000))), "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
	end)
	t.check("caching_sha2_password: the fast-path token (computed as the protocol says)", function()
		local nonce = ""
		for i = 1, 20 do nonce = nonce .. string.char(i) end
		t.eq(hex(mysql._auth_plugins.caching_sha2_password("secret", nonce)),
			"746ebe205d56a0707acb3e796e834e0dd7b1d61743b26bd5202c7a623230c7c9")
		t.eq(mysql._auth_plugins.caching_sha2_password("", nonce), "")
	end)
	t.check("auth: the server's switch to another plugin is followed", function()
		local d = mysql.connect(with { _auth_plugin = "caching_sha2_password" })
		t.eq(ok_query(d, "select 6 as z")[1].z, 6)
		d:disconnect()
	end)
	t.check("auth: a wrong password makes connect raise", function()
		t.eq(t.raises(mysql.connect, with { password = "wrong" }), sc.error)
		t.eq(t.raises(mysql.connect, with { user = "nobody" }), sc.error)
	end)
	t.check("connection killed mid-query: the caller gets an error, the next query logs in again", function()
		local victim = ok_query(db, "select connection_id() as id")[1].id
		local r
		skynet.fork(function() r = table.pack(pcall(db.query, db, "select sleep(30)")) end)
		local admin = mysql.connect(conf)
		t.wait_for(function()
			local pl = ok_query(admin, "select count(*) as n from information_schema.processlist where id = "
				.. victim .. " and info like 'select sleep%'")
			return pl[1].n == 1
		end, 5000, "the sleeping query")
		ok_query(admin, "kill connection " .. victim)
		t.wait_for(function() return r end, 5000, "the error")
		t.eq(r[1], false) t.eq(r[2], sc.error)
		t.eq(ok_query(db, "select 5 as z")[1].z, 5)
		t.eq(connects, 2, "on_connect calls")
		admin:disconnect()
	end)
	t.check("server shut down mid-query: callers get errors, nobody waits forever", function()
		local r
		skynet.fork(function() r = table.pack(pcall(db.query, db, "select sleep(30)")) end)
		local admin = mysql.connect(conf)
		t.wait_for(function()
			local pl = ok_query(admin, "select count(*) as n from information_schema.processlist"
				.. " where info like 'select sleep%'")
			return pl[1].n == 1
		end, 5000, "the sleeping query")
		pcall(admin.query, admin, "shutdown")
		t.wait_for(function() return r end, 10000, "the error")
		t.eq(r[1], false) t.eq(r[2], sc.error)
		t.eq(t.raises(db.query, db, "select 1"), sc.error, "after the server is gone")
	end)
	t.done()
end)
