-- skynet.db.mongo: a MongoDB client for skynet services.
--
-- Every call is a database command sent as one OP_MSG (skynet.mongo.driver frames it, bson
-- encodes the body) over a skynet.socketchannel in session mode: the request id is the
-- session, the reply's responseTo finds the waiting coroutine. Acknowledged calls (safe_*,
-- find, runCommand ...) wait for the reply; the plain insert/update/delete set the
-- moreToCome flag with writeConcern {w = 0} and return at once.
--
--   local c = mongo.client { host = "127.0.0.1", port = 27017, username = u, password = p,
--                             authdb = "admin", authmod = "scram_sha1" }
--   local coll = c.mydb.mycoll             -- or c:getDB "mydb":getCollection "mycoll"
--   coll:safe_insert { a = 1 }
--   local cur = coll:find({ a = { ["$gt"] = 0 } }):sort { a = 1 }:limit(10)
--   while cur:hasNext() do local doc = cur:next() end
--
-- The channel reconnects by itself: the next call after a lost connection opens a new one and
-- logs in again (the `auth` hook below) before anyone else may use it.

local skynet = require "skynet"
local socketchannel = require "skynet.socketchannel"
local driver = require "skynet.mongo.driver"
local bson = require "bson"
local crypt = require "skynet.crypt"
local md5 = require "md5"

local encode, encode_order, decode = bson.encode, bson.encode_order, bson.decode
local int64 = bson.int64
local setmetatable, rawget, rawset, next, pairs, ipairs, type, error, assert, tostring =
	setmetatable, rawget, rawset, next, pairs, ipairs, type, error, assert, tostring
local unpack, insert = table.unpack, table.insert

local EMPTY = encode {}
local FLAG_MORE_TO_COME = 2

local mongo = {
	null = assert(bson.null),
	maxkey = assert(bson.maxkey),
	minkey = assert(bson.minkey),
	type = assert(bson.type),
}

local Client, Database, Collection = {}, {}, {}
local FindCursor, AggregateCursor = {}, {}
-- metatables kept apart from the method tables, so that db.mt or coll.mt is a collection
local db_mt, coll_mt

-- The __index of clients, databases and collections: a method of `methods`, otherwise the
-- child of that name (client.game is a database, db.users a collection), made by `child`.
local function methods_then_children(methods, child)
	return function(self, key)
		local m = methods[key]
		if m ~= nil then
			return m
		end
		return self[child](self, key)
	end
end

---------------------------------------------------------------------------------------------
-- helpers

-- Appends key, value to list (a flat key/value list for encode_order) unless value is nil.
local function push_pair(list, key, value)
	if value ~= nil then
		list[#list + 1] = key
		list[#list + 1] = value
	end
	return list
end

-- The flat key/value list of a table's pairs, in pairs() order.
local function pairs_list(t, list)
	list = list or {}
	for k, v in pairs(t) do
		push_pair(list, k, v)
	end
	return list
end

local function reply_error(r)
	return r.errmsg or "Reply from mongod error"
end

-- The result of a write command, as (ok, err, reply).
local function write_result(r)
	local err
	if r.writeErrors then
		err = r.writeErrors[1].errmsg
	elseif r.writeConcernError then
		err = r.writeConcernError.errmsg
	elseif r.errmsg then
		err = r.errmsg
	elseif r.ok ~= 1 then
		err = nil
	else
		return true, nil, r
	end
	return false, err, r
end

-- bulkWrite's result: as write_result, plus the indexes (1-based) of the failed operations.
local function bulk_result(r)
	local ok, err = write_result(r)
	local failed
	if r.cursor and r.nErrors and r.nErrors ~= 0 then
		failed = {}
		local msgs = { err }
		for i, item in ipairs(r.cursor.firstBatch or {}) do
			if item.ok ~= 1 then
				failed[#failed + 1] = i
				msgs[#msgs + 1] = item.errmsg
			end
		end
		err = table.concat(msgs, ";") .. ";"
	end
	return ok, err, r, failed
end

local function split_addr(addr)
	local host, port = addr:match "^(.-):(%d+)$"
	if host then
		return host, tonumber(port)
	end
	return addr, nil
end

---------------------------------------------------------------------------------------------
-- authentication

local auth = {}

-- MongoDB's password digest (what both SCRAM-SHA-1 and MONGODB-CR salt).
local function password_digest(user, password)
	return md5.sumhexa(user .. ":mongo:" .. tostring(password))
end

-- "k=v,k=v" as a table.
local function scram_fields(s)
	local t = {}
	for item in s:gmatch "[^,]+" do
		local k, v = item:match "^(%a)=(.*)$"
		if k then
			t[k] = v
		end
	end
	return t
end

-- PBKDF2-HMAC-SHA1 with one output block (SHA-1's 20 bytes).
local function pbkdf2_sha1(secret, salt, rounds)
	local u = crypt.hmac_sha1(secret, salt .. "\0\0\0\1")
	local acc = u
	for _ = 2, rounds do
		u = crypt.hmac_sha1(secret, u)
		acc = crypt.xor_str(acc, u)
	end
	return acc
end

function auth.scram_sha1(db, user, password)
	local name = user:gsub("=", "=3D"):gsub(",", "=2C")
	local cnonce = crypt.base64encode(crypt.randomkey())
	local client_first = "n=" .. name .. ",r=" .. cnonce
	local r = db:runCommand("saslStart", 1, "autoAuthorize", 1, "mechanism", "SCRAM-SHA-1",
		"payload", crypt.base64encode("n,," .. client_first))
	if r.ok ~= 1 then
		return false
	end
	local conversation = r.conversationId
	local server_first = crypt.base64decode(r.payload)
	local f = scram_fields(server_first)
	local rounds = tonumber(f.i)
	if not (f.r and f.s and rounds) or f.r:sub(1, #cnonce) ~= cnonce then
		skynet.error("Server returned an invalid nonce.")
		return false
	end
	local salted = pbkdf2_sha1(password_digest(user, password), crypt.base64decode(f.s), rounds)
	local final_bare = "c=biws,r=" .. f.r
	local auth_message = client_first .. "," .. server_first .. "," .. final_bare
	local client_key = crypt.hmac_sha1(salted, "Client Key")
	local signature = crypt.hmac_sha1(crypt.sha1(client_key), auth_message)
	local proof = crypt.base64encode(crypt.xor_str(client_key, signature))
	local expect = crypt.base64encode(crypt.hmac_sha1(crypt.hmac_sha1(salted, "Server Key"),
		auth_message))

	r = db:runCommand("saslContinue", 1, "conversationId", conversation,
		"payload", crypt.base64encode(final_bare .. ",p=" .. proof))
	if r.ok ~= 1 then
		return false
	end
	if scram_fields(crypt.base64decode(r.payload or "")).v ~= expect then
		skynet.error("Server returned an invalid signature.")
		return false
	end
	if r.done then
		return true
	end
	r = db:runCommand("saslContinue", 1, "conversationId", conversation, "payload", "")
	if r.ok == 1 and r.done then
		return true
	end
	if r.ok == 1 then
		skynet.error("SASL conversation failed to complete.")
	end
	return false
end

function auth.mongodb_cr(db, user, password)
	local r = db:runCommand "getnonce"
	if r.ok ~= 1 then
		return false
	end
	local key = md5.sumhexa(r.nonce .. user .. password_digest(user, password))
	r = db:runCommand("authenticate", 1, "user", user, "nonce", r.nonce, "key", key)
	return r.ok == 1
end

local function auth_function(authmod)
	local f = auth[authmod or "scram_sha1"]
	if not f then
		error("Invalid authmod", 3)
	end
	return f
end

-- The socketchannel's auth hook: log in (when the client has credentials), then ask who the
-- primary is, following a replica set's answer.
local function login_hook(client)
	return function()
		local user, password = rawget(client, "username"), rawget(client, "password")
		if user ~= nil and password ~= nil then
			local login = auth_function(rawget(client, "authmod"))
			local where = rawget(client, "__authdb") or client
			assert(login(where, user, password), "authentication failed")
		end
		local r = client:runCommand "ismaster"
		if r.ok ~= 1 then
			return
		end
		if r.hosts then
			local list = {}
			for _, addr in ipairs(r.hosts) do
				local host, port = split_addr(addr)
				list[#list + 1] = { host = host, port = port }
			end
			client.__sock:changebackup(list)
		end
		if r.ismaster then
			return
		end
		if r.primary then
			local host, port = split_addr(r.primary)
			client.host, client.port = host, port
			client.__sock:changehost(host, port)
			return
		end
		-- the channel tries the next backup
		error("No primary return : " .. tostring(r.me))
	end
end

---------------------------------------------------------------------------------------------
-- the client (tostring of a client, db or collection reads as upstream's: a tab after the colon)

local client_mt = {
	__index = methods_then_children(Client, "getDB"),
	__tostring = function(self)
		local port = self.port and (":" .. tostring(self.port)) or ""
		return "[mongo client :\t" .. tostring(self.host) .. port .. "]"
	end,
	-- the channel closes its socket when it is collected: no disconnect needed
}

-- Reads one reply: session (the request it answers), true, { document = pointer, data = bytes }.
-- A reply to no request of ours means the stream is out of step: the link is dropped.
local function reply_reader(client)
	local function read(sock)
		local rest = sock:read(driver.length(sock:read(4)))
		local ok, session, document = driver.reply(rest)
		if not ok then
			error "mongo: reply shorter than its header"
		end
		if not client.__pending[session] then
			error("mongo: reply to an unknown request " .. tostring(session))
		end
		return session, true, { document = document, data = rest }
	end
	return function(sock)
		local ok, session, succ, result = pcall(read, sock)
		if ok then
			return session, succ, result
		end
		if type(session) == "string" then
			-- bad bytes (a lost connection is the channel's own error object, not logged here)
			skynet.error(string.format("mongo: bad reply from %s:%s, connection dropped: %s",
				tostring(client.host), tostring(client.port), session))
		end
		error(session, 0)
	end
end

function mongo.client(conf)
	local first, backup = conf, nil
	if conf.rs then
		first, backup = conf.rs[1], conf.rs
	end
	local client = setmetatable({
		host = first.host,
		port = first.port or 27017,
		username = first.username,
		password = first.password,
		authmod = first.authmod,
		authdb = first.authdb,
		__id = 0,
		__pending = {},
	}, client_mt)
	if first.authdb then
		client.__authdb = client:getDB(first.authdb)
	end
	client.__sock = socketchannel.channel {
		host = client.host,
		port = client.port,
		response = reply_reader(client),
		auth = login_hook(client),
		backup = backup,
		nodelay = true,
		overload = conf.overload,
	}
	client.__sock:connect(true)
	return client
end

function Client:getDB(name)
	local db = setmetatable({
		connection = self,
		name = name,
		full_name = name,
		__cmd = name .. ".$cmd",
	}, db_mt)
	db.database = db
	rawset(self, name, db)
	return db
end

function Client:disconnect()
	local sock = self.__sock
	if sock then
		self.__sock = false
		sock:close()
	end
end

-- Request ids are positive int32s (the header's field is signed).
function Client:genId()
	local id = self.__id % 0x7fffffff + 1
	self.__id = id
	return id
end

function Client:runCommand(...)
	return self.admin:runCommand(...)
end

function Client:logout()
	return self:runCommand("logout").ok == 1
end

-- bulkWrite (MongoDB 8.0): datas is a list of { op = "insert"|"update"|"delete",
-- collection = "db.coll", ... }: insert takes `insert` (the document); update takes `filter`,
-- `update`, and optional multi, upsert, hint, constants, collation; delete takes `filter`,
-- optional multi, hint, collation. (`hit` is taken for `hint` too, as upstream's field.)
local bulk_op = {
	insert = function(ns, d)
		return encode_order("insert", ns, "document", encode(d.insert))
	end,
	update = function(ns, d)
		local l = { "update", ns, "filter", encode(d.filter), "updateMods", encode(d.update),
			"multi", d.multi or false, "upsert", d.upsert or false }
		push_pair(l, "hint", d.hint or d.hit)
		push_pair(l, "constants", d.constants)
		push_pair(l, "collation", d.collation)
		return encode_order(unpack(l))
	end,
	delete = function(ns, d)
		local l = { "delete", ns, "filter", encode(d.filter), "multi", d.multi or false }
		push_pair(l, "hint", d.hint or d.hit)
		push_pair(l, "collation", d.collation)
		return encode_order(unpack(l))
	end,
}

function Client:bulkWrite(datas, comment, ordered, bypass, errorsOnly)
	local ops, ns_info, ns_index = {}, {}, {}
	for i, d in ipairs(datas) do
		local ns = ns_index[d.collection]
		if ns == nil then
			ns = #ns_info
			ns_index[d.collection] = ns
			ns_info[ns + 1] = encode { ns = d.collection }
		end
		local make = bulk_op[d.op]
		if not make then
			error("bulkWrite: unknown op " .. tostring(d.op), 2)
		end
		ops[i] = make(ns, d)
	end
	local l = { "bulkWrite", 1, "ops", ops, "nsInfo", ns_info }
	push_pair(l, "ordered", ordered)
	push_pair(l, "bypassDocumentValidation", bypass)
	push_pair(l, "comment", comment)
	push_pair(l, "errorsOnly", errorsOnly)
	return bulk_result(self:runCommand(unpack(l)))
end

---------------------------------------------------------------------------------------------
-- databases

db_mt = {
	__index = methods_then_children(Database, "getCollection"),
	__tostring = function(self)
		return "[mongo db :\t" .. self.name .. "]"
	end,
}

-- The command document: the command's own pair first (the server reads the command name from
-- the first key), then $db, then the arguments.
local function command_body(db, extra, name, value, ...)
	if not value then
		value = 1
	end
	if extra then
		return encode_order(name, value, "$db", db.name, extra[1], extra[2], ...)
	end
	return encode_order(name, value, "$db", db.name, ...)
end

-- A write's list of documents bigger than this goes out of the body, into a kind-1 section
-- (the body itself may not pass maxBsonObjectSize, 16 MB; a whole message may take 48 MB).
local SEQUENCE_OVER = 16 * 1024 * 1024 - 64 * 1024
local SEQUENCE_FIELD = { insert = "documents", update = "updates", delete = "deletes" }

-- Bytes of a list of encoded documents (bson userdata or strings); nil if any is not encoded.
local function encoded_size(list)
	local total = 0
	for _, d in ipairs(list) do
		local t = type(d)
		if t ~= "userdata" and t ~= "string" then
			return nil
		end
		total = total + #d
	end
	return total
end

-- The OP_MSG of a command: everything in the body, except an insert's, update's or delete's
-- list that would make the body too big, which goes as a document sequence.
local function command_message(db, id, flags, extra, name, value, ...)
	local field = SEQUENCE_FIELD[name]
	if field then
		local args = table.pack(...)
		for i = 1, args.n - 1, 2 do
			local list = args[i + 1]
			if args[i] == field and type(list) == "table" then
				local size = encoded_size(list)
				if size and size > SEQUENCE_OVER then
					table.remove(args, i)
					table.remove(args, i)
					local body = command_body(db, extra, name, value, unpack(args, 1, args.n - 2))
					return driver.op_msg(id, flags, body, field, list)
				end
				break
			end
		end
	end
	return driver.op_msg(id, flags, command_body(db, extra, name, value, ...))
end

local function channel_of(client)
	local sock = client.__sock
	if not sock then
		error("mongo: the client is disconnected", 3)
	end
	return sock
end

function Database:runCommand(...)
	local client = self.connection
	local sock = channel_of(client)
	local id = client:genId()
	local msg = command_message(self, id, 0, nil, ...)
	local pending = client.__pending
	pending[id] = true
	local ok, reply = pcall(sock.request, sock, msg, id)
	pending[id] = nil
	if not ok then
		error(reply, 0)
	end
	-- reply.data keeps the bytes that reply.document points into
	local done, doc = pcall(decode, reply.document)
	if not done then
		skynet.error("mongo: bad document in the reply to " .. tostring(select(1, ...)) .. ": " .. tostring(doc))
		error(doc, 0)
	end
	return doc
end

local NO_ACK = { "writeConcern", { w = 0 } }

-- Sends a command with moreToCome set: the server sends no reply.
function Database:send_command(...)
	local client = self.connection
	local sock = channel_of(client)
	local msg = command_message(self, client:genId(), FLAG_MORE_TO_COME, NO_ACK, ...)
	sock:request(msg)
	return { ok = 1 }
end

function Database:auth(user, password)
	return auth_function(rawget(self.connection, "authmod"))(self, user, password)
end

function Database:getCollection(name)
	local coll = setmetatable({
		connection = self.connection,
		database = self.database,
		name = name,
		full_name = self.full_name .. "." .. name,
	}, coll_mt)
	rawset(self, name, coll)
	return coll
end

---------------------------------------------------------------------------------------------
-- collections

coll_mt = {
	__index = methods_then_children(Collection, "getCollection"),
	__tostring = function(self)
		return "[mongo collection :\t" .. self.full_name .. "]"
	end,
}

-- coll.sub is the collection "coll.sub" of the same database.
function Collection:getCollection(name)
	local sub = Database.getCollection(self, name)
	sub.name = self.name .. "." .. name
	return sub
end

local function with_id(doc)
	if doc._id == nil then
		doc._id = bson.objectid()
	end
	return doc
end

local function encode_all(docs, add_id)
	local out = {}
	for i, d in ipairs(docs) do
		out[i] = encode(add_id and with_id(d) or d)
	end
	return out
end

function Collection:insert(doc)
	self.database:send_command("insert", self.name, "documents", { encode(with_id(doc)) })
end

function Collection:safe_insert(doc)
	return write_result(self.database:runCommand("insert", self.name, "documents", { encode(doc) }))
end

-- doc is already bson-encoded
function Collection:raw_safe_insert(doc)
	return write_result(self.database:runCommand("insert", self.name, "documents", { doc }))
end

function Collection:batch_insert(docs)
	self.database:send_command("insert", self.name, "documents", encode_all(docs, true))
end

function Collection:safe_batch_insert(docs)
	return write_result(self.database:runCommand("insert", self.name, "documents",
		encode_all(docs, true)))
end

Collection.insert_many = Collection.batch_insert
Collection.safe_insert_many = Collection.safe_batch_insert

local function update_statement(query, update, upsert, multi)
	return encode { q = query, u = update, upsert = upsert, multi = multi }
end

local function update_list(updates)
	local out = {}
	for i, u in ipairs(updates) do
		out[i] = update_statement(u.query, u.update, u.upsert, u.multi)
	end
	return out
end

function Collection:update(query, update, upsert, multi)
	self.database:send_command("update", self.name, "updates",
		{ update_statement(query, update, upsert, multi) })
end

function Collection:safe_update(query, update, upsert, multi)
	return write_result(self.database:runCommand("update", self.name, "updates",
		{ update_statement(query, update, upsert, multi) }))
end

function Collection:batch_update(updates)
	self.database:send_command("update", self.name, "updates", update_list(updates))
end

function Collection:safe_batch_update(updates)
	return write_result(self.database:runCommand("update", self.name, "updates",
		update_list(updates)))
end

-- update is an encoded update statement ({ q, u, upsert, multi, ... })
function Collection:raw_safe_update(update)
	return write_result(self.database:runCommand("update", self.name, "updates", { update }))
end

local function delete_statement(query, single)
	return encode { q = query, limit = single and 1 or 0 }
end

function Collection:delete(query, single)
	self.database:send_command("delete", self.name, "deletes", { delete_statement(query, single) })
end

function Collection:safe_delete(query, single)
	return write_result(self.database:runCommand("delete", self.name, "deletes",
		{ delete_statement(query, single) }))
end

function Collection:safe_batch_delete(queries, single)
	local out = {}
	for i, q in ipairs(queries) do
		out[i] = delete_statement(q, single)
	end
	return write_result(self.database:runCommand("delete", self.name, "deletes", out))
end

-- delete is an encoded delete statement ({ q, limit, ... })
function Collection:raw_safe_delete(delete)
	return write_result(self.database:runCommand("delete", self.name, "deletes", { delete }))
end

function Collection:findOne(query, projection)
	local r = self.database:runCommand("find", self.name,
		"filter", query and encode(query) or EMPTY,
		"limit", 1,
		"projection", projection and encode(projection) or EMPTY)
	if r.ok ~= 1 then
		error(reply_error(r))
	end
	return r.cursor.firstBatch[1]
end

-- findAndModify { query = ..., update = ... | remove = true, new, fields, upsert, sort }
function Collection:findAndModify(doc)
	assert(doc.query, "findAndModify needs a query")
	assert(doc.update or doc.remove, "findAndModify needs an update or remove")
	return self.database:runCommand("findAndModify", self.name, unpack(pairs_list(doc)))
end

-- An index description from { { k1 = 1 }, "k2", ..., name = ..., unique = ... }: the list
-- part gives the keys in order (a bare string means ascending), the string keys the options.
local function index_model(spec)
	local doc, keys, parts = {}, {}, {}
	for k, v in pairs(spec) do
		if type(k) == "string" then
			doc[k] = v
		end
	end
	for _, item in ipairs(spec) do
		local k, v
		if type(item) == "string" then
			k, v = item, 1
		else
			k, v = next(item)
		end
		push_pair(keys, k, v)
		parts[#parts + 1] = k .. "_" .. tostring(v)
	end
	assert(#parts > 0, "Need keys")
	doc.name = doc.name or table.concat(parts, "_")
	doc.key = encode_order(unpack(keys))
	return doc
end

-- createIndex { { k1 = 1 }, { k2 = -1 }, unique = true }, createIndex { "k1", "k2" },
-- or the older createIndex({ k = 1 }, { unique = true }) with one key.
function Collection:createIndex(spec, options)
	local doc
	if options then
		local k, v = next(spec)
		assert(next(spec, k) == nil, "Use new api for multi-keys")
		doc = {}
		for ok, ov in pairs(options) do
			doc[ok] = ov
		end
		doc.name = doc.name or (k .. "_" .. tostring(v))
		doc.key = spec
	else
		doc = index_model(spec)
	end
	return self.database:runCommand("createIndexes", self.name, "indexes", { doc })
end

Collection.ensureIndex = Collection.createIndex

function Collection:createIndexes(...)
	local list = {}
	for i, spec in ipairs { ... } do
		list[i] = index_model(spec)
	end
	return self.database:runCommand("createIndexes", self.name, "indexes", list)
end

function Collection:drop()
	return self.database:runCommand("drop", self.name)
end

-- dropIndex "name_1", or dropIndex "*" for all but _id's
function Collection:dropIndex(name)
	return self.database:runCommand("dropIndexes", self.name, "index", name)
end

---------------------------------------------------------------------------------------------
-- cursors
--
-- A cursor holds the batch it is walking (batch, pos) and the server's cursor id (0 when the
-- server has no more). Its first hasNext sends the query (find or aggregate), later ones send
-- getMore while the batch is used up and the id is not 0.

local Cursor = {}

function Cursor:sort(first, second, ...)
	if second == nil then
		self.__sort = first
		return self
	end
	-- several one-pair tables: their pairs in the order given
	local list = {}
	for _, t in ipairs { first, second, ... } do
		push_pair(list, next(t))
	end
	self.__sort = encode_order(unpack(list))
	return self
end

for _, opt in ipairs { "skip", "limit", "hint", "maxTimeMS", "batchSize" } do
	local field = "__" .. opt
	Cursor[opt] = function(self, value)
		self[field] = value
		return self
	end
end

-- Appends the options that are set among names to list.
local function options_of(cursor, list, ...)
	for _, name in ipairs { ... } do
		push_pair(list, name, cursor["__" .. name])
	end
	return list
end

-- Sends the first request or a getMore; takes in the batch it returns.
local function fetch(self)
	local coll = self.__collection
	local db = coll.database
	local r
	if not self.__started then
		self.__started = true
		r = self:__query()
	else
		local l = { "getMore", int64(self.__id), "collection", coll.name }
		if self.__more_size then
			push_pair(l, "batchSize", self.__batchSize)
		end
		r = db:runCommand(unpack(l))
	end
	if r.ok ~= 1 then
		self.__id, self.__batch, self.__done = 0, nil, true
		error(reply_error(r))
	end
	local c = r.cursor
	self.__batch = c.firstBatch or c.nextBatch or {}
	self.__pos = 1
	self.__id = c.id or 0
	self.__data = r
	local limit = self.__limit
	if self.__id ~= 0 and limit and limit > 0 then
		-- the server counts the limit too; when it is reached, let it go of the cursor
		limit = limit - #self.__batch
		self.__limit = limit
		if limit <= 0 then
			self:close()
		end
	end
end

function Cursor:hasNext()
	while true do
		local batch = self.__batch
		if batch and self.__pos <= #batch then
			return true
		end
		if self.__done or (self.__started and self.__id == 0) then
			self.__done, self.__batch = true, nil
			return false
		end
		fetch(self)
	end
end

function Cursor:next()
	local batch = self.__batch
	if not batch or self.__pos > #batch then
		error "Call\thasNext\tfirst"	-- upstream's words, tabs and all
	end
	local doc = batch[self.__pos]
	self.__pos = self.__pos + 1
	return doc
end

-- Lets the server free the cursor (killCursors, unacknowledged); the cursor ends after the
-- batch in hand.
function Cursor:close()
	local id = self.__id
	if id and id ~= 0 then
		local coll = self.__collection
		self.__id = 0
		coll.database:send_command("killCursors", coll.name, "cursors", { int64(id) })
	end
end

local function inherit(t)
	for k, v in pairs(Cursor) do
		t[k] = v
	end
	return { __index = t }
end

local find_mt = inherit(FindCursor)
local aggregate_mt = inherit(AggregateCursor)

function Collection:find(query, projection)
	return setmetatable({
		__collection = self,
		__query_doc = query and encode(query) or EMPTY,
		__projection = projection and encode(projection) or EMPTY,
		__sort = EMPTY,
		__more_size = true,
		__id = 0,
	}, find_mt)
end

function FindCursor:__query()
	local coll = self.__collection
	local l = { "find", coll.name, "filter", self.__query_doc, "sort", self.__sort,
		"projection", self.__projection }
	options_of(self, l, "skip", "limit", "hint", "maxTimeMS", "batchSize")
	return coll.database:runCommand(unpack(l))
end

-- The number of documents the query matches (with_limit_and_skip: within skip and limit).
function FindCursor:count(with_limit_and_skip)
	local coll = self.__collection
	local l = { "count", coll.name, "query", self.__query_doc }
	if with_limit_and_skip then
		options_of(self, l, "skip", "limit")
	end
	options_of(self, l, "hint", "maxTimeMS")
	local r = coll.database:runCommand(unpack(l))
	assert(r.ok == 1, r.errmsg)
	return r.n
end

-- aggregate(pipeline, options): options is a table of the command's further fields (it must
-- then hold `cursor`); without it, cursor = {}.
function Collection:aggregate(pipeline, options)
	assert(pipeline, "aggregate needs a pipeline")
	local stages = {}
	for i, s in ipairs(pipeline) do
		stages[i] = s
	end
	return setmetatable({
		__collection = self,
		__stages = stages,
		__options = options and pairs_list(options),
		__skip = 0,
		__limit = 0,
		__id = 0,
	}, aggregate_mt)
end

-- The pipeline with the cursor's sort, skip, limit (and a final $count) added.
local function full_pipeline(self, with_limit_and_skip, counting)
	local p = {}
	for i, s in ipairs(self.__stages) do
		p[i] = s
	end
	if self.__sort and not counting then
		p[#p + 1] = { ["$sort"] = self.__sort }
	end
	if with_limit_and_skip then
		if self.__skip > 0 then
			p[#p + 1] = { ["$skip"] = self.__skip }
		end
		if self.__limit > 0 then
			p[#p + 1] = { ["$limit"] = self.__limit }
		end
	end
	if counting then
		p[#p + 1] = { ["$count"] = "__count" }
	end
	return p
end

local function run_aggregate(self, pipeline)
	local coll = self.__collection
	local l = { "aggregate", coll.name, "pipeline", pipeline }
	if self.__options then
		for _, v in ipairs(self.__options) do
			l[#l + 1] = v
		end
	else
		push_pair(l, "cursor", EMPTY)
	end
	return coll.database:runCommand(unpack(l))
end

function AggregateCursor:__query()
	return run_aggregate(self, full_pipeline(self, true, false))
end

function AggregateCursor:count(with_limit_and_skip)
	local r = run_aggregate(self, full_pipeline(self, with_limit_and_skip, true))
	if r.ok ~= 1 then
		error(reply_error(r))
	end
	local first = r.cursor.firstBatch[1]
	return first and first.__count or 0
end

---------------------------------------------------------------------------------------------
-- extensions: mongo.enable "name" loads skynet.db.mongo.name once and hands it the database
-- methods to extend

local enabled = {}

function mongo.enable(name)
	if enabled[name] then
		return
	end
	enabled[name] = true
	require("skynet.db.mongo." .. name).init { mongo_db = Database }
end

return mongo
