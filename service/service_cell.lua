-- service_cell: the host of a skynet.service.  service_provider sends it
-- `init code ...`; code (a dumped function) runs as the body of this service.

local skynet = require "skynet"

local cell_name = (...)
local cmd = {}

function cmd.init(code, ...)
	-- the body's skynet.start only records its start function
	local start
	skynet.start = function(f)
		start = f
	end
	skynet.dispatch("lua", function()
		error("No dispatch function")
	end)
	local body = assert(load(code, cell_name))
	assert(skynet.pcall(body, ...))
	if start then
		start()
	end
	skynet.ret()
end

skynet.start(function()
	skynet.dispatch("lua", function(_, _, command, ...)
		cmd[command](...)
	end)
end)
