-- The other service of the sproto suite. It reads the node's shared schemas (slots 1 and 2,
-- saved by sproto_main before it was launched), answers sproto RPC arriving as "client"
-- messages (a C pointer and a size, as a gate's agent gets them), and decodes bytes it is
-- sent, some of them malformed: a bad message must fail that request only.
local skynet = require "skynet"
local sprotoloader = require "sprotoloader"

local sp1, sp2, host, attach, master

skynet.register_protocol {
	name = "client",
	id = skynet.PTYPE_CLIENT,
	pack = function(s) return s end,
	unpack = function(msg, sz)
		return host:dispatch(msg, sz)
	end,
	dispatch = function(_, source, kind, ...)
		if kind == "REQUEST" then
			local name, args, respond = ...
			if name == "foobar" then
				skynet.send(source, "client", respond({ ok = args.name == "Alice" }, "peer"))
			elseif name == "book" then
				local n = 0
				for _ in pairs(args.person or {}) do
					n = n + 1
				end
				skynet.send(source, "client", respond({ others = { { name = "peer", id = n } } }))
			elseif name == "bar" then
				skynet.send(source, "client", respond())
			end
		else
			-- a response to a request this peer made with attach (see "ask" below)
			local session, args = ...
			skynet.send(master, "lua", "peer_got", session, args and args.ok)
		end
	end,
}

local cmd = {}

function cmd.slots()
	return sp1:exist_type("Data"), sp2:exist_proto("foobar"), sp2:exist_proto(10)
end

function cmd.encode(slot, typename, msg)
	local sp = slot == 1 and sp1 or sp2
	return sp:encode(typename, msg)
end

function cmd.roundtrip(slot, typename, bytes)
	local sp = slot == 1 and sp1 or sp2
	return sp:encode(typename, sp:decode(typename, bytes))
end

-- Decodes untrusted bytes under pcall: true and the bytes used, or false and the error.
function cmd.try_decode(slot, typename, bytes, packed)
	local sp = slot == 1 and sp1 or sp2
	local ok, r, used = pcall(function()
		if packed then
			return sp:pdecode(typename, bytes)
		end
		return sp:decode(typename, bytes)
	end)
	if ok then
		return true, used
	end
	return false, r
end

-- The same without pcall: an error ends this request (the caller gets an error), not the
-- service.
function cmd.decode_raw(slot, typename, bytes)
	local sp = slot == 1 and sp1 or sp2
	local t = sp:decode(typename, bytes)
	return t.name
end

function cmd.ask(to)
	skynet.send(to, "client", attach("foobar", { name = "Alice" }, 77))
	return true
end

skynet.start(function()
	sp1 = sprotoloader.load(1)
	sp2 = sprotoloader.load(2)
	host = sp2:host "package"
	attach = host:attach(sp2)
	skynet.dispatch("lua", function(_, source, command, ...)
		master = master or source
		skynet.ret(skynet.pack(cmd[command](...)))
	end)
end)
