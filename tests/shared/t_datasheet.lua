-- datasheet: 50 reader services query a sheet while it is updated 20 times; their views
-- (and sub views kept across updates) follow every update in order; a key path that is no
-- longer a table is an error; documents no reader holds are dropped.
local skynet = require "skynet"
local check = require "check"

local mode = ...
local READERS, VERSIONS = 50, 20

local function sheet(v)
	local list = {}
	for i = 1, 10 do list[i] = v * 100 + i end
	return { version = v, name = "v" .. v, list = list, sub = { deep = { v = v } }, real = v + 0.5, flag = v % 2 == 0 }
end

if mode == "reader" then
	local datasheet = require "skynet.datasheet"
	skynet.start(function()
		local t = datasheet.query "sheet"
		local deep = t.sub.deep
		local last, errors = -1, 0
		skynet.dispatch("lua", function(_, _, cmd)
			if cmd == "read" then
				local v = t.version
				if v < last or t.name ~= "v" .. v or t.list[3] ~= v * 100 + 3 or #t.list ~= 10
					or deep.v ~= v or t.real ~= v + 0.5 or t.flag ~= (v % 2 == 0) then
					errors = errors + 1
				end
				last = v
				skynet.retpack(v, errors)
			elseif cmd == "exit" then
				skynet.retpack(errors)
				skynet.exit()
			end
		end)
	end)
	return
end

local builder = require "skynet.datasheet.builder"
local datasheet = require "skynet.datasheet"
local dump = require "skynet.datasheet.dump"

skynet.start(function()
	local c = check.new("datasheet")
	-- the document format round trip
	local doc = builder.compile { 1, 2.5, "three", true, { x = "y" }, k = false }
	local back = dump.undump(doc)
	c:ok(back[1] == 1 and back[2] == 2.5 and back[3] == "three" and back[4] == true and back[5].x == "y"
		and back.k == false, "compile/undump")
	c:raises("invalid key", "a key that is neither a string nor in the array", builder.compile, { [100] = 1 })
	c:raises("Unsupport", "a function value", builder.compile, { f = print })

	builder.new("sheet", sheet(0))
	local t = datasheet.query "sheet"
	c:eq(t.version, 0, "query")
	local keys = {}
	for k in pairs(t) do keys[#keys + 1] = k end
	table.sort(keys)
	c:eq(table.concat(keys, ","), "flag,list,name,real,sub,version", "pairs")
	local readers = {}
	for i = 1, READERS do
		readers[i] = skynet.newservice(SERVICE_NAME, "reader")
	end
	local bad = 0
	for v = 1, VERSIONS do
		builder.update("sheet", sheet(v))
		for i = 1, READERS, 7 do
			local _, errors = skynet.call(readers[i], "lua", "read")
			if errors > 0 then bad = bad + 1 end
		end
	end
	-- every reader ends on the last version
	local behind = 0
	for i = 1, READERS do
		local seen
		for _ = 1, 200 do
			seen = skynet.call(readers[i], "lua", "read")
			if seen == VERSIONS then break end
			skynet.sleep(1)
		end
		if seen ~= VERSIONS then behind = behind + 1 end
	end
	c:eq(behind, 0, "readers that did not reach the last version")
	for i = 1, READERS do
		if skynet.call(readers[i], "lua", "exit") > 0 then bad = bad + 1 end
	end
	c:eq(bad, 0, "readers that saw an inconsistent sheet")
	-- a sub table that goes away
	local sub = t.sub
	builder.update("sheet", { version = -1, sub = 5 })
	for _ = 1, 200 do
		if t.version == -1 then break end
		skynet.sleep(1)
	end
	c:eq(t.version, -1, "own view follows")
	c:raises(nil, "a view whose key path is no longer a table", function() return sub.deep end)
	-- the readers are gone (their sheets closed): only the newest document stays held
	local service = require "skynet.service"
	local held
	for _ = 1, 200 do
		held = 0
		for _ in pairs(skynet.call(service.query "datasheet", "debug", "INFO")) do held = held + 1 end
		if held == 1 then break end
		skynet.sleep(1)
	end
	skynet.error("datasheet: documents held after the readers exited: " .. held)
	c:ok(held == 1, "documents still held after the readers exited: " .. held)
	c:done()
end)
