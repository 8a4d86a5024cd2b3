-- netpack framing (the Lua gate's): the input is a script of socket events on four
-- connections. Each control byte: its low 2 bits pick the connection; 0xfc.. closes it;
-- otherwise its high 6 bits give how many of the following bytes arrive as one DATA event.
local netpack = require "skynet.netpack"
local DATA, CLOSE = 1, 3

local function drain(queue)
	while true do
		local fd, msg = netpack.pop(queue)
		if not fd then
			return
		end
		fuzz.free(msg)
	end
end

return function(input)
	local queue
	local pos = 1
	while pos <= #input do
		local ctl = input:byte(pos)
		pos = pos + 1
		local fd = ctl & 3
		local kind, _, msg
		if ctl >= 0xfc then
			queue, kind = netpack.filter(queue, fuzz.socket_message(CLOSE, fd))
		else
			local n = ctl >> 2
			local chunk = input:sub(pos, pos + n - 1)
			pos = pos + n
			queue, kind, _, msg = netpack.filter(queue, fuzz.socket_message(DATA, fd, chunk))
		end
		if kind == "data" then
			fuzz.free(msg)
		elseif kind == "more" then
			drain(queue)
		end
	end
	if queue then
		drain(queue)
		netpack.clear(queue)
	end
end
