-- skynet.db.mongo.transaction: multi-document transactions, switched on with
--
--   mongo.enable "transaction"
--   local err = db:run_transaction(function()
--       db.accounts:safe_update({ _id = a }, { ["$inc"] = { balance = -10 } })
--       db.accounts:safe_update({ _id = b }, { ["$inc"] = { balance = 10 } })
--   end)                                    -- nil when committed, else why it was not
--
-- run_transaction opens a server session, and every command that the calling coroutine sends
-- until the function returns carries the session (lsid), the transaction number (txnNumber,
-- an int64), autocommit = false and, on the first one only, startTransaction = true. When the
-- function returns, the transaction is committed; when it raises, it is aborted (its writes
-- are rolled back) and the traceback is returned. Commands of other coroutines are not part
-- of it. The server must be a replica set member or a mongos.
local bson = require "bson"
local driver = require "skynet.mongo.driver"

local running = coroutine.running
local encode, encode_order, int64 = bson.encode, bson.encode_order, bson.int64
local pack, unpack = table.pack, table.unpack

local M = {}

-- the error of a commit/abort reply, or nil
local function failure(r)
	if r.writeConcernError then
		return r.writeConcernError.errmsg
	end
	if r.errmsg then
		return r.errmsg
	end
	if r.ok ~= 1 then
		return "transaction failed"
	end
	return nil
end

function M.init(depend)
	local Database = depend.mongo_db
	assert(type(Database) == "table", "mongo.transaction needs the database methods")
	local plain_run = Database.runCommand
	local plain_send = Database.send_command

	local current = setmetatable({}, { __mode = "k" })	-- coroutine -> its transaction
	local last_number = 0

	-- The command's arguments (a packed list) followed by the transaction's fields.
	local function with_transaction(t, args)
		local n = args.n
		local function add(k, v)
			args[n + 1], args[n + 2] = k, v
			n = n + 2
		end
		add("lsid", t.lsid)
		add("txnNumber", int64(t.number))
		add("autocommit", false)
		if not t.started then
			t.started = true
			add("startTransaction", true)
		end
		args.n = n
		return args
	end

	function Database:runCommand(cmd, value, ...)
		local t = current[running()]
		if not t then
			return plain_run(self, cmd, value, ...)
		end
		local args = with_transaction(t, pack(value or 1, ...))
		return plain_run(self, cmd, unpack(args, 1, args.n))
	end

	-- Inside a transaction no writeConcern may be given: the command is sent as it is, with
	-- moreToCome set.
	function Database:send_command(cmd, value, ...)
		local t = current[running()]
		if not t then
			return plain_send(self, cmd, value, ...)
		end
		local args = with_transaction(t, pack(...))
		local conn = self.connection
		local sock = conn.__sock
		if not sock then
			error("mongo: the client is disconnected", 2)
		end
		local body = encode_order(cmd, value or 1, "$db", self.name, unpack(args, 1, args.n))
		sock:request(driver.op_msg(conn:genId(), 2, body))
		return { ok = 1 }
	end

	-- { id = { id = <uuid> }, timeoutMinutes = ..., ok = 1 }: the server picks the id
	function Database:startSession_()
		return self:runCommand "startSession"
	end

	function Database:endSessions_(id)
		return self:runCommand("endSessions", { encode(id) })
	end

	-- commitTransaction and abortTransaction run against admin; a raised error comes back as
	-- { errmsg = ... } so that the transaction is always let go of.
	local function finish(db, what)
		local ok, r = pcall(db.connection.runCommand, db.connection, what)
		if not ok then
			return { errmsg = tostring(r) }
		end
		return r
	end

	function Database:commit_transaction_()
		return finish(self, "commitTransaction")
	end

	function Database:abort_transaction_()
		return finish(self, "abortTransaction")
	end

	function Database:run_transaction(f)
		local co = running()
		assert(not current[co], "run_transaction: already in a transaction")
		local session = self:startSession_()
		if session.ok ~= 1 or session.id == nil then
			return session.errmsg or "startSession failed"
		end
		last_number = last_number % 9999999 + 1
		current[co] = { lsid = encode(session.id), number = last_number, started = false }
		local ok, err = xpcall(f, debug.traceback)
		local r
		if ok then
			r = self:commit_transaction_()
		else
			r = self:abort_transaction_()
		end
		current[co] = nil
		pcall(self.endSessions_, self, session.id)
		if ok then
			return failure(r)
		end
		return err
	end
end

return M
