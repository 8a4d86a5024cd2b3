-- The sproto suite, run as the start service of a node (tests/sproto/run.sh). Each check
-- prints "ok <what>" or "TEST FAIL <what>"; the last line is "SPROTO DONE".
local skynet = require "skynet"
require "skynet.manager"
local sproto = require "sproto"
local core = require "sproto.core"
local parser = require "sprotoparser"
local sprotoloader = require "sprotoloader"
local cases = require "cases"
local vectors = require "vectors"

local hex, show = cases.hex, cases.show
local failed = 0

local function check(cond, what, ...)
	if cond then
		print("ok " .. what)
	else
		failed = failed + 1
		print("TEST FAIL " .. what, ...)
	end
	return cond
end

local function unhex(h)
	return (h:gsub("..", function(x) return string.char(tonumber(x, 16)) end))
end

-- pcall that must fail, with a message containing pattern (plain text)
local function fails(what, pattern, f, ...)
	local ok, err = pcall(f, ...)
	check(not ok and string.find(tostring(err), pattern, 1, true) ~= nil, what, ok, err)
	return err
end

local objects = {}

local function test_vectors()
	for i, text in ipairs(cases.schemas) do
		local bin = parser.parse(text)
		check(hex(bin) == vectors.parsed[i], "parser: schema " .. i .. " is byte-identical to upstream's",
			hex(bin), vectors.parsed[i])
		objects[i] = sproto.new(bin)
	end
	for i, c in ipairs(cases.messages) do
		local sp, name, msg = objects[c[1]], c[2], c[3]
		local want = vectors.messages[i]
		local label = string.format("message %d (%s)", i, name)
		local ok, bytes = pcall(sp.encode, sp, name, msg)
		if check(ok, label .. " encodes", bytes) then
			if want.encoded then
				check(hex(bytes) == want.encoded, label .. ": encode is byte-identical", hex(bytes), want.encoded)
				local packed = sproto.pack(bytes)
				check(hex(packed) == want.packed, label .. ": pack is byte-identical", hex(packed), want.packed)
				local up = unhex(want.encoded)
				local t, used = sp:decode(name, up)
				check(show(t) == want.decoded and used == #up, label .. ": decodes upstream's bytes",
					show(t), want.decoded)
				local t2 = sp:pdecode(name, unhex(want.packed))
				check(show(t2) == want.decoded, label .. ": pdecode of upstream's packed bytes")
				check(sp:pencode(name, msg) == unhex(want.packed), label .. ": pencode")
			else
				local t = sp:decode(name, bytes)
				check(show(t) == want.decoded, label .. ": round trip equals upstream's", show(t), want.decoded)
			end
		end
	end
	local inputs = cases.pack_inputs()
	local good, unp = 0, 0
	for i, s in ipairs(inputs) do
		local p = sproto.pack(s)
		local want = vectors.packed[i]
		if hex(p) == want.packed then
			good = good + 1
		else
			print("pack differs", i, #s, hex(p), want.packed)
		end
		local u = sproto.unpack(p)
		if #u == want.unpacked and u:sub(1, #s) == s and u:sub(#s + 1) == string.rep("\0", #u - #s) then
			unp = unp + 1
		end
	end
	check(good == #inputs, "pack: " .. #inputs .. " byte strings packed as upstream's", good)
	check(unp == #inputs, "unpack: " .. #inputs .. " packed strings give the input, zero-padded to 8", unp)
	for k, want in pairs(vectors.defaults) do
		local name, which = k:match "^(.-)%.(%u+)$"
		local got
		if name then
			got = objects[2]:default(name, which)
		else
			got = objects[1]:default(k)
		end
		check(show(got) == want, "default " .. k, show(got), want)
	end
end

local function test_rpc()
	local sp = objects[2]
	local client = sp:host "package"
	local request = client:attach(sp)
	local server = sp:host()
	local v = vectors.rpc
	local req = request("foobar", { name = "Alice", id = 3 }, 1, "u1")
	check(hex(req) == v["foobar.request"], "rpc: attach encodes foobar as upstream's", hex(req))
	local kind, name, args, respond, ud = server:dispatch(req)
	check(kind == "REQUEST" and name == "foobar" and args.name == "Alice" and args.id == 3 and ud == "u1"
		and type(respond) == "function", "rpc: dispatch of a request", kind, name, ud)
	local resp = respond({ ok = true }, "back")
	check(hex(resp) == v["foobar.response"], "rpc: response bytes as upstream's", hex(resp))
	local k2, session, result, ud2 = client:dispatch(resp)
	check(k2 == "RESPONSE" and session == 1 and result.ok == true and ud2 == "back", "rpc: dispatch of a response",
		k2, session, ud2)
	fails("rpc: a response for a session already answered", "Unknown session", client.dispatch, client, resp)

	req = request("book", { others = { { name = "x" } } }, 2)
	check(hex(req) == v["book.request"], "rpc: book request bytes")
	kind, name, args, respond = server:dispatch(req)
	check(name == "book" and args.others[1].name == "x", "rpc: book request decoded")
	resp = respond({ others = {} })
	check(hex(resp) == v["book.response"], "rpc: book response bytes")
	k2, session, result = client:dispatch(resp)
	check(session == 2 and #result.others == 0, "rpc: book response decoded")

	req = request("bar", nil, 3)
	check(hex(req) == v["bar.request"], "rpc: bar (response nil) request bytes")
	kind, name, args, respond = server:dispatch(req)
	check(name == "bar" and args == nil and respond, "rpc: bar has a responder")
	resp = respond()
	check(hex(resp) == v["bar.response"], "rpc: bar response bytes")
	k2, session, result = client:dispatch(resp)
	check(k2 == "RESPONSE" and session == 3 and result == nil, "rpc: bar response has no content")

	req = request("blackhole", nil, nil)
	check(hex(req) == v["blackhole.request"], "rpc: blackhole request bytes")
	kind, name, args, respond = server:dispatch(req)
	check(kind == "REQUEST" and name == "blackhole" and respond == nil, "rpc: no session, no responder")

	-- by tag, the lower-level API, errors
	local p = sp:queryproto(10)
	check(p.name == "book" and p.tag == 10 and p.request and p.response, "queryproto by tag")
	check(sp:queryproto("foo").request == nil, "queryproto: a protocol without request")
	check(sp:exist_proto("foobar") and sp:exist_proto(4) and not sp:exist_proto("nope")
		and not sp:exist_proto(99), "exist_proto")
	check(sp:exist_type("Person.PhoneNumber") and not sp:exist_type("PhoneNumber"), "exist_type")
	local bytes, tag = sp:request_encode("foobar", { name = "Z" })
	check(tag == 1 and sp:request_decode("foobar", bytes).name == "Z", "request_encode/decode")
	check(select(2, sp:request_decode("foobar", bytes)) == "foobar", "request_decode returns the name")
	check(sp:response_decode("foobar", sp:response_encode("foobar", { ok = true })).ok == true,
		"response_encode/decode")
	check(sp:response_encode("bar") == "" and sp:request_encode("blackhole") == "", "empty bodies encode to \"\"")
	fails("unknown protocol", "nope not found", sp.request_encode, sp, "nope", {})
	fails("unknown type", "type not found", sp.encode, sp, "Nope", {})
	fails("host without its package type", "not found", sp.host, objects[1])
	fails("default with a bad kind", "Invalid type", sp.default, sp, "foobar", "BOTH")
	local tag2, req_t, resp_t = core.protocol(sp.__cobj, "bar")
	check(tag2 == 3 and req_t == nil and type(resp_t) == "userdata", "core.protocol: response nil is a NULL userdata")
	check(core.encode(resp_t, nil) == "" and select("#", core.decode(resp_t, "")) == 0, "core: NULL type encodes \"\"")
end

local function test_api()
	local sp = objects[1]
	-- decode into a given table, and from a C pointer
	local bytes = sp:encode("Person", { name = "P", age = 1 })
	local into = { keep = 1 }
	local t, used = sp:decode("Person", bytes .. "trailing", into)
	check(t == into and t.keep == 1 and t.name == "P" and used == #bytes, "decode fills a given table, reports bytes used")
	local ptr, sz = skynet.pack(bytes)
	local copy = skynet.tostring(ptr, sz)
	local u1 = table.pack(pcall(core.unpack, ptr, sz))
	local u2 = table.pack(pcall(core.unpack, copy))
	check(u1[1] == u2[1] and u1[2] == u2[2], "unpack reads a C pointer and size", u1[2], u2[2])
	local d1 = table.pack(pcall(core.decode, core.querytype(sp.__cobj, "Person"), ptr, sz))
	local d2 = table.pack(pcall(core.decode, core.querytype(sp.__cobj, "Person"), copy))
	check(d1[1] == d2[1] and show(d1[2]) == show(d2[2]), "decode reads a C pointer and size")
	check(core.pack(ptr, sz) == core.pack(skynet.tostring(ptr, sz)), "pack reads a C pointer and size")
	skynet.trash(ptr, sz)
	-- the encode errors name the type and field
	fails("encode: a string for an integer", "Person.age", sp.encode, sp, "Person", { age = "x" })
	fails("encode: a float for an integer", "is not an integer", sp.encode, sp, "Person", { age = 1.5 })
	fails("encode: a number for a string", "is not a string", sp.encode, sp, "Person", { name = 1 })
	fails("encode: a number for a boolean", "is not a boolean", sp.encode, sp, "Person", { marital = 0 })
	fails("encode: a string for an array", "should be a table", sp.encode, sp, "Person", { children = "x" })
	fails("encode: an array element of the wrong type", "Data.numbers[2]", sp.encode, sp, "Data", { numbers = { 1, "a" } })
	fails("encode: a number for a struct", "Data.sub should be a table", sp.encode, sp, "Data", { sub = 3 })
	fails("encode: not a table", "table expected", sp.encode, sp, "Person", 3)
	local loop = { name = "loop" }
	loop.children = { loop }
	fails("encode: a cyclic table is too deep", "too deep", sp.encode, sp, "Person", loop)
	fails("encode: larger than 16 MiB", "too large", sp.encode, sp, "Data", { bin = string.rep("x", 0x1000001) })
	-- a value with __index and __pairs
	local proxy = setmetatable({}, { __index = { name = "proxy", age = 9 } })
	local d = sp:decode("Person", sp:encode("Person", proxy))
	check(d.name == "proxy" and d.age == 9, "encode reads fields through __index")
	local items = { [1] = { id = 1 }, [2] = { id = 2 } }
	local through = setmetatable({}, { __pairs = function() return next, items, nil end })
	d = sp:decode("M", sp:encode("M", { byid = through }))
	check(d.byid[1].id == 1 and d.byid[2].id == 2, "a keyed array is read through __pairs")
	-- reentrant encode: __index calls encode
	local inner = setmetatable({}, { __index = function(_, k)
		if k == "name" then
			return hex(sp:encode("Person", { name = "in" }))
		end
	end })
	d = sp:decode("Person", sp:encode("Person", inner))
	check(d.name == hex(sp:encode("Person", { name = "in" })), "encode called from a metamethod of encode")
	-- big messages round trip (scratch buffer growth)
	local many = {}
	for i = 1, 20000 do
		many[i] = i * 7919
	end
	d = sp:decode("Data", sp:encode("Data", { numbers = many, strs = { string.rep("s", 100000) } }))
	check(#d.numbers == 20000 and d.numbers[20000] == 20000 * 7919 and #d.strs[1] == 100000, "large arrays round trip")
	-- decode of keyed arrays: missing key
	local mp = objects[1]
	local noid = mp:encode("M", { byid = { { name = "no id" } } })
	fails("decode: an element without its main index", "Can't find main index", mp.decode, mp, "M", noid)
	-- dumpproto does not fail
	check(pcall(core.dumpproto, objects[5].__cobj), "dumpproto")
	-- sharenew: no __gc
	local c = core.newproto(parser.parse(cases.schemas[5]))
	local s1 = sproto.sharenew(c)
	check(getmetatable(s1).__gc == nil and s1:exist_type("T"), "sharenew wraps without __gc")
	core.deleteproto(c)
	local bad_schema_ok, bad_schema_err = pcall(sproto.new, "\1\2\3")
	check(not bad_schema_ok and tostring(bad_schema_err):find "invalid", "new: an invalid schema binary is an error", bad_schema_err)
end

local function test_parser_errors()
	local function perr(what, text, pattern)
		fails("parser: " .. what, pattern, parser.parse, text)
	end
	perr("syntax error names the line", ".A {\n a 0 : integer\n b : string\n}", "syntax error at [=text] line (3)")
	perr("syntax error names the file", ".A { a 0 integer }", "line (1)")
	fails("parser: the given file name", "[my.sproto] line (2)", parser.parse, "\n.A { a }", "my.sproto")
	perr("unclosed type", ".A {\n a 0 : integer\n", "line (3)")
	perr("bad character", ".A {\n\n a 0 : integer; }", "line (3)")
	perr("undefined type", ".A { a 0 : Nope }", "Undefined type Nope in type A")
	perr("redefined field", ".A { a 0 : integer a 1 : integer }", "redefine a in type A")
	perr("redefined tag", ".A { a 0 : integer b 0 : integer }", "redefine tag 0 in type A")
	perr("redefined type", ".A { }\n.A { }", "redefined A")
	perr("redefined protocol tag", ".A { }\np 1 { }\nq 1 { }", "redefined protocol tag 1")
	perr("undefined request", "p 1 { request X }", "Undefined request type X in protocol p")
	perr("map of three fields", ".E { a 0 : integer b 1 : integer c 2 : integer }\n.A { m 0 : *E() }", "Invalid map definition")
	perr("unknown main index", ".E { a 0 : integer }\n.A { m 0 : *E(zz) }", "Invalid map index :zz")
	perr("main index on a non-array", ".E { a 0 : integer }\n.A { m 0 : E(a) }", "not an array")
	perr("tag out of range", ".A { a 40000 : integer }", "tag out of range")
	perr("redefined request", ".A { }\np 1 { request A request A }", "redefine request in protocol p")
	local ok = pcall(parser.parse, "# only a comment\n")
	check(ok, "parser: a schema of comments only")
	local t = sproto.parse(".A{a 0:integer b 1:*A}x 1{request A}")
	check(t:decode("A", t:encode("A", { a = 1, b = { { a = 2 } } })).b[1].a == 2, "parser: blanks are optional")
	local printed = {}
	local old = print
	print = function(s) printed[#printed + 1] = s end
	parser.dump(string.rep("\171", 20))
	print = old
	check(printed[1] == string.rep("AB ", 8) .. "- " .. string.rep("AB ", 8) and printed[2] == string.rep("AB ", 4),
		"parser.dump", printed[1], printed[2])
end

-- Truncations of every vector, corrupted lengths, random bytes: each decode either works or
-- raises a Lua error; none crashes the node.
local function test_malformed(peer)
	local sp = objects[1]
	local seed = 7
	local function rnd(n)
		seed = (seed * 1103515245 + 12345) % 2147483648
		return seed % n
	end
	local tries, errors, bad_msg = 0, 0, nil
	local function try(name, bytes, packed)
		tries = tries + 1
		local ok, err = pcall(packed and sp.pdecode or sp.decode, sp, name, bytes)
		if not ok then
			errors = errors + 1
			if type(err) ~= "string" or not (err:find("decode error", 1, true) or err:find("Invalid unpack", 1, true)
				or err:find("Can't find", 1, true) or err:find("too deep", 1, true) or err:find("too large", 1, true)) then
				bad_msg = err
			end
		end
	end
	for i, c in ipairs(cases.messages) do
		if c[1] == 1 and vectors.messages[i].encoded then
			local b = unhex(vectors.messages[i].encoded)
			for n = 0, #b - 1 do
				try(c[2], b:sub(1, n))
			end
			local p = unhex(vectors.messages[i].packed)
			for n = 1, #p - 1 do
				try(c[2], p:sub(1, n), true)
			end
			for _ = 1, 20 do    -- one byte changed
				local at = rnd(#b) + 1
				try(c[2], b:sub(1, at - 1) .. string.char(rnd(256)) .. b:sub(at + 1))
			end
		end
	end
	check(bad_msg == nil, "malformed: every error names the problem", bad_msg)
	local truncated = errors
	check(truncated > 500, "malformed: truncated and corrupted vectors raise errors (" .. errors .. " of " .. tries .. ")")
	-- targeted shapes
	fails("malformed: empty input", "decode error", sp.decode, sp, "Person", "")
	fails("malformed: one byte", "decode error", sp.decode, sp, "Person", "\1")
	fails("malformed: more field records than bytes", "decode error", sp.decode, sp, "Person", "\255\255\0\0")
	fails("malformed: a huge data length", "decode error", sp.decode, sp, "Person", "\1\0\0\0\255\255\255\255abc")
	fails("malformed: a data length past the end by one", "decode error", sp.decode, sp, "Person", "\1\0\0\0\4\0\0\0abc")
	fails("malformed: an integer block of 3 bytes", "decode error", sp.decode, sp, "Data", "\3\0\3\0\0\0\3\0\0\0abc")
	fails("malformed: an integer array of width 5", "decode error", sp.decode, sp, "Data", "\1\0\0\0\6\0\0\0\5abcde")
	fails("malformed: an array length not a multiple of 4", "decode error", sp.decode, sp, "Data", "\1\0\0\0\4\0\0\0\4abc")
	fails("malformed: a small value for a string", "decode error", sp.decode, sp, "Person", "\1\0\4\0")
	fails("malformed: a boolean as a data block", "decode error", sp.decode, sp, "Person", "\3\0\3\0\0\0\1\0\0\0\1")
	fails("malformed: nested struct with trailing bytes", "decode error", sp.decode, sp, "Data",
		"\2\0\19\0\0\0\3\0\0\0\0\0\0")
	fails("malformed: an array element longer than the array", "decode error", sp.decode, sp, "Person",
		"\4\0\5\0\0\0\8\0\0\0\9\0\0\0\0\0\0\0")
	fails("malformed: unpack of a truncated 0xff run", "Invalid unpack stream", sp.unpack, "\255\3abc")
	fails("malformed: unpack of a missing byte", "Invalid unpack stream", sp.unpack, "\3a")
	fails("malformed: unpack larger than 16 MiB", "too large", sp.unpack, string.rep("\0", 0x200001))
	local deep = "\0\0"
	for _ = 1, 100 do
		deep = "\11\0\0\0" .. string.pack("<s4", deep)   -- Data.sub (tag 10) -> Person ... nests Person.children
	end
	try("Data", deep)
	check(true, "malformed: deep nesting handled")
	local skip_ok, skipped = pcall(sp.decode, sp, "Person", "\2\0\255\255\8\0")
	check(skip_ok and next(skipped) == nil, "unknown tags are skipped", skipped)
	-- random bytes, raw and as packed
	local ok_count = 0
	for _ = 1, 3000 do
		local n = rnd(40)
		local t = {}
		for j = 1, n do
			t[j] = string.char(rnd(4) == 0 and rnd(256) or rnd(8))
		end
		local s = table.concat(t)
		for _, name in ipairs { "Person", "Data", "M" } do
			if pcall(sp.decode, sp, name, s) then
				ok_count = ok_count + 1
			end
			pcall(sp.pdecode, sp, name, s)
		end
		pcall(sp.unpack, s)
	end
	check(true, "malformed: 3000 random byte strings decoded or refused (" .. ok_count .. " decoded)")
	-- in another service: the error reaches only that request
	local okp, errp = skynet.call(peer, "lua", "try_decode", 1, "Person", "\1\0\0\0\255\255\255\127")
	check(okp == false and tostring(errp):find("decode error", 1, true), "peer: a bad message fails under pcall", errp)
	local raw_ok, raw_err = pcall(skynet.call, peer, "lua", "decode_raw", 1, "Person", "\9\9\9")
	check(not raw_ok, "peer: a bad message without pcall fails that call", raw_err)
	local name = skynet.call(peer, "lua", "decode_raw", 1, "Person", sp:encode("Person", { name = "still" }))
	check(name == "still", "peer: the service keeps serving after bad messages")
	local ok2, used = skynet.call(peer, "lua", "try_decode", 1, "Person", sp:pencode("Person", { name = "x" }), true)
	check(ok2 and used > 0, "peer: a good packed message decodes")
end

local waiting, got, main_host

local function test_services(peer)
	local a, b, c = skynet.call(peer, "lua", "slots")
	check(a and b and c, "sprotoloader: the other service sees both slots")
	local sp1 = sprotoloader.load(1)
	local msg = { numbers = { 1, 2, 1 << 40 }, strs = { "x" }, fpn = 2.5 }
	local bytes = skynet.call(peer, "lua", "encode", 1, "Data", msg)
	check(bytes == sp1:encode("Data", msg), "sprotoloader: both services encode alike")
	local back = skynet.call(peer, "lua", "roundtrip", 1, "Data", bytes)
	check(back == bytes, "sprotoloader: the other service decodes our bytes")
	check(hex(sp1:encode("Data", msg)) == hex(objects[1]:encode("Data", msg)), "sprotoloader: slot schema equals a fresh one")
	fails("sprotoloader: an empty slot", "nil sproto at index 5", sprotoloader.load, 5)
	fails("sprotoloader: slot out of range", "Invalid global slot index 16", sprotoloader.save, parser.parse(cases.schemas[5]), 16)
	fails("sprotoloader: a missing file", "Can't open sproto file", sprotoloader.register, "tests/sproto/none.sproto", 3)
	local badfile = "tests/out/sproto/bad.sproto"
	local f = assert(io.open(badfile, "w"))
	f:write(".A {\n\ta 0 : integer\n\tb 1 string\n}\n")
	f:close()
	fails("sprotoloader: a schema file with a syntax error names the file and line",
		"syntax error at [" .. badfile .. "] line (3)", sprotoloader.register, badfile, 3)

	-- RPC between the services over "client" messages (a C pointer and size each way)
	local sp2 = sprotoloader.load(2)
	local request = main_host:attach(sp2)
	local function wait_reply()
		waiting = coroutine.running()
		got = nil
		local timer = true
		skynet.timeout(1000, function()
			if timer and waiting then
				local co = waiting
				waiting = nil
				skynet.wakeup(co)
			end
		end)
		skynet.wait(waiting)
		timer = false
		return got
	end
	skynet.send(peer, "client", request("foobar", { name = "Alice", id = 1 }, 11))
	local r = wait_reply()
	check(r and r[1] == "RESPONSE" and r[2] == 11 and r[3].ok == true and r[4] == "peer", "rpc over services: foobar")
	skynet.send(peer, "client", request("book", { person = { [5] = { name = "a", id = 5 }, [6] = { name = "b", id = 6 } } }, 12))
	r = wait_reply()
	check(r and r[2] == 12 and r[3].others[1].id == 2, "rpc over services: book with a keyed array")
	skynet.send(peer, "client", request("bar", nil, 13))
	r = wait_reply()
	check(r and r[2] == 13 and r[3] == nil, "rpc over services: response nil")
	skynet.call(peer, "lua", "ask", skynet.self())
	r = wait_reply()
	check(r and r[1] == "peer_got" and r[2] == 77 and r[3] == true, "rpc over services: the peer's request answered")
end

skynet.register_protocol {
	name = "client",
	id = skynet.PTYPE_CLIENT,
	pack = function(s) return s end,
	unpack = function(msg, sz)
		return skynet.tostring(msg, sz)
	end,
	dispatch = function(_, source, bytes)
		-- main_host: the one test_services attached with (the sessions live in it)
		local kind, a, b, c = main_host:dispatch(bytes)
		if kind == "REQUEST" then
			skynet.send(source, "client", c({ ok = true }))
			return
		end
		got = { kind, a, b, c }
		if waiting then
			local co = waiting
			waiting = nil
			skynet.wakeup(co)
		end
	end,
}

skynet.start(function()
	skynet.dispatch("lua", function(_, _, command, session, ok)
		if command == "peer_got" then
			got = { "peer_got", session, ok }
			if waiting then
				local co = waiting
				waiting = nil
				skynet.wakeup(co)
			end
		end
	end)
	local steps = {
		{ "vectors", test_vectors },
		{ "rpc", test_rpc },
		{ "api", test_api },
		{ "parser errors", test_parser_errors },
	}
	for _, s in ipairs(steps) do
		local ok, err = xpcall(s[2], debug.traceback)
		check(ok, "step " .. s[1] .. " ran to its end", err)
	end
	sprotoloader.save(parser.parse(cases.schemas[1]), 1)
	sprotoloader.register("tests/sproto/test.sproto", 2)
	local peer = skynet.newservice("sproto_peer")
	main_host = sprotoloader.load(2):host "package"
	for _, s in ipairs { { "malformed", test_malformed }, { "services", test_services } } do
		local ok, err = xpcall(s[2], debug.traceback, peer)
		check(ok, "step " .. s[1] .. " ran to its end", err)
	end
	print(string.format("SPROTO DONE %d failed", failed))
	skynet.abort()
end)
