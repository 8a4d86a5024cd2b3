-- echo service of the harbor test: "echo" s answers s .. "|" .. harbor id; "hang" never answers.
local skynet = require "skynet"

local id = skynet.getenv "harbor"

skynet.start(function()
	skynet.dispatch("lua", function(_, source, cmd, s)
		if cmd == "echo" then
			skynet.ret(skynet.pack(s .. "|" .. id))
		elseif cmd == "hang" then
			print("[harbor-test] hang received from " .. skynet.address(source))
			skynet.wait()
		end
	end)
end)
