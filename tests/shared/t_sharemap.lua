-- sharemap: a writer's commits reach a reader service on update(), fields and lists alike;
-- the reader is read-only and sees nothing new until the writer commits.
local skynet = require "skynet"
local sharemap = require "skynet.sharemap"
local check = require "check"

local mode = ...

if mode == "reader" then
	skynet.start(function()
		local r
		skynet.dispatch("lua", function(_, _, cmd, ...)
			if cmd == "init" then
				r = sharemap.reader(...)
				skynet.retpack(r.id, r.name)
			elseif cmd == "update" then
				local changed = r:update()
				skynet.retpack(changed, r.id, r.name, r.tags and table.concat(r.tags, ","))
			elseif cmd == "write" then
				skynet.retpack(pcall(function() r.id = 5 end))
			end
		end)
	end)
	return
end

skynet.start(function()
	local c = check.new("sharemap")
	sharemap.register("tests/shared/record.sp")
	local w = sharemap.writer("record", { id = 1, name = "first" })
	local reader = skynet.newservice(SERVICE_NAME, "reader")
	local id, name = skynet.call(reader, "lua", "init", "record", w:copy())
	c:ok(id == 1 and name == "first", "reader starts with the writer's record")
	w.id = 2
	c:eq(w.id, 2, "writer reads its own field")
	local changed, rid = skynet.call(reader, "lua", "update")
	c:ok(changed == false and rid == 1, "nothing new before commit")
	w:commit()
	local changed2, rid2, rname = skynet.call(reader, "lua", "update")
	c:ok(changed2 and rid2 == 2 and rname == "first", "commit seen on update")
	w.name = nil
	w.tags = { "a", "b" }
	w:commit()
	local _, _, rname3, tags = skynet.call(reader, "lua", "update")
	c:ok(rname3 == nil and tags == "a,b", "a removed field and a list")
	local ok = skynet.call(reader, "lua", "write")
	c:eq(ok, false, "reader is read-only")
	c:done()
end)
