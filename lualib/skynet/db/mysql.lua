-- skynet.db.mysql: a MySQL / MariaDB client over skynet.socketchannel (commands pipelined in
-- order on one connection, reconnect and log in again after the connection is lost).
--
--   local db = mysql.connect { host = "127.0.0.1", port = 3306, user = "u", password = "p",
--       database = "d", charset = "utf8mb4", max_packet_size = 1024 * 1024,
--       compact_arrays = false, on_connect = function(db) end, overload = function(on) end }
--   db:query "select 1"        -- rows, an OK table, or a list of them (multiresultset)
--   local stmt = db:prepare "select ?"; db:execute(stmt, 1); db:stmt_close(stmt)
--
-- A failed statement is not raised: its result is { badresult = true, err = message,
-- errno = n, sqlstate = "xxxxx" }. A lost connection is raised (socketchannel.error).
--
-- Authentication: mysql_native_password, and the fast path of caching_sha2_password (a server
-- that asks for its full authentication, which needs TLS or RSA, is refused with a message).

local socketchannel = require "skynet.socketchannel"
local crypt = require "skynet.crypt"

local spack, sunpack = string.pack, string.unpack
local sbyte, schar, srep, sformat = string.byte, string.char, string.rep, string.format
local tconcat = table.concat
local ssub = string.sub
-- a table with room for n fields (Lua 5.5), else a plain one
local tcreate = table.create or function() return {} end
local tointeger = math.tointeger

local mysql = { _VERSION = "0.14" }
local conn = {}
local conn_mt = { __index = conn }

-- Character set names and their default collation ids.
local charset_ids = {
	_default = 0, big5 = 1, dec8 = 3, cp850 = 4, hp8 = 6, koi8r = 7, latin1 = 8, latin2 = 9,
	swe7 = 10, ascii = 11, ujis = 12, sjis = 13, hebrew = 16, tis620 = 18, euckr = 19,
	koi8u = 22, gb2312 = 24, greek = 25, cp1250 = 26, gbk = 28, latin5 = 30, armscii8 = 32,
	utf8 = 33, ucs2 = 35, cp866 = 36, keybcs2 = 37, macce = 38, macroman = 39, cp852 = 40,
	latin7 = 41, utf8mb4 = 45, cp1251 = 51, utf16 = 54, utf16le = 56, cp1256 = 57,
	cp1257 = 59, utf32 = 60, binary = 63, geostd8 = 92, cp932 = 95, eucjpms = 97,
	gb18030 = 248,
}

-- Capability flags (client side).
local CAP = {
	LONG_PASSWORD = 0x1, FOUND_ROWS = 0x2, LONG_FLAG = 0x4, CONNECT_WITH_DB = 0x8,
	IGNORE_SPACE = 0x100, PROTOCOL_41 = 0x200, INTERACTIVE = 0x400, IGNORE_SIGPIPE = 0x1000,
	TRANSACTIONS = 0x2000, SECURE_CONNECTION = 0x8000, MULTI_STATEMENTS = 0x10000,
	MULTI_RESULTS = 0x20000, PS_MULTI_RESULTS = 0x40000, PLUGIN_AUTH = 0x80000,
}

local MORE_RESULTS = 0x8	-- SERVER_MORE_RESULTS_EXISTS in a status word
local UNSIGNED = 0x20	-- a column flag
local MAX_CHUNK = 0xffffff	-- the largest payload of one packet

---------------------------------------------------------------------------------------------
-- SHA-256 (for caching_sha2_password)

local sha256
do
	local K = {
		0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
		0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
		0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
		0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
		0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
		0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
		0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
		0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
		0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
		0xc67178f2,
	}
	local M32 = 0xffffffff
	local function rotr(x, n)
		return ((x >> n) | (x << (32 - n))) & M32
	end
	function sha256(msg)
		local h = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
			0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 }
		local bits = #msg * 8
		msg = msg .. "\x80" .. srep("\0", (55 - #msg) % 64) .. spack(">I8", bits)
		local w = {}
		for base = 1, #msg, 64 do
			for i = 1, 16 do
				w[i] = sunpack(">I4", msg, base + (i - 1) * 4)
			end
			for i = 17, 64 do
				local x, y = w[i - 15], w[i - 2]
				local s0 = rotr(x, 7) ~ rotr(x, 18) ~ (x >> 3)
				local s1 = rotr(y, 17) ~ rotr(y, 19) ~ (y >> 10)
				w[i] = (w[i - 16] + s0 + w[i - 7] + s1) & M32
			end
			local a, b, c, d, e, f, g, hh = h[1], h[2], h[3], h[4], h[5], h[6], h[7], h[8]
			for i = 1, 64 do
				local t1 = hh + (rotr(e, 6) ~ rotr(e, 11) ~ rotr(e, 25))
					+ ((e & f) ~ ((~e) & g)) + K[i] + w[i]
				local t2 = (rotr(a, 2) ~ rotr(a, 13) ~ rotr(a, 22)) + ((a & b) ~ (a & c) ~ (b & c))
				hh, g, f = g, f, e
				e = (d + t1) & M32
				d, c, b = c, b, a
				a = (t1 + t2) & M32
			end
			h[1], h[2], h[3], h[4] = (h[1] + a) & M32, (h[2] + b) & M32, (h[3] + c) & M32, (h[4] + d) & M32
			h[5], h[6], h[7], h[8] = (h[5] + e) & M32, (h[6] + f) & M32, (h[7] + g) & M32, (h[8] + hh) & M32
		end
		return spack(">I4I4I4I4I4I4I4I4", h[1], h[2], h[3], h[4], h[5], h[6], h[7], h[8])
	end
end
mysql._sha256 = sha256

local function xor_bytes(a, b)
	local out = {}
	for i = 1, #a do
		out[i] = schar(sbyte(a, i) ~ sbyte(b, (i - 1) % #b + 1))
	end
	return tconcat(out)
end

-- The auth response of each plugin, from the password and the server's scramble.
local auth_plugins = {
	mysql_native_password = function(password, scramble)
		if password == "" then
			return ""
		end
		local p1 = crypt.sha1(password)
		return xor_bytes(p1, crypt.sha1(scramble .. crypt.sha1(p1)))
	end,
	caching_sha2_password = function(password, scramble)
		if password == "" then
			return ""
		end
		local p1 = sha256(password)
		return xor_bytes(p1, sha256(sha256(p1) .. scramble))
	end,
}

mysql._auth_plugins = auth_plugins	-- for tests

---------------------------------------------------------------------------------------------
-- wire format

-- A length-encoded integer at pos: value (nil for the NULL marker), next position.
local function lenenc_int(s, pos)
	local b = sbyte(s, pos)
	if b == nil then
		return nil, pos
	elseif b < 0xfb then
		return b, pos + 1
	elseif b == 0xfb then
		return nil, pos + 1
	elseif b == 0xfc then
		return sunpack("<I2", s, pos + 1)
	elseif b == 0xfd then
		return sunpack("<I3", s, pos + 1)
	elseif b == 0xfe then
		return sunpack("<I8", s, pos + 1)
	end
	error(sformat("mysql: bad length-encoded integer 0x%02x", b))
end

local function lenenc_str(s, pos)
	local n
	n, pos = lenenc_int(s, pos)
	if n == nil then
		return nil, pos
	end
	return s:sub(pos, pos + n - 1), pos + n
end

local function lenenc_prefix(n)
	if n < 0xfb then
		return schar(n)
	elseif n <= 0xffff then
		return spack("<BI2", 0xfc, n)
	elseif n <= 0xffffff then
		return spack("<BI3", 0xfd, n)
	end
	return spack("<BI8", 0xfe, n)
end

-- payload framed into packets (split at 16 MB), numbered from seq.
local function frame(payload, seq)
	local parts = {}
	local pos, len = 1, #payload
	while true do
		local n = len - pos + 1
		if n > MAX_CHUNK then
			n = MAX_CHUNK
		end
		parts[#parts + 1] = spack("<I3B", n, seq & 0xff) .. payload:sub(pos, pos + n - 1)
		seq = seq + 1
		pos = pos + n
		if n < MAX_CHUNK then
			break
		end
	end
	return tconcat(parts)
end

-- Packets are cut from whatever the socket has received, taken in one read, so that a reply
-- of many packets (a row each) costs a few reads instead of two per packet. The bytes past
-- the packet being read (the rest of the reply, or the next reply) wait in the link's
-- entry here for its next read_packet: { bytes, position of the first unread one }. A new
-- link (a reconnection) starts empty.
local unread = setmetatable({}, { __mode = "k" })

-- One packet part: length, sequence number, payload.
local function read_part(sock)
	local u = unread[sock]
	if u == nil then
		u = { "", 1 }
		unread[sock] = u
	end
	local buf, pos = u[1], u[2]
	while #buf - pos < 3 do	-- less than a header: take what came in, waiting for some
		buf, pos = ssub(buf, pos) .. sock:read(), 1
	end
	local len, seq = sunpack("<I3B", buf, pos)
	pos = pos + 4
	local body
	local have = #buf - pos + 1
	if have >= len then
		body = ssub(buf, pos, pos + len - 1)
		pos = pos + len
		if pos > #buf then
			buf, pos = "", 1
		end
	else	-- the payload is still coming: read exactly the rest of it
		body = ssub(buf, pos) .. sock:read(len - have)
		buf, pos = "", 1
	end
	u[1], u[2] = buf, pos
	return len, seq, body
end

-- One logical packet: payload, sequence number of its last part.
local function read_packet(sock)
	local len, seq, body = read_part(sock)
	if len < MAX_CHUNK then
		return body, seq
	end
	local parts = { body }
	repeat
		len, seq, body = read_part(sock)
		parts[#parts + 1] = body
	until len < MAX_CHUNK
	return tconcat(parts), seq
end

local function is_err(p) return sbyte(p, 1) == 0xff end
local function is_eof(p) return sbyte(p, 1) == 0xfe and #p < 9 end
local function is_ok(p) return sbyte(p, 1) == 0x00 end

-- ERR packet: message, errno, sqlstate
local function parse_err(p)
	local errno = sunpack("<I2", p, 2)
	if p:sub(4, 4) == "#" then
		return p:sub(10), errno, p:sub(5, 9)
	end
	return p:sub(4), errno, nil
end

local function parse_ok(p)
	local res = {}
	local pos
	res.affected_rows, pos = lenenc_int(p, 2)
	res.insert_id, pos = lenenc_int(p, pos)
	res.server_status, res.warning_count, pos = sunpack("<I2I2", p, pos)
	local info = p:sub(pos)
	if info ~= "" then
		res.message = info
	end
	return res
end

-- The status word of an EOF packet.
local function eof_status(p)
	if #p >= 5 then
		return (sunpack("<I2", p, 4))
	end
	return 0
end

local function parse_column(p)
	local pos = 1
	for _ = 1, 4 do	-- catalog, schema, table, org_table
		local n
		n, pos = lenenc_int(p, pos)
		pos = pos + (n or 0)
	end
	local col = {}
	col.name, pos = lenenc_str(p, pos)
	local _, after = lenenc_str(p, pos)	-- org_name
	pos = select(2, lenenc_int(p, after))	-- length of the fixed fields (0x0c)
	local _, _, typ, flags = sunpack("<I2I4BI2", p, pos)
	col.type = typ
	if flags & UNSIGNED == 0 then
		col.is_signed = true
	end
	return col
end

---------------------------------------------------------------------------------------------
-- result sets

-- Text protocol values that come back as numbers.
local numeric_text = {
	[0x01] = true, [0x02] = true, [0x03] = true, [0x04] = true, [0x05] = true,
	[0x08] = true, [0x09] = true, [0x0d] = true, [0xf6] = true,
}

-- Each column's key in a row and whether its text is a number, worked out once per result.
local function column_plan(cols, compact)
	local keys, nums = {}, {}
	for i = 1, #cols do
		local col = cols[i]
		keys[i] = compact and i or col.name
		nums[i] = numeric_text[col.type] or false
	end
	cols.keys, cols.nums = keys, nums
	return keys, nums
end

local function text_row(p, cols, compact)
	local keys, nums = cols.keys, cols.nums
	if keys == nil then
		keys, nums = column_plan(cols, compact)
	end
	local n = #keys
	local row, pos = tcreate(compact and n or 0, compact and 0 or n), 1
	for i = 1, n do
		local v
		local len = sbyte(p, pos)
		if len ~= nil and len < 0xfb then	-- a length in one byte: most values
			v = ssub(p, pos + 1, pos + len)
			pos = pos + 1 + len
		else
			v, pos = lenenc_str(p, pos)
		end
		if v ~= nil and nums[i] then
			v = tonumber(v)
		end
		row[keys[i]] = v
	end
	return row
end

local function fixed(fmt_signed, fmt_unsigned)
	return function(p, pos, col)
		return sunpack(col.is_signed and fmt_signed or fmt_unsigned, p, pos)
	end
end

local function datetime(p, pos)
	local n = sbyte(p, pos)
	pos = pos + 1
	local y, mo, d, h, mi, s, us = 0, 0, 0, 0, 0, 0, 0
	if n >= 4 then
		y, mo, d = sunpack("<I2BB", p, pos)
	end
	if n >= 7 then
		h, mi, s = sunpack("BBB", p, pos + 4)
	end
	if n >= 11 then
		us = sunpack("<I4", p, pos + 7)
	end
	local v = sformat("%04d-%02d-%02d %02d:%02d:%02d", y, mo, d, h, mi, s)
	if us ~= 0 then
		v = v .. sformat(".%06d", us)
	end
	return v, pos + n
end

local function date(p, pos)
	local n = sbyte(p, pos)
	local y, mo, d = 0, 0, 0
	if n >= 4 then
		y, mo, d = sunpack("<I2BB", p, pos + 1)
	end
	return sformat("%04d-%02d-%02d", y, mo, d), pos + 1 + n
end

local function time(p, pos)
	local n = sbyte(p, pos)
	local neg, days, h, mi, s, us = 0, 0, 0, 0, 0, 0
	if n >= 8 then
		neg, days, h, mi, s = sunpack("<BI4BBB", p, pos + 1)
	end
	if n >= 12 then
		us = sunpack("<I4", p, pos + 9)
	end
	local v = sformat("%s%02d:%02d:%02d", neg == 1 and "-" or "", days * 24 + h, mi, s)
	if us ~= 0 then
		v = v .. sformat(".%06d", us)
	end
	return v, pos + 1 + n
end

-- Binary protocol decoders by column type; anything else is a length-encoded string.
local binary_decoders = {
	[0x01] = fixed("<i1", "<I1"),
	[0x02] = fixed("<i2", "<I2"),
	[0x0d] = fixed("<i2", "<I2"),
	[0x03] = fixed("<i4", "<I4"),
	[0x09] = fixed("<i4", "<I4"),
	[0x08] = fixed("<i8", "<I8"),
	[0x04] = function(p, pos) return sunpack("<f", p, pos) end,
	[0x05] = function(p, pos) return sunpack("<d", p, pos) end,
	[0x07] = datetime,
	[0x0c] = datetime,
	[0x0a] = date,
	[0x0b] = time,
}

local function binary_row(p, cols, compact)
	local ncols = #cols
	local pos = 2 + (ncols + 9) // 8
	local row = {}
	for i = 1, ncols do
		local bit = i + 1
		local col = cols[i]
		if sbyte(p, 2 + bit // 8) & (1 << (bit % 8)) == 0 then
			local decode = binary_decoders[col.type] or lenenc_str
			local v
			v, pos = decode(p, pos, col)
			row[compact and i or col.name] = v
		end
	end
	return row
end

-- Reads one result: (result, more) or (nil, err, errno, sqlstate). more is true when the
-- server says another result follows.
local function read_result(sock, compact, decode_row)
	local p = read_packet(sock)
	if is_err(p) then
		return nil, parse_err(p)
	end
	if is_ok(p) then
		local res = parse_ok(p)
		return res, res.server_status & MORE_RESULTS ~= 0
	end
	if sbyte(p, 1) == 0xfb then
		return nil, "LOCAL INFILE is not supported"
	end
	local ncols = lenenc_int(p, 1)
	local cols = {}
	for i = 1, ncols do
		p = read_packet(sock)
		if is_err(p) then
			return nil, parse_err(p)
		end
		cols[i] = parse_column(p)
	end
	p = read_packet(sock)	-- the EOF after the columns
	if not is_eof(p) then
		return nil, "unexpected packet while an EOF packet is expected"
	end
	local rows, n = {}, 0
	while true do
		p = read_packet(sock)
		local b = sbyte(p, 1)
		if b == 0xfe and #p < 9 then	-- EOF
			return rows, eof_status(p) & MORE_RESULTS ~= 0
		elseif b == 0xff then
			return nil, parse_err(p)
		end
		n = n + 1
		rows[n] = decode_row(p, cols, compact)
	end
end

local function bad(t, err, errno, sqlstate)
	t.badresult = true
	t.err = err
	t.errno = errno
	t.sqlstate = sqlstate
	return t
end

-- The reader of a command's reply: one result, or all of them when there are several.
local function results_reader(db, decode_row, multi_keys)
	return function(sock)
		local compact = db.compact
		local res, more, errno, sqlstate = read_result(sock, compact, decode_row)
		if res == nil then
			return true, bad({}, more, errno, sqlstate)
		end
		if not more then
			return true, res
		end
		local all = { res }
		for _, k in ipairs(multi_keys) do
			all[k] = true
		end
		while more do
			res, more, errno, sqlstate = read_result(sock, compact, decode_row)
			if res == nil then
				return true, bad(all, more, errno, sqlstate)
			end
			all[#all + 1] = res
		end
		return true, all
	end
end

---------------------------------------------------------------------------------------------
-- connecting

-- One packet of the login conversation: { payload = p, seq = n }.
local function login_packet(sock)
	local p, seq = read_packet(sock)
	return true, { payload = p, seq = seq }
end

local function login_error(p)
	local msg, errno, sqlstate = parse_err(p)
	return sformat("errno:%d, msg:%s,sqlstate:%s", errno, msg, sqlstate)
end

local function parse_greeting(db, p)
	if is_err(p) then
		error(login_error(p), 0)
	end
	local g = {}
	local pos
	g.protocol, g.version, pos = sunpack("Bz", p)
	local scramble1
	g.thread_id, scramble1, pos = sunpack("<I4c8", p, pos)
	pos = pos + 1	-- filler
	local caps
	caps, pos = sunpack("<I2", p, pos)
	local scramble = scramble1
	if pos <= #p then
		local hi, authlen
		g.charset, g.status, hi, authlen, pos = sunpack("<BI2I2B", p, pos)
		caps = caps | (hi << 16)
		pos = pos + 10	-- reserved
		if caps & CAP.SECURE_CONNECTION ~= 0 then
			local n = math.max(13, authlen - 8)
			scramble = scramble .. p:sub(pos, pos + n - 2)	-- without its terminating NUL
			pos = pos + n
		end
		if caps & CAP.PLUGIN_AUTH ~= 0 and pos <= #p then
			g.plugin = sunpack("z", p, pos)
		end
	end
	g.caps = caps
	g.scramble = scramble
	db.protocol_ver = g.protocol
	db._server_ver = g.version
	return g
end

local function auth_response(plugin, password, scramble)
	local f = auth_plugins[plugin]
	if f == nil then
		error("mysql: authentication plugin " .. tostring(plugin) .. " is not supported", 0)
	end
	return f(password, scramble)
end

local function login(db, opts)
	local user = opts.user or ""
	local password = opts.password or ""
	local database = opts.database or ""
	local charset = charset_ids[opts.charset or "_default"]
	if charset == nil then
		error("mysql: unknown charset " .. tostring(opts.charset))
	end
	local on_connect = opts.on_connect
	return function(ch)
		local hello = ch:response(login_packet)
		local g = parse_greeting(db, hello.payload)
		-- opts._auth_plugin (tests only) answers the greeting with another plugin, so that the
		-- server asks to switch
		local plugin = opts._auth_plugin or g.plugin or "mysql_native_password"
		local flags = CAP.LONG_PASSWORD | CAP.FOUND_ROWS | CAP.LONG_FLAG | CAP.CONNECT_WITH_DB
			| CAP.IGNORE_SPACE | CAP.PROTOCOL_41 | CAP.INTERACTIVE | CAP.IGNORE_SIGPIPE
			| CAP.TRANSACTIONS | CAP.SECURE_CONNECTION | CAP.MULTI_STATEMENTS
			| CAP.MULTI_RESULTS | CAP.PS_MULTI_RESULTS
		if g.caps & CAP.PLUGIN_AUTH ~= 0 then
			flags = flags | CAP.PLUGIN_AUTH
		end
		local token = auth_response(plugin, password, g.scramble)
		local body = spack("<I4I4Bc23zs1z", flags, db._max_packet_size, charset, srep("\0", 23),
			user, token, database)
		if flags & CAP.PLUGIN_AUTH ~= 0 then
			body = body .. plugin .. "\0"
		end
		local reply = ch:request(frame(body, hello.seq + 1), login_packet)
		while true do
			local p = reply.payload
			local head = sbyte(p, 1)
			if head == 0x00 then
				break
			elseif head == 0xff then
				error(login_error(p), 0)
			elseif head == 0xfe then
				-- switch to another plugin, with a new scramble
				local pos
				plugin, pos = sunpack("z", p, 2)
				local scramble = p:sub(pos)
				if scramble:sub(-1) == "\0" then
					scramble = scramble:sub(1, -2)
				end
				token = auth_response(plugin, password, scramble)
				reply = ch:request(frame(token, reply.seq + 1), login_packet)
			elseif head == 0x01 and plugin == "caching_sha2_password" then
				local step = sbyte(p, 2)
				if step == 3 then	-- fast authentication succeeded: an OK packet follows
					reply = ch:response(login_packet)
				else
					error("mysql: caching_sha2_password needs its full authentication"
						.. " (TLS or an RSA key), which this driver does not support", 0)
				end
			else
				error(sformat("mysql: unexpected packet 0x%02x during authentication", head), 0)
			end
		end
		if on_connect then
			on_connect(db)
		end
	end
end

function mysql.connect(opts)
	local db = setmetatable({}, conn_mt)
	db._max_packet_size = opts.max_packet_size or 1024 * 1024
	db.compact = opts.compact_arrays
	local ch = socketchannel.channel {
		host = opts.host,
		port = opts.port or 3306,
		auth = login(db, opts),
		overload = opts.overload,
	}
	db.sockchannel = ch
	ch:connect(true)	-- one try: a failure is raised here
	return db
end

---------------------------------------------------------------------------------------------
-- commands

local COM_QUERY, COM_PING = 0x03, 0x0e
local COM_STMT_PREPARE, COM_STMT_EXECUTE = 0x16, 0x17
local COM_STMT_CLOSE, COM_STMT_RESET = 0x19, 0x1a

local function command(code, body)
	return frame(schar(code) .. (body or ""), 0)
end

local function text_reader(db)
	local r = db._text_reader
	if not r then
		r = results_reader(db, text_row, { "multiresultset" })
		db._text_reader = r
	end
	return r
end

function conn:disconnect()
	self.sockchannel:close()
	setmetatable(self, nil)
end

function conn:query(sql)
	return self.sockchannel:request(command(COM_QUERY, sql), text_reader(self))
end

function conn:ping()
	return self.sockchannel:request(command(COM_PING), text_reader(self))
end

-- Column definitions up to (and with) their EOF packet.
local function read_columns(sock, n)
	local list = {}
	if n > 0 then
		while true do
			local p = read_packet(sock)
			if is_eof(p) or is_err(p) then
				break
			end
			list[#list + 1] = parse_column(p)
		end
	end
	return list
end

local function read_prepared(sock)
	local p = read_packet(sock)
	if is_err(p) then
		return true, bad({}, parse_err(p))
	end
	if not is_ok(p) then
		return true, bad({}, "unexpected reply to COM_STMT_PREPARE", 300201)
	end
	local stmt = {}
	stmt.prepare_id, stmt.field_count, stmt.param_count, stmt.warning_count =
		sunpack("<I4I2I2xI2", p, 2)
	stmt.params = read_columns(sock, stmt.param_count)
	stmt.fields = read_columns(sock, stmt.field_count)
	return true, stmt
end

function conn:prepare(sql)
	return self.sockchannel:request(command(COM_STMT_PREPARE, sql), read_prepared)
end

-- The type and value bytes of one parameter.
local function bind_param(v)
	local t = type(v)
	if t == "number" then
		local i = tointeger(v)
		if i then
			return spack("<I2", 0x08), spack("<i8", i)
		end
		return spack("<I2", 0x05), spack("<d", v)
	elseif t == "string" then
		return spack("<I2", 0x0f), lenenc_prefix(#v) .. v
	elseif t == "boolean" then
		return spack("<I2", 0x01), schar(v and 1 or 0)
	elseif t == "nil" then
		return spack("<I2", 0x06), ""
	end
	error("invalid parameter type " .. t, 3)
end

function conn:execute(stmt, ...)
	local n = select("#", ...)
	if n ~= stmt.param_count then
		error("require stmt.param_count " .. tostring(stmt.param_count) .. " get arg_num " .. n, 2)
	end
	local parts = { spack("<I4BI4", stmt.prepare_id, 0, 1) }
	if n > 0 then
		local nulls, types, values = {}, {}, {}
		for byte = 1, (n + 7) // 8 do
			nulls[byte] = 0
		end
		for i = 1, n do
			local v = select(i, ...)
			if v == nil then
				local byte = (i - 1) // 8 + 1
				nulls[byte] = nulls[byte] | (1 << ((i - 1) % 8))
			end
			types[i], values[i] = bind_param(v)
		end
		for byte = 1, #nulls do
			nulls[byte] = schar(nulls[byte])
		end
		parts[2] = tconcat(nulls)
		parts[3] = "\1"	-- the types follow
		parts[4] = tconcat(types)
		parts[5] = tconcat(values)
	end
	local reader = self._binary_reader
	if not reader then
		-- upstream's results carry the key "mulitresultset": both spellings are set
		reader = results_reader(self, binary_row, { "multiresultset", "mulitresultset" })
		self._binary_reader = reader
	end
	return self.sockchannel:request(command(COM_STMT_EXECUTE, tconcat(parts)), reader)
end

function conn:stmt_reset(stmt)
	return self.sockchannel:request(command(COM_STMT_RESET, spack("<I4", stmt.prepare_id)),
		text_reader(self))
end

function conn:stmt_close(stmt)
	-- the server sends no reply
	return self.sockchannel:request(command(COM_STMT_CLOSE, spack("<I4", stmt.prepare_id)))
end

function conn:server_ver()
	return self._server_ver
end

function conn:set_compact_arrays(on)
	self.compact = on
end

local quote_map = {
	["\0"] = "\\0", ["\b"] = "\\b", ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t",
	["\26"] = "\\Z", ["\\"] = "\\\\", ["'"] = "\\'", ['"'] = '\\"',
}

function mysql.quote_sql_str(s)
	return "'" .. s:gsub("[\0\b\n\r\t\26\\'\"]", quote_map) .. "'"
end

return mysql
