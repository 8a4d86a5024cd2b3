-- skynet.sharedata: read-only data shared by every service of the node without copies.
--
--   sharedata.new(name, value, ...)     value: a table, Lua source returning a table
--                                       (or filling its environment), "@file", or nil
--   sharedata.update(name, value, ...)  replace it; readers move on at their next read
--   sharedata.delete(name)
--   sharedata.query(name)               a read-only view (cached by name)
--   sharedata.flush()                   every view moves on to the newest data now
--   sharedata.deepcopy(name, key, ...)  a plain Lua copy (of the node at key...)
local skynet = require "skynet"
local corelib = require "skynet.sharedata.corelib"

local sharedata = {}

local server
skynet.init(function()
	server = skynet.uniqueservice "sharedatad"
end)

local views = setmetatable({}, { __mode = "kv" })   -- name -> view

-- follows the replacements of name until it is deleted
local function follow(name, view, ptr)
	local newer = skynet.call(server, "lua", "monitor", name, ptr)
	while newer do
		corelib.update(view, newer)
		skynet.send(server, "lua", "confirm", newer)
		newer = skynet.call(server, "lua", "monitor", name, newer)
	end
	-- deleted: a later query asks the service again
	if views[name] == view then
		views[name] = nil
	end
end

local function attach(name, ptr)
	local view = corelib.box(ptr)
	views[name] = view
	skynet.fork(follow, name, view, ptr)
	return view
end

function sharedata.query(name)
	local view = views[name]
	if view == nil then
		local ptr = skynet.call(server, "lua", "query", name)
		-- another query of the name may have finished while this one waited
		view = views[name] or attach(name, ptr)
		skynet.send(server, "lua", "confirm", ptr)
	end
	return view
end

function sharedata.deepcopy(name, ...)
	local view = views[name]
	if view then
		corelib.flush(view)
		return corelib.copy(corelib.pointer(view), ...)
	end
	local ptr = skynet.call(server, "lua", "query", name)
	local ok, r = pcall(corelib.copy, ptr, ...)
	skynet.send(server, "lua", "confirm", ptr)
	assert(ok, r)
	return r
end

-- every view moves on to its newest data now; boxes of trees no view reads are let go
function sharedata.flush()
	for _, view in pairs(views) do corelib.flush(view) end
	collectgarbage()
end

-- new(name, value, ...), update(name, value, ...), delete(name): done by the service
for _, cmd in ipairs { "new", "update", "delete" } do
	sharedata[cmd] = function(name, ...)
		skynet.call(server, "lua", cmd, name, ...)
	end
end

return sharedata
