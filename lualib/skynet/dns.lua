-- skynet.dns: an asynchronous stub resolver for Lua services.
--
--   dns.server(address [, port])   the name server to ask (default: the first
--                                  "nameserver" line of dns.DEFAULT_RESOLV_CONF, port 53)
--   dns.resolve(name [, ipv6])     -> first address, list of addresses
--                                     nil, "illegal name" for a malformed name
--                                     an IP literal comes back as it is
--                                     raises "timeout or no answer" when nothing came
--   dns.flush()                    forget every cached answer
--
-- Names in dns.DEFAULT_HOSTS (/etc/hosts) are answered from that file.  Other
-- names are asked over UDP (RFC 1035: one question, A or AAAA, recursion desired);
-- answers are cached for their TTL, and a stale cached answer still serves when
-- the server does not answer in time.  Only the asking task waits; the UDP socket
-- is opened on the first query and closed again after a minute without one.

local skynet = require "skynet"
local socket = require "skynet.socket"

local spack, sunpack = string.pack, string.unpack
local format = string.format

local dns = {}

dns.DEFAULT_HOSTS = "/etc/hosts"
dns.DEFAULT_RESOLV_CONF = "/etc/resolv.conf"

local TYPE_A, TYPE_AAAA = 1, 28
local CLASS_IN = 1
local FLAG_RD = 0x0100			-- recursion desired
local HEADER_SIZE = 12
local NAME_MAX, LABEL_MAX = 1024, 63
local QUERY_TIMEOUT = 3000		-- centiseconds: 30 s
local IDLE_CLOSE = 6000			-- centiseconds without a query before the socket closes

---------------------------------------------------------------------------
-- local files

-- "ipv4", "ipv6" or "hostname", by the look of the text
local function kind_of(name)
	if name:find("^[%d%.]+$") then
		return "ipv4"
	elseif name:find(":", 1, true) then
		return "ipv6"
	end
	return "hostname"
end

-- /etc/hosts as { [lowercase name] = { ipv4 = {...}, ipv6 = {...} } }, or nil
local function read_hosts(path)
	local f = path and io.open(path)
	if not f then
		return nil
	end
	local map = {}
	for raw in f:lines() do
		local line = raw:gsub("[#;].*", "")
		local addr, names = line:match("^%s*([%x%.:%[%]]+)%s+(.+)$")
		local family = addr and kind_of(addr)
		if family and family ~= "hostname" then
			for word in names:gmatch("%S+") do
				local host = word:lower()
				local entry = map[host] or {}
				map[host] = entry
				local list = entry[family] or {}
				entry[family] = list
				list[#list + 1] = addr
			end
		end
	end
	f:close()
	return map
end

local function first_nameserver(path)
	local f = path and io.open(path)
	if not f then
		return nil
	end
	local found
	for line in f:lines() do
		found = line:match("^%s*nameserver%s+([^%s#;]+)")
		if found then
			break
		end
	end
	f:close()
	return found
end

local hosts	-- read on the first lookup

local function from_hosts(name, ipv6)
	if hosts == nil then
		hosts = read_hosts(dns.DEFAULT_HOSTS) or false
	end
	local entry = hosts and hosts[name]
	local list = entry and entry[ipv6 and "ipv6" or "ipv4"]
	if list then
		return list[1], list
	end
end

---------------------------------------------------------------------------
-- cache: qtype -> name -> { list = addresses, expires = skynet.now() deadline }
-- Expired answers stay (a stale one serves when the server does not answer)
-- until the cache holds CACHE_MAX names; then the expired ones go, and if that
-- is not enough, all of them.

local CACHE_MAX = 4096
local cache, cached_names

function dns.flush()
	cache = { [TYPE_A] = {}, [TYPE_AAAA] = {} }
	cached_names = 0
end
dns.flush()

local function remember(qtype, name, list, ttl)
	local now = skynet.now()
	local by_name = cache[qtype]
	if by_name[name] == nil then
		if cached_names >= CACHE_MAX then
			local kept = 0
			for _, t in pairs(cache) do
				for n, hit in pairs(t) do
					if hit.expires <= now then
						t[n] = nil
					else
						kept = kept + 1
					end
				end
			end
			cached_names = kept
			if kept >= CACHE_MAX then
				dns.flush()
				by_name = cache[qtype]
			end
		end
		cached_names = cached_names + 1
	end
	by_name[name] = { list = list, expires = now + ttl * 100 }
end

local function cached(qtype, name, even_stale)
	local hit = cache[qtype][name]
	if hit and (even_stale or hit.expires > skynet.now()) then
		return hit.list
	end
end

---------------------------------------------------------------------------
-- wire format

local function valid_name(name)
	if #name > NAME_MAX or not name:find("^[_%l%d%-%.]+$") then
		return false
	end
	for label in name:gmatch("[^%.]+") do
		if #label > LABEL_MAX then
			return false
		end
	end
	return true
end

local function encode_query(tid, name, qtype)
	local parts = { spack(">I2I2I2I2I2I2", tid, FLAG_RD, 1, 0, 0, 0) }
	for label in name:gmatch("[^%.]+") do
		parts[#parts + 1] = spack("s1", label)
	end
	parts[#parts + 1] = spack(">BI2I2", 0, qtype, CLASS_IN)
	return table.concat(parts)
end

-- A domain name at `pos` (1-based); returns the name and the position after it
-- in the record (compression pointers are followed, at most 64 of them).
local function read_name(msg, pos)
	local labels = {}
	local resume
	for _ = 1, 64 do
		local len = sunpack("B", msg, pos)
		if len == 0 then
			return table.concat(labels, "."), resume or pos + 1
		elseif len >= 0xc0 then
			local ptr = sunpack(">I2", msg, pos) & 0x3fff
			resume = resume or pos + 2
			pos = ptr + 1
		else
			labels[#labels + 1] = sunpack("s1", msg, pos)
			pos = pos + 1 + len
		end
	end
	error("compression loop")
end

local function address_text(qtype, rdata)
	if qtype == TYPE_A and #rdata == 4 then
		return format("%d.%d.%d.%d", sunpack("BBBB", rdata))
	elseif qtype == TYPE_AAAA and #rdata == 16 then
		return format("%x:%x:%x:%x:%x:%x:%x:%x", sunpack(">I2I2I2I2I2I2I2I2", rdata))
	end
	error("bad address record")
end

-- Decode a response: tid, question name, { [qtype] = { list, ttl } }
local function decode_response(msg)
	local tid, _, qdcount, ancount = sunpack(">I2I2I2I2", msg)
	if qdcount ~= 1 then
		error("malformed packet")
	end
	local qname, pos = read_name(msg, HEADER_SIZE + 1)
	pos = pos + 4	-- qtype, qclass
	local found = {}
	for _ = 1, ancount do
		local rtype, ttl, rdata, _
		_, pos = read_name(msg, pos)
		rtype, _, ttl, rdata, pos = sunpack(">I2I2I4s2", msg, pos)
		if rtype == TYPE_A or rtype == TYPE_AAAA then
			local set = found[rtype]
			if not set then
				set = { list = {}, ttl = ttl }
				found[rtype] = set
			end
			set.list[#set.list + 1] = address_text(rtype, rdata)
			if ttl < set.ttl then
				set.ttl = ttl
			end
		end
	end
	return tid, qname:lower(), found
end

---------------------------------------------------------------------------
-- the server and the queries in flight

local upstream = { address = nil, port = 53, fd = nil, last_use = 0 }
local pending = {}	-- tid -> { name, qtype, task, done }
local last_tid = 0

local function new_tid()
	for _ = 1, 65535 do
		last_tid = last_tid % 65535 + 1
		if pending[last_tid] == nil then
			return last_tid
		end
	end
	error("too many dns queries in flight")
end

local function finish(tid, failure)
	local q = pending[tid]
	if q then
		pending[tid] = nil
		q.done = true
		q.failure = failure
		skynet.wakeup(q.task)
	end
end

local function on_response(msg)
	if #msg < HEADER_SIZE then
		skynet.error("Recv an invalid package when dns query")
		return
	end
	local ok, tid, qname, found = pcall(decode_response, msg)
	if not ok then
		skynet.error("dns: malformed response: " .. tostring(tid))
		-- the query it answers (if its header is whole) fails now instead of timing out
		finish(sunpack(">I2", msg), "malformed response")
		return
	end
	for qtype, set in pairs(found) do
		remember(qtype, qname, set.list, set.ttl)
	end
	local q = pending[tid]
	if q == nil then
		return	-- it timed out already
	end
	if qname ~= q.name then
		skynet.error("Recv an invalid name when dns query")
	end
	local set = found[q.qtype]
	q.list = set and set.list
	finish(tid)
end

local function close_idle()
	local fd = upstream.fd
	if fd == nil then
		return
	end
	if skynet.now() - upstream.last_use > IDLE_CLOSE then
		upstream.fd = nil
		socket.close(fd)
		skynet.error(format("Udp server close %s:%s (%d)", upstream.address, upstream.port, fd))
	else
		skynet.timeout(2 * IDLE_CLOSE, close_idle)
	end
end

local function server_socket()
	upstream.last_use = skynet.now()
	if upstream.fd then
		return upstream.fd
	end
	if upstream.address == nil then
		upstream.address = first_nameserver(dns.DEFAULT_RESOLV_CONF)
		upstream.port = 53
	end
	assert(upstream.address, "Call dns.server first")
	local fd = socket.udp(function(msg)
		on_response(msg)
	end)
	local ok, err = pcall(socket.udp_connect, fd, upstream.address, upstream.port)
	if not ok then
		socket.close(fd)
		error(err)
	end
	upstream.fd = fd
	skynet.error(format("Udp server open %s:%s (%d)", upstream.address, upstream.port, fd))
	skynet.timeout(2 * IDLE_CLOSE, close_idle)
	return fd
end

function dns.server(address, port)
	upstream.address = address
	upstream.port = port or 53
end

local function ask(name, qtype)
	local fresh = cached(qtype, name)
	if fresh then
		return fresh[1], fresh
	end
	local tid = new_tid()
	local q = { name = name, qtype = qtype, task = coroutine.running() }
	pending[tid] = q
	local fd = server_socket()
	socket.write(fd, encode_query(tid, name, qtype))
	skynet.timeout(QUERY_TIMEOUT, function()
		if pending[tid] == q then
			skynet.error(format("DNS query %s timeout", name))
			finish(tid, "timeout")
		end
	end)
	skynet.wait(q.task)
	local list = q.list or cached(qtype, name, true)
	if list then
		return list[1], list
	end
	error "timeout or no answer"
end

function dns.resolve(name, ipv6)
	local key = name:lower()
	-- an address needs no lookup; a bad name gets no query
	local literal = kind_of(key) ~= "hostname"
	if literal or not valid_name(key) then
		return (literal and key or nil), (not literal and "illegal name" or nil)
	end
	local first, all = from_hosts(key, ipv6)
	if not first then
		first, all = ask(key, ipv6 and TYPE_AAAA or TYPE_A)
	end
	return first, all
end

return dns
