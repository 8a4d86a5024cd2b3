-- SIMPLEDB: a key/value table in one service, for the example agents.
--   "get" key -> value      "set" key value -> previous value
--   "ping" text (a send, no reply): logs who pinged
-- Command names are case-insensitive.
local skynet = require "skynet"
require "skynet.manager"	-- skynet.register

local store = {}

local function ping(source, text)
	if #text > 20 then
		text = string.format("%s...(%d)", text:sub(1, 20), #text)
	end
	skynet.error(skynet.address(source) .. " ping " .. text)
end

local function serve(session, source, cmd, key, value)
	local name = string.upper(cmd)
	if name == "PING" then
		assert(session == 0, "ping is sent, not called")
		ping(source, key)
	elseif name == "GET" then
		skynet.retpack(store[key])
	elseif name == "SET" then
		local previous = store[key]
		store[key] = value
		skynet.retpack(previous)
	else
		error("Unknown command " .. tostring(cmd))
	end
end

skynet.start(function()
	skynet.dispatch("lua", serve)
	skynet.register "SIMPLEDB"
end)
