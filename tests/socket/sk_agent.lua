-- takes over a connection accepted by another service (socket.start in a new owner)
local skynet = require "skynet"
local socket = require "skynet.socket"
local id = tonumber((...))
skynet.start(function()
	skynet.fork(function()
		assert(socket.start(id))
		socket.write(id, "agent " .. skynet.self() .. "\n")
		while true do
			local line = socket.readline(id)
			if not line then
				break
			end
			socket.write(id, line:upper() .. "\n")
		end
		socket.close(id)
		skynet.exit()
	end)
end)
