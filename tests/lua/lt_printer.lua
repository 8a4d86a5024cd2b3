-- Helper of test_print: prints <count> lines of five values each, "PRINTED" id i payload "END",
-- then answers "done".
local skynet = require "skynet"
local id, count = ...
local payload = string.rep("x", 120)

skynet.start(function()
	skynet.dispatch("lua", function()
		for i = 1, tonumber(count) do
			print("PRINTED", id, i, payload, "END")
		end
		skynet.ret(skynet.pack("done"))
	end)
end)
