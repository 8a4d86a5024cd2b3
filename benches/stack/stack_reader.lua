-- A sharetable reader: holds the table it queried, updates it on request; "querybig" holds
-- the big table and reads some of it, answering its length.
local skynet = require "skynet"
local sharetable = require "skynet.sharetable"

local held, big

skynet.start(function()
	skynet.dispatch("lua", function(_, _, cmd)
		if cmd == "query" then
			held = sharetable.query("benchdata")
		elseif cmd == "update" then
			sharetable.update("benchdata")
		elseif cmd == "querybig" then
			big = sharetable.query("bigdata")
			local sum = 0
			for i = 1, #big.items, 97 do sum = sum + big.items[i].id + #big.items[i].tags end
			assert(sum > 0)
			return skynet.ret(skynet.pack(#big.items))
		end
		skynet.ret(skynet.pack(held.version))
	end)
end)
