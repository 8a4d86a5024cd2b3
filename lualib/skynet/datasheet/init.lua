-- skynet.datasheet: read a datasheet published by skynet.datasheet.builder.
--
--   datasheet.query(name)   the sheet as a read-only table, read in place from the
--                           builder's document; it follows every later update
local skynet = require "skynet"
local service = require "skynet.service"
local core = require "skynet.datasheet.core"

local datasheet = {}

local server
skynet.init(function()
	server = service.query "datasheet"
end)

-- name -> { view = table | nil, handle = pointer, failed = message | nil, waiting = { co } | nil }
local sheets = setmetatable({}, {
	-- this service's sheets are collected as it ends: let the service forget it
	__gc = function()
		skynet.send(server, "lua", "close")
	end,
})

local function follow(sheet)
	while true do
		local old = sheet.handle
		local new = skynet.call(server, "lua", "monitor", old)
		core.update(sheet.view, new)
		sheet.handle = new
		skynet.send(server, "lua", "release", old)
	end
end

local function load(name, sheet)
	local ok, handle = pcall(skynet.call, server, "lua", "query", name)
	if ok then
		sheet.handle = handle
		sheet.view = core.new(handle)
		skynet.fork(follow, sheet)
	else
		sheet.failed = handle
	end
end

function datasheet.query(name)
	local sheet = sheets[name]
	if sheet == nil then
		sheet = { waiting = {} }
		sheets[name] = sheet
		load(name, sheet)
		local waiting = sheet.waiting
		sheet.waiting = nil
		for _, co in ipairs(waiting) do
			skynet.wakeup(co)
		end
	elseif sheet.waiting then
		-- another query of this name is under way: wait for it
		local co = coroutine.running()
		table.insert(sheet.waiting, co)
		skynet.wait(co)
	end
	if sheet.failed then
		error(sheet.failed)
	end
	return sheet.view
end

return datasheet
