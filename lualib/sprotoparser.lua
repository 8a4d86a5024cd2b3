-- sprotoparser: sproto schema text -> binary schema (the form sproto.core.newproto reads).
--
-- A hand-written lexer and recursive-descent parser (no lpeg). The schema language:
--
--   file     := { type | protocol }
--   type     := "." NAME "{" { field | type } "}"
--   field    := NAME TAG ":" ["*"] TYPENAME [ "(" [NAME | DIGITS] ")" ]
--   protocol := NAME TAG "{" { ("request" | "response") (TYPENAME | "{" ... "}") } "}"
--
-- TYPENAME is NAME{.NAME} written without blanks; "#" starts a comment to the end of the
-- line. The binary schema is a sproto message of the group type (see sproto.core's
-- loader); it is built here with string.pack.

local spack = string.pack
local concat = table.concat
local insert = table.insert

local parser = {}

---------------------------------------------------------------- lexer

-- Token kinds: "name", "tag" (digits), and the punctuation characters themselves.
-- Each token records its line and whether blanks or a comment came right before it.
local function tokenize(text, file)
	local toks = {}
	local pos, line, n = 1, 1, #text
	local spaced = true
	while pos <= n do
		local c = text:sub(pos, pos)
		if c == "\n" then
			line = line + 1
			pos = pos + 1
			spaced = true
		elseif c == " " or c == "\t" or c == "\r" then
			pos = pos + 1
			spaced = true
		elseif c == "#" then
			local e = text:find("\n", pos, true)
			pos = e or n + 1
			spaced = true
		else
			local s, e = text:find("^[%a_][%w_]*", pos)
			local kind
			if s then
				kind = "name"
			else
				s, e = text:find("^%d+", pos)
				if s then
					kind = "tag"
				elseif c:find("^[{}():*.]") then
					s, e, kind = pos, pos, c
				else
					error(string.format("syntax error at [%s] line (%d): unexpected character %q",
						file, line, c), 0)
				end
			end
			toks[#toks + 1] = { kind = kind, text = text:sub(s, e), line = line, spaced = spaced }
			spaced = false
			pos = e + 1
		end
	end
	toks[#toks + 1] = { kind = "eof", text = "end of text", line = line, spaced = true }
	return toks
end

---------------------------------------------------------------- parser

local P = {}
P.__index = P

function P:peek(k)
	return self.toks[self.i + (k or 0)]
end

function P:fail(what, tok)
	tok = tok or self:peek()
	error(string.format("syntax error at [%s] line (%d): %s, got %s", self.file, tok.line, what,
		tok.kind == "eof" and "end of text" or ("'" .. tok.text .. "'")), 0)
end

function P:take(kind, what)
	local t = self:peek()
	if t.kind ~= kind then
		self:fail(what or ("'" .. kind .. "' expected"))
	end
	self.i = self.i + 1
	return t
end

function P:accept(kind)
	local t = self:peek()
	if t.kind == kind then
		self.i = self.i + 1
		return t
	end
end

-- NAME{.NAME} with nothing between the parts.
function P:typename()
	local parts = { self:take("name", "type name expected").text }
	while true do
		local dot, nxt = self:peek(), self:peek(1)
		if dot.kind == "." and not dot.spaced and nxt.kind == "name" and not nxt.spaced then
			parts[#parts + 1] = nxt.text
			self.i = self.i + 2
		else
			break
		end
	end
	return concat(parts, ".")
end

local function tagnumber(self, tok)
	local v = tonumber(tok.text)
	if not v or v > 0x7ffe then
		self:fail("tag out of range (0 to 32766)", tok)
	end
	return math.tointeger(v)
end

-- { field | type } "}" : the body after "{"; returns { fields = {...}, types = {...} }
function P:body()
	local b = { fields = {}, types = {} }
	while true do
		local t = self:peek()
		if t.kind == "}" then
			self.i = self.i + 1
			return b
		elseif t.kind == "." then
			insert(b.types, self:typedef())
		elseif t.kind == "name" then
			insert(b.fields, self:field())
		else
			self:fail("field, nested type or '}' expected")
		end
	end
end

function P:field()
	local name = self:take("name")
	local f = { name = name.text, line = name.line }
	f.tag = tagnumber(self, self:take("tag", "field tag expected"))
	self:take(":", "':' expected after the field tag")
	if self:accept("*") then
		f.array = true
	end
	f.typename = self:typename()
	if self:accept("(") then
		local arg = self:peek()
		if arg.kind == "name" or arg.kind == "tag" then
			self.i = self.i + 1
			f.arg = arg.text
			f.argkind = arg.kind
		else
			f.arg = ""
			f.argkind = "name"
		end
		self:take(")", "')' expected")
	end
	return f
end

function P:typedef()
	self:take(".")
	local name = self:take("name", "type name expected after '.'")
	self:take("{", "'{' expected after the type name")
	local b = self:body()
	b.name = name.text
	b.line = name.line
	return b
end

function P:protocol()
	local name = self:take("name")
	local p = { name = name.text, line = name.line, parts = {} }
	p.tag = tagnumber(self, self:take("tag", "protocol tag expected"))
	self:take("{", "'{' expected after the protocol tag")
	while not self:accept("}") do
		local which = self:take("name", "'request', 'response' or '}' expected")
		if which.text ~= "request" and which.text ~= "response" then
			self:fail("'request' or 'response' expected", which)
		end
		local part = { which = which.text, line = which.line }
		if self:accept("{") then
			part.body = self:body()
		else
			part.typename = self:typename()
		end
		insert(p.parts, part)
	end
	return p
end

function P:schema()
	local r = { types = {}, protocols = {} }
	while true do
		local t = self:peek()
		if t.kind == "eof" then
			return r
		elseif t.kind == "." then
			insert(r.types, self:typedef())
		elseif t.kind == "name" then
			insert(r.protocols, self:protocol())
		else
			self:fail("type or protocol expected")
		end
	end
end

---------------------------------------------------------------- meaning

local builtin = { integer = 0, boolean = 1, string = 2, binary = 2, double = 3 }

-- Flattens a type and its nested types into alltypes[fullname] = sorted field list.
local function add_type(alltypes, fullname, b)
	if alltypes[fullname] then
		error("redefined " .. fullname, 0)
	end
	local fields, names, tags = {}, {}, {}
	for _, f in ipairs(b.fields) do
		if names[f.name] then
			error(string.format("redefine %s in type %s", f.name, fullname), 0)
		end
		if tags[f.tag] then
			error(string.format("redefine tag %d in type %s", f.tag, fullname), 0)
		end
		names[f.name], tags[f.tag] = true, true
		local field = { name = f.name, tag = f.tag, array = f.array, typename = f.typename }
		if f.arg then
			if f.typename == "integer" then
				if f.argkind ~= "tag" then
					error(string.format("Invalid decimal precision (%s) of %s in type %s", f.arg,
						f.name, fullname), 0)
				end
				field.decimal = math.tointeger(tonumber(f.arg))
			elseif f.array then
				field.key = f.arg
			else
				error(string.format("Invalid key (%s): %s in type %s is not an array", f.arg,
					f.name, fullname), 0)
			end
		end
		fields[#fields + 1] = field
	end
	table.sort(fields, function(a, c) return a.tag < c.tag end)
	alltypes[fullname] = fields
	for _, sub in ipairs(b.types) do
		add_type(alltypes, fullname .. "." .. sub.name, sub)
	end
end

-- A field's type name, looked up from the innermost scope of its owner outwards.
local function resolve(alltypes, owner, name)
	if builtin[name] then
		return name
	end
	local scope = owner
	while scope do
		local full = scope .. "." .. name
		if alltypes[full] then
			return full
		end
		scope = scope:match "^(.+)%.[^.]+$"
	end
	if alltypes[name] then
		return name
	end
end

local function analyse(tree)
	local alltypes, protocols = {}, {}
	for _, t in ipairs(tree.types) do
		add_type(alltypes, t.name, t)
	end
	local bytag = {}
	for _, p in ipairs(tree.protocols) do
		if protocols[p.name] then
			error("redefined " .. p.name, 0)
		end
		local proto = { name = p.name, tag = p.tag }
		for _, part in ipairs(p.parts) do
			if proto[part.which] ~= nil or (part.which == "response" and proto.confirm) then
				error(string.format("redefine %s in protocol %s", part.which, p.name), 0)
			end
			local tname = part.typename
			if part.body then
				tname = p.name .. "." .. part.which
				alltypes[tname] = nil
				add_type(alltypes, tname, part.body)
			end
			if tname == "nil" then
				if part.which == "response" then
					proto.confirm = true
				end
			else
				proto[part.which] = tname
			end
		end
		protocols[p.name] = proto
	end
	for _, p in pairs(protocols) do
		if bytag[p.tag] then
			error(string.format("redefined protocol tag %d at %s", p.tag, p.name), 0)
		end
		bytag[p.tag] = p
		if p.request and not alltypes[p.request] then
			error(string.format("Undefined request type %s in protocol %s", p.request, p.name), 0)
		end
		if p.response and not alltypes[p.response] then
			error(string.format("Undefined response type %s in protocol %s", p.response, p.name), 0)
		end
	end
	for owner, fields in pairs(alltypes) do
		for _, f in ipairs(fields) do
			local full = resolve(alltypes, owner, f.typename)
			if not full then
				error(string.format("Undefined type %s in type %s", f.typename, owner), 0)
			end
			f.typename = full
		end
	end
	return alltypes, protocols
end

---------------------------------------------------------------- binary

local function blob(s)
	return spack("<s4", s)
end

local function small(v)
	return spack("<I2", (v + 1) * 2)
end

local SKIP = "\1\0"     -- skip one tag
local DATA = "\0\0"     -- the value is the next data block

local function encode_field(f, alltypes, ids, owner)
	local recs = { DATA }   -- name
	local sub
	local kind = builtin[f.typename]
	if kind then
		recs[#recs + 1] = small(kind)
		local extra = f.decimal
		if f.typename == "binary" then
			extra = 1
		end
		recs[#recs + 1] = extra and small(extra) or SKIP
	else
		sub = alltypes[f.typename]
		recs[#recs + 1] = SKIP
		recs[#recs + 1] = small(ids[f.typename])
	end
	recs[#recs + 1] = small(f.tag)
	if f.array then
		recs[#recs + 1] = small(1)
		if f.key then
			if not sub then
				error(string.format("Invalid map index :%s", f.key), 0)
			end
			local keyname = f.key
			local map = false
			if keyname == "" then
				if #sub ~= 2 then
					error(string.format("Invalid map definition: %s, must only have two fields",
						f.name), 0)
				end
				keyname = sub[1].name   -- fields are sorted: the smaller tag is the key
				map = true
			end
			local keyfield
			for _, sf in ipairs(sub) do
				if sf.name == keyname then
					keyfield = sf
				end
			end
			if not keyfield or not builtin[keyfield.typename] then
				error("Invalid map index :" .. keyname, 0)
			end
			recs[#recs + 1] = small(keyfield.tag)
			if map then
				recs[#recs + 1] = small(1)
			end
		end
	end
	return blob(spack("<I2", #recs) .. concat(recs) .. blob(f.name))
end

local function encode_type(name, fields, alltypes, ids)
	if #fields == 0 then
		return blob("\1\0" .. DATA .. blob(name))
	end
	local parts = {}
	for i, f in ipairs(fields) do
		parts[i] = encode_field(f, alltypes, ids, name)
	end
	return blob("\2\0" .. DATA .. DATA .. blob(name) .. blob(concat(parts)))
end

local function encode_protocol(p, ids)
	local recs = { DATA, small(p.tag) }
	if p.request or p.response or p.confirm then
		recs[3] = p.request and small(ids[p.request]) or SKIP
		if p.response then
			recs[4] = small(ids[p.response])
		elseif p.confirm then
			recs[4] = SKIP
			recs[5] = small(1)
		end
	end
	return blob(spack("<I2", #recs) .. concat(recs) .. blob(p.name))
end

local function encode_all(alltypes, protocols)
	local names = {}
	for name in pairs(alltypes) do
		names[#names + 1] = name
	end
	if #names == 0 and next(protocols) == nil then
		return "\0\0"
	end
	table.sort(names)
	local ids = {}
	for i, name in ipairs(names) do
		ids[name] = i - 1
	end
	local types = {}
	for i, name in ipairs(names) do
		types[i] = encode_type(name, alltypes[name], alltypes, ids)
	end
	local list = {}
	for _, p in pairs(protocols) do
		list[#list + 1] = p
	end
	if #list == 0 then
		return "\1\0" .. DATA .. blob(concat(types))
	end
	table.sort(list, function(a, b) return a.tag < b.tag end)
	local protos = {}
	for i, p in ipairs(list) do
		protos[i] = encode_protocol(p, ids)
	end
	return "\2\0" .. DATA .. DATA .. blob(concat(types)) .. blob(concat(protos))
end

---------------------------------------------------------------- API

function parser.parse(text, name)
	local file = name or "=text"
	local p = setmetatable({ toks = tokenize(text, file), i = 1, file = file }, P)
	local alltypes, protocols = analyse(p:schema())
	return encode_all(alltypes, protocols)
end

-- Prints a binary string in hex, 16 bytes a line.
function parser.dump(str)
	local line = {}
	for i = 1, #str do
		line[#line + 1] = string.format("%02X ", str:byte(i))
		if i % 16 == 0 then
			print(concat(line))
			line = {}
		elseif i % 8 == 0 then
			line[#line + 1] = "- "
		end
	end
	print(concat(line))
end

return parser
