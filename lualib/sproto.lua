-- sproto: schema objects over sproto.core, and the RPC host (a "package" header message
-- { type, session, ud } followed by the request or response message, the whole 0-packed).
local core = require "sproto.core"

local encode, decode = core.encode, core.decode
local pack, unpack = core.pack, core.unpack

local sproto = {}
local host = {}

local owned_mt = { __index = sproto }   -- frees its C schema when collected
local shared_mt = { __index = sproto }  -- a schema of the node's slots: never freed
local host_mt = { __index = host }

function owned_mt:__gc()
	core.deleteproto(self.__cobj)
end

local function wrap(cobj, mt)
	return setmetatable({
		__cobj = cobj,
		__tcache = setmetatable({}, { __mode = "kv" }),
		__pcache = setmetatable({}, { __mode = "kv" }),
	}, mt)
end

function sproto.new(bin)
	local cobj, err = core.newproto(bin)
	assert(cobj, err or "invalid sproto schema")
	return wrap(cobj, owned_mt)
end

function sproto.sharenew(cobj)
	return wrap(cobj, shared_mt)
end

function sproto.parse(text)
	return sproto.new(require("sprotoparser").parse(text))
end

local function typeof(self, name)
	local st = self.__tcache[name]
	if st == nil then
		st = core.querytype(self.__cobj, name)
		if st == nil then
			error("type not found: " .. tostring(name), 3)
		end
		self.__tcache[name] = st
	end
	return st
end

function sproto:exist_type(name)
	return self.__tcache[name] ~= nil or core.querytype(self.__cobj, name) ~= nil
end

function sproto:encode(name, tbl)
	return encode(typeof(self, name), tbl)
end

function sproto:decode(name, ...)
	return decode(typeof(self, name), ...)
end

function sproto:pencode(name, tbl)
	return pack(encode(typeof(self, name), tbl))
end

function sproto:pdecode(name, ...)
	return decode(typeof(self, name), unpack(...))
end

-- The protocol of a name or a tag: { name, tag, request = type or nil, response = type or
-- nil (a NULL light userdata for "response nil") }, cached under both keys.
local function queryproto(self, key)
	local p = self.__pcache[key]
	if p then
		return p
	end
	local other, req, resp = core.protocol(self.__cobj, key)
	if other == nil then
		error(tostring(key) .. " not found", 2)
	end
	local name, tag = key, other
	if type(key) == "number" or tonumber(key) then
		name, tag = other, key
	end
	p = { name = name, tag = tag, request = req, response = resp }
	self.__pcache[name] = p
	self.__pcache[tag] = p
	return p
end
sproto.queryproto = queryproto

function sproto:exist_proto(key)
	return self.__pcache[key] ~= nil or core.protocol(self.__cobj, key) ~= nil
end

function sproto:request_encode(pname, tbl)
	local p = queryproto(self, pname)
	if p.request then
		return encode(p.request, tbl), p.tag
	end
	return "", p.tag
end

function sproto:response_encode(pname, tbl)
	local p = queryproto(self, pname)
	if p.response then
		return encode(p.response, tbl)
	end
	return ""
end

function sproto:request_decode(pname, ...)
	local p = queryproto(self, pname)
	if p.request then
		return decode(p.request, ...), p.name
	end
	return nil, p.name
end

function sproto:response_decode(pname, ...)
	local p = queryproto(self, pname)
	if p.response then
		return decode(p.response, ...)
	end
end

sproto.pack = pack
sproto.unpack = unpack

-- default(typename) or default(protoname, "REQUEST" | "RESPONSE")
function sproto:default(name, which)
	if which == nil then
		return core.default(typeof(self, name))
	end
	local p = queryproto(self, name)
	local st
	if which == "REQUEST" then
		st = p.request
	elseif which == "RESPONSE" then
		st = p.response
	else
		error("Invalid type", 2)
	end
	if st then
		return core.default(st)
	end
end

---------------------------------------------------------------- host

function sproto:host(packagename)
	packagename = packagename or "package"
	local pkg = core.querytype(self.__cobj, packagename)
	if pkg == nil then
		error("type " .. packagename .. " not found", 2)
	end
	return setmetatable({ __proto = self, __package = pkg, __session = {} }, host_mt)
end

-- One header table reused by every host of this state: filled, encoded or decoded, read.
local header = {}

local function header_encode(pkg, typetag, session, ud)
	header.type, header.session, header.ud = typetag, session, ud
	return encode(pkg, header)
end

-- host:dispatch(msg [, sz]) ->
--   "REQUEST", name, args, response function or nil, ud
--   "RESPONSE", session, args, ud
function host:dispatch(...)
	local bin = unpack(...)
	header.type, header.session, header.ud = nil, nil, nil
	local _, used = decode(self.__package, bin, header)
	local body = bin:sub(used + 1)
	local typetag, session, ud = header.type, header.session, header.ud
	if typetag then
		local p = queryproto(self.__proto, typetag)
		local args
		if p.request then
			args = decode(p.request, body)
		end
		if session == nil then
			return "REQUEST", p.name, args, nil, ud
		end
		local pkg, resp = self.__package, p.response
		return "REQUEST", p.name, args, function(result, rud)
			local h = header_encode(pkg, nil, session, rud)
			if resp then
				return pack(h .. encode(resp, result))
			end
			return pack(h)
		end, ud
	end
	if session == nil then
		error("session not found", 2)
	end
	local expect = self.__session[session]
	if expect == nil then
		error("Unknown session", 2)
	end
	self.__session[session] = nil
	if expect == true then
		return "RESPONSE", session, nil, ud
	end
	return "RESPONSE", session, decode(expect, body), ud
end

-- host:attach(sp) -> function(name, args, session, ud) -> packed request
function host:attach(sp)
	return function(name, args, session, ud)
		local p = queryproto(sp, name)
		local h = header_encode(self.__package, p.tag, session, ud)
		if session then
			self.__session[session] = p.response or true
		end
		if p.request then
			return pack(h .. encode(p.request, args))
		end
		return pack(h)
	end
end

return sproto
