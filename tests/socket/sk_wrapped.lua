-- Takes over a connection, as sk_agent does, in a service that has put its own function in
-- front of skynet.socket's dispatch (skynet.dispatch "socket"): data events must reach it,
-- though skynet.socket itself takes them without a task of their own. Each line comes back
-- with the number of data events seen so far in front.
local skynet = require "skynet"
local socket = require "skynet.socket"
local id = tonumber((...))
local data_events = 0
local original = skynet.dispatch("socket")
skynet.dispatch("socket", function(session, source, kind, ...)
	if kind == 1 then
		data_events = data_events + 1
	end
	return original(session, source, kind, ...)
end)
skynet.start(function()
	skynet.fork(function()
		assert(socket.start(id))
		while true do
			local line = socket.readline(id)
			if not line then
				break
			end
			socket.write(id, data_events .. " " .. line .. "\n")
		end
		socket.close(id)
		skynet.exit()
	end)
end)
