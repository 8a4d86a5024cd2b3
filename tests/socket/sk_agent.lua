-- takes over a connection accepted by another service (socket.start in a new owner). With
-- "wrapped" it first puts a function of its own in front of skynet.socket's dispatch
-- (skynet.dispatch "socket"), which must still see the data events skynet.socket takes
-- without a task, and answers each line with the number seen so far in front.
local skynet = require "skynet"
local socket = require "skynet.socket"
local id, mode = ...
id = tonumber(id)

local data_events
if mode == "wrapped" then
	data_events = 0
	local original = skynet.dispatch("socket")
	skynet.dispatch("socket", function(session, source, kind, ...)
		if kind == 1 then
			data_events = data_events + 1
		end
		return original(session, source, kind, ...)
	end)
end

skynet.start(function()
	skynet.fork(function()
		assert(socket.start(id))
		socket.write(id, "agent " .. skynet.self() .. "\n")
		while true do
			local line = socket.readline(id)
			if not line then
				break
			end
			if data_events then
				socket.write(id, data_events .. " " .. line .. "\n")
			else
				socket.write(id, line:upper() .. "\n")
			end
		end
		socket.close(id)
		skynet.exit()
	end)
end)
