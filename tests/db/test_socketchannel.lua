-- socketchannel against tests/db/lineserver.py: order and session modes, auth, backups,
-- a peer that drops the connection mid-request, close and changehost.
local skynet = require "skynet"
local sc = require "skynet.socketchannel"
local t = require "dbcheck"

local port = assert(tonumber(skynet.getenv "sc_port"))
local dead = assert(tonumber(skynet.getenv "dead_port"))
local HOST = "127.0.0.1"

local function line(sock)
	return true, sock:readline "\n"
end

local function is_socket_error(e)
	return e == sc.error
end

local function conns(ch)
	return tonumber(ch:request("CONNS\n", line))
end

-- Runs n coroutines, each f(i); returns when all finished, with their {ok, result} list.
local function together(n, f)
	local results, left = {}, n
	local me = coroutine.running()
	for i = 1, n do
		skynet.fork(function()
			results[i] = table.pack(pcall(f, i))
			left = left - 1
			if left == 0 then
				skynet.wakeup(me)
			end
		end)
	end
	t.wait_for(function() return left == 0 end, 10000, "the coroutines")
	return results
end

local function order_mode()
	local ch = sc.channel { host = HOST, port = port, nodelay = true }
	ch:connect(true)
	t.check("order: one request", function()
		t.eq(ch:request("ECHO hello\n", line), "hello")
	end)
	t.check("order: 200 concurrent requests get their own replies", function()
		local r = together(200, function(i) return ch:request("ECHO n" .. i .. "\n", line) end)
		for i = 1, 200 do
			assert(r[i][1], r[i][2])
			t.eq(r[i][2], "n" .. i, "reply " .. i)
		end
	end)
	t.check("order: a reply in parts (padding) comes back as a list", function()
		local r = ch:request("PARTS 3\n", function(sock)
			local l = sock:readline "\n"
			return true, l, l ~= "end"
		end)
		t.eq(type(r), "table")
		t.eq(table.concat(r, ","), "more 1,more 2,more 3,end")
	end)
	t.check("order: a request written in parts", function()
		t.eq(ch:request("EC", line, { "HO pa", "rts\n" }), "parts")
	end)
	t.check("order: a reader returning false raises its message, the channel goes on", function()
		local e = t.raises(ch.request, ch, "ECHO nope\n", function(sock)
			return false, "refused: " .. sock:readline "\n"
		end)
		t.eq(e, "refused: nope", "error")
		t.eq(ch:request("ECHO after\n", line), "after")
	end)
	t.check("order: a request with no reply", function()
		ch:request("ECHO ignored\n")
		-- its reply is still on the wire: the next reader reads it first
		t.eq(ch:request("ECHO next\n", function(sock)
			local a = sock:readline "\n"
			return true, a .. "," .. sock:readline "\n"
		end), "ignored,next")
	end)
	t.check("order: peer drops mid-request: every waiter fails, then it reconnects", function()
		local before = conns(ch)
		local start = skynet.now()
		local r = together(6, function(i)
			if i < 6 then
				return ch:request("HANG\n", line)
			end
			skynet.yield()
			return ch:request("DROP\n", line)
		end)
		for i = 1, 6 do
			assert(not r[i][1], "waiter " .. i .. " got a reply")
			assert(is_socket_error(r[i][2]), "waiter " .. i .. ": " .. tostring(r[i][2]))
		end
		assert(skynet.now() - start < 300, "the waiters were not failed at once")
		t.eq(tostring(r[1][2]), "[Error: socket]")
		t.eq(ch:request("ECHO back\n", line), "back")
		t.eq(conns(ch), before + 1, "connections")
	end)
	t.check("order: peer closes an idle connection: the next requests reconnect", function()
		ch:request("DROP\n")
		local errors, got = 0, nil
		for _ = 1, 50 do
			local ok, r = pcall(ch.request, ch, "ECHO again\n", line)
			if ok then got = r break end
			errors = errors + 1
		end
		t.eq(got, "again")
		assert(errors <= 1, errors .. " errors before reconnecting")
	end)
	t.check("order: overload is reported while a lot waits to be sent, then cleared", function()
		local events = {}
		local oc = sc.channel { host = HOST, port = port, overload = function(on)
			events[#events + 1] = on
		end }
		oc:connect(true)
		oc:request("PAUSE 300\n")	-- the server stops reading for a while
		oc:request("IGNORE " .. string.rep("x", 32 * 1024 * 1024) .. "\n")
		t.eq(oc:request("ECHO drained\n", line), "drained")
		t.wait_for(function() return events[2] ~= nil end, 5000, "overload off")
		t.eq(events[1], true, "first event") t.eq(events[2], false, "second event")
		oc:close()
	end)
	t.check("order: close fails the waiters and later requests", function()
		local r = together(3, function(i)
			if i < 3 then return ch:request("HANG\n", line) end
			skynet.yield()
			ch:close()
			return "closed"
		end)
		assert(not r[1][1] and is_socket_error(r[1][2]), tostring(r[1][2]))
		assert(not r[2][1] and is_socket_error(r[2][2]), tostring(r[2][2]))
		local e = t.raises(ch.request, ch, "ECHO x\n", line)
		assert(is_socket_error(e), tostring(e))
		-- connect() opens it again
		ch:connect(true)
		t.eq(ch:request("ECHO reopened\n", line), "reopened")
		ch:close()
	end)
end

local function auth_and_hosts()
	t.check("auth: runs on connect and again on every reconnect", function()
		local calls = 0
		local ch = sc.channel { host = HOST, port = port, auth = function(c)
			calls = calls + 1
			t.eq(c:request("AUTH good\n", line), "OK", "auth reply")
		end }
		ch:connect(true)
		t.eq(calls, 1, "auth calls")
		t.eq(ch:request("ECHO in\n", line), "in")
		pcall(ch.request, ch, "DROP\n", line)
		t.eq(ch:request("ECHO again\n", line), "again")
		t.eq(calls, 2, "auth calls")
		ch:close()
	end)
	t.check("auth: requests of others wait until auth is done", function()
		local order = {}
		local ch = sc.channel { host = HOST, port = port, auth = function(c)
			c:request("AUTH good\n", line)
			skynet.sleep(5)
			order[#order + 1] = "auth"
		end }
		local r = together(3, function(i)
			if i == 1 then ch:connect(true) order[#order + 1] = "connected" return end
			skynet.yield()
			local v = ch:request("ECHO r" .. i .. "\n", line)
			order[#order + 1] = v
			return v
		end)
		for i = 1, 3 do assert(r[i][1], tostring(r[i][2])) end
		t.eq(order[1], "auth", "first")
		ch:close()
	end)
	t.check("auth: a failed auth makes connect raise the socket error", function()
		local ch = sc.channel { host = HOST, port = port, auth = function(c)
			local r = c:request("AUTH bad\n", line)
			if r ~= "OK" then error("auth refused: " .. r) end
		end }
		local e = t.raises(ch.connect, ch, true)
		assert(is_socket_error(e), tostring(e))
		ch:close()
	end)
	t.check("connect: refused, no backup: connect and request raise", function()
		local ch = sc.channel { host = HOST, port = dead }
		assert(is_socket_error(t.raises(ch.connect, ch, true)))
		assert(is_socket_error(t.raises(ch.request, ch, "ECHO x\n", line)))
		ch:close()
	end)
	t.check("backup: the primary refuses, a backup host answers", function()
		local ch = sc.channel { host = HOST, port = dead,
			backup = { { host = HOST, port = dead }, { host = HOST, port = port } } }
		ch:connect(true)
		t.eq(ch:request("ECHO via backup\n", line), "via backup")
		ch:close()
	end)
	t.check("backup: a host name alone takes the channel's port", function()
		-- the line server listens on 127.0.0.1 only: 127.0.0.2 refuses
		local ch = sc.channel { host = "127.0.0.2", port = port, backup = { HOST } }
		ch:connect(true)
		t.eq(ch:request("ECHO same port\n", line), "same port")
		ch:close()
	end)
	t.check("changehost: moves the channel to another address", function()
		local ch = sc.channel { host = HOST, port = dead }
		pcall(ch.connect, ch, true)
		ch:changehost(HOST, port)
		t.eq(ch:request("ECHO moved\n", line), "moved")
		ch:changehost(HOST, dead)
		assert(is_socket_error(t.raises(ch.request, ch, "ECHO x\n", line)))
		ch:changebackup { { host = HOST, port = port } }
		t.eq(ch:request("ECHO backup\n", line), "backup")
		ch:close()
	end)
	t.check("connect without once: retries until the host answers", function()
		local ch = sc.channel { host = HOST, port = dead }
		skynet.fork(function()
			skynet.sleep(20)
			ch:changehost(HOST, port)
		end)
		ch:connect()
		t.eq(ch:request("ECHO retried\n", line), "retried")
		ch:close()
	end)
end

local function session_reader(sock)
	local l = sock:readline "\n"
	local id, txt = l:match "^(%d+) (.*)$"
	return tonumber(id), true, txt
end

local function session_mode()
	local ch = sc.channel { host = HOST, port = port, response = session_reader }
	ch:connect(true)
	t.check("session: replies out of order reach their callers", function()
		-- the server holds three replies, then sends them last request first
		local finished = {}
		local r = together(4, function(i)
			local v
			if i <= 3 then
				v = ch:request(string.format("HOLD %d s%d\n", i, i), i)
			else
				v = ch:request("RELEASE 4 3,2,1\n", 4)
			end
			finished[#finished + 1] = i
			return v
		end)
		for i = 1, 3 do
			assert(r[i][1], tostring(r[i][2]))
			t.eq(r[i][2], "s" .. i)
		end
		t.eq(r[4][2], "released")
		t.eq(table.concat(finished, ","), "3,2,1,4", "completion order")
	end)
	t.check("session: response() waits for a session nobody requested here", function()
		local r = together(2, function(i)
			if i == 1 then return ch:response(77) end
			ch:request("SESS 77 10 pushed\n")
			return "sent"
		end)
		t.eq(r[1][2], "pushed")
	end)
	t.check("session: peer drops: pending sessions fail at once, then it reconnects", function()
		local start = skynet.now()
		local r = together(3, function(i)
			if i < 3 then return ch:request(string.format("SESS %d 5000 late\n", 10 + i), 10 + i) end
			skynet.sleep(5)
			return ch:request("DROP\n")
		end)
		assert(not r[1][1] and is_socket_error(r[1][2]), tostring(r[1][2]))
		assert(not r[2][1] and is_socket_error(r[2][2]), tostring(r[2][2]))
		assert(skynet.now() - start < 300, "the waiters were not failed at once")
		t.eq(ch:request("SESS 5 1 fine\n", 5), "fine")
	end)
	t.check("session: a reply in parts (padding) comes back as a list", function()
		local pc = sc.channel { host = HOST, port = port, response = function(sock)
			local id, flag, txt = sock:readline("\n"):match "^(%d+) (%S) (.*)$"
			return tonumber(id), true, txt, flag == "+"
		end }
		local r = together(2, function(i)
			return pc:request(string.format("SPARTS %d %d\n", i, i + 1), i)
		end)
		t.eq(table.concat(r[1][2], ","), "p1,p2,end")
		t.eq(table.concat(r[2][2], ","), "p1,p2,p3,end")
		pc:close()
	end)
	t.check("session: a response function that raises fails the waiters with its message", function()
		local bad = sc.channel { host = HOST, port = port, response = function(sock)
			local l = sock:readline "\n"
			error("cannot parse " .. l, 0)
		end }
		local e = t.raises(bad.request, bad, "SESS 1 1 x\n", 1)
		t.eq(e, "cannot parse 1 x")
		bad:close()
	end)
	ch:close()
end

local function custom_and_bad_input()
	t.check("socket_readline: a channel's own line reader", function()
		local socket = require "skynet.socket"
		local ch = sc.channel { host = HOST, port = port, socket_readline = function(sock, sep)
			return socket.readline(sock[1], sep):upper()
		end }
		t.eq(ch:request("ECHO shout\n", line), "SHOUT")
		ch:close()
	end)
	t.check("redis: a server speaking something else fails the call with a message", function()
		local redis = require "skynet.db.redis"
		local db = redis.connect { host = HOST, port = port }	-- our line server
		local e = t.raises(db.get, db, "k")
		assert(tostring(e):find("redis: unknown reply", 1, true), tostring(e))
		db:disconnect()
	end)
end

skynet.start(function()
	custom_and_bad_input()
	order_mode()
	auth_and_hosts()
	session_mode()
	t.done()
end)
