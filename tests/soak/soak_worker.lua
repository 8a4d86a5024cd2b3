-- A short-lived service of the soak: answers "echo" at once, keeps "hang" suspended until
-- it is killed (its caller must then get an error), and sets a timer it never sees fire.
local skynet = require "skynet"

skynet.start(function()
	skynet.timeout(1000, function() end)
	skynet.dispatch("lua", function(_, _, cmd, v)
		if cmd == "hang" then
			skynet.wait()
		else
			skynet.ret(skynet.pack(v))
		end
	end)
end)
