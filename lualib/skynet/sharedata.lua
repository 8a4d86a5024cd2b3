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

-- follows the replacements of name for as long as the view is in use
local function follow(name, view, ptr)
	while true do
		ptr = skynet.call(server, "lua", "monitor", name, ptr)
		if ptr == nil then
			break           -- deleted
		end
		corelib.update(view, ptr)
		skynet.send(server, "lua", "confirm", ptr)
	end
	if views[name] == view then
		views[name] = nil
	end
end

function sharedata.query(name)
	local view = views[name]
	if view then
		return view
	end
	local ptr = skynet.call(server, "lua", "query", name)
	view = views[name]      -- another query may have made it while we waited
	if view == nil then
		view = corelib.box(ptr)
		views[name] = view
		skynet.fork(follow, name, view, ptr)
	end
	skynet.send(server, "lua", "confirm", ptr)
	return view
end

function sharedata.new(name, value, ...)
	skynet.call(server, "lua", "new", name, value, ...)
end

function sharedata.update(name, value, ...)
	skynet.call(server, "lua", "update", name, value, ...)
end

function sharedata.delete(name)
	skynet.call(server, "lua", "delete", name)
end

function sharedata.flush()
	for _, view in pairs(views) do
		corelib.flush(view)
	end
	collectgarbage()
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

return sharedata
