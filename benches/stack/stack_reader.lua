-- A sharetable reader: holds the table it queried, updates it on request.
local skynet = require "skynet"
local sharetable = require "skynet.sharetable"

local held

skynet.start(function()
	skynet.dispatch("lua", function(_, _, cmd)
		if cmd == "query" then
			held = sharetable.query("benchdata")
		elseif cmd == "update" then
			sharetable.update("benchdata")
		end
		skynet.ret(skynet.pack(held.version))
	end)
end)
