-- skynet as a client of Python peers; the case comes from the config (sk_case),
-- the peer's ports from sk_port / sk_port2.  Results go to the log, one line each.
local skynet = require "skynet"
require "skynet.manager"
local socket = require "skynet.socket"
local dns = require "skynet.dns"

local function log(...)
	skynet.error(...)
end

local port = tonumber(skynet.getenv "sk_port")
local port2 = tonumber(skynet.getenv "sk_port2" or "0")

local cases = {}

function cases.tcp()
	local id, err = socket.open("127.0.0.1", port)
	log("CLIENT open " .. tostring(id ~= nil) .. " " .. tostring(err))
	socket.write(id, "hello\n")
	log("CLIENT line=" .. tostring(socket.readline(id)))
	local data, rest = socket.read(id, 100)
	log(string.format("CLIENT read=%s rest=%s", tostring(data), rest))
	log("CLIENT disconnected=" .. tostring(socket.disconnected(id)))
	socket.close(id)
	log("CLIENT invalid=" .. tostring(socket.invalid(id)))
	-- "host:port" in one string, read until the peer closes
	local id2 = assert(socket.open("127.0.0.1:" .. port))
	log("CLIENT readall=" .. tostring(socket.readall(id2)))
	log("CLIENT readall again=" .. tostring(socket.readall(id2)))
	socket.close(id2)
	-- a port nobody listens on
	local id3, err3 = socket.open("127.0.0.1", port2)
	log("CLIENT refused id=" .. tostring(id3) .. " err=" .. tostring(err3))
	-- start of an id that does not exist
	local bad, berr = socket.start(4000)
	log("CLIENT start invalid=" .. tostring(bad) .. " err=" .. tostring(berr))
	-- IPv6 loopback listener; the test connects, sends a line, gets it back
	local lid, laddr, lport = socket.listen("::1", 0)
	local me = coroutine.running()
	socket.start(lid, function(id)
		skynet.fork(function()
			socket.start(id)
			local line = socket.readline(id)
			socket.write(id, "v6:" .. tostring(line) .. "\n")
			socket.close(id)
			skynet.wakeup(me)
		end)
	end)
	log("CLIENT v6 listen " .. laddr .. " " .. lport)
	skynet.wait(me)
	socket.close(lid)
	local addrs = socket.resolve("127.0.0.1")
	log("CLIENT resolve=" .. table.concat(addrs, ","))
	log("CLIENT done")
	skynet.abort()
end

function cases.udp()
	local closing
	local id
	local replies = 0
	id = socket.udp(function(data, from)
		local ip, p = socket.udp_address(from)
		log(string.format("UDP got %s from %s:%d", data, ip, p))
		replies = replies + 1
		if replies == 1 then
			socket.sendto(id, from, "again")
		end
	end)
	socket.udp_connect(id, "127.0.0.1", port)
	socket.write(id, "ping")
	local lid
	lid = socket.udp_listen("127.0.0.1", port2, function(data, from)
		log("UDP listen got " .. data)
		if data == "closeudp" then
			skynet.fork(closing)
			return
		end
		socket.sendto(lid, from, "re:" .. data)
	end)
	log("UDP listening")
	local did = socket.udp_dial("127.0.0.1", port, function(data)
		log("UDP dial got " .. data)
	end)
	socket.write(did, "dial")
	local big = string.rep("u", 8000)
	socket.write(did, big)
	-- "closeudp" through the listening socket: close the dialled one
	closing = function()
		socket.close(did)
		log("UDP closed invalid=" .. tostring(socket.invalid(did)))
	end
end

function cases.dns()
	dns.DEFAULT_HOSTS = skynet.getenv "sk_hosts"
	dns.server("127.0.0.1", port)
	local function show(tag, name, ipv6)
		local ok, first, all = pcall(dns.resolve, name, ipv6)
		if not ok then
			log(string.format("DNS %s error %s", tag, first))
		elseif type(all) == "table" then
			log(string.format("DNS %s %s [%s]", tag, tostring(first), table.concat(all, ",")))
		else
			log(string.format("DNS %s %s %s", tag, tostring(first), tostring(all)))
		end
	end
	show("a", "svc.test")
	show("cached", "SVC.test")
	show("aaaa", "v6.test", true)
	show("nx", "none.test")
	show("hosts", "myhost.test")
	show("hosts6", "alias.test", true)
	show("illegal", "bad name!")
	show("literal", "127.0.0.1")
	show("short1", "short.test")
	show("short2", "short.test")
	local t0 = skynet.now()
	show("broken", "broken.test")
	log("DNS broken took " .. (skynet.now() - t0))
	show("cname", "alias.cname.test")
	dns.flush()
	show("flushed", "svc.test")
	log("DNS done")
	skynet.abort()
end

skynet.start(function()
	local case = assert(cases[skynet.getenv "sk_case"])
	skynet.fork(case)
end)
