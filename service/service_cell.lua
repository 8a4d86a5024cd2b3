-- service_cell: the host of a skynet.service.  service_provider sends it
-- `init code ...`; code (a dumped function) runs as the body of this service.

local skynet = require "skynet"

local name = (...)

-- Runs the body with its arguments.  Its skynet.start only records the start
-- function, which runs before init is answered; until the body installs one,
-- lua requests fail with "No dispatch function".
local function init(code, ...)
	local body = assert(load(code, name))
	local start = nil
	function skynet.start(fn) start = fn end
	skynet.dispatch("lua", function() error("No dispatch function") end)
	assert(skynet.pcall(body, ...))
	if start ~= nil then start() end
	skynet.ret()
end

skynet.start(function()
	local commands = { init = init }
	skynet.dispatch("lua", function(_, _, command, ...)
		commands[command](...)
	end)
end)
