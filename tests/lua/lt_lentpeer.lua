-- test_lent's other service: reports which of test_lent's changes it sees, after changes of
-- its own, and draws from a generator it seeds differently.
local skynet = require "skynet"

skynet.start(function()
	math.randomseed(7)
	math.random()
	string.peer = true
	skynet.dispatch("lua", function()
		skynet.ret(skynet.pack {
			shout = string.shout ~= nil,
			table = table.mine ~= nil,
			pi = math.pi ~= nil,
			peer_wrote = string.peer == true,
		})
	end)
end)
