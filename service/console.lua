-- console: reads the node's standard input line by line and launches what each
-- line names.  "name arg ..." starts the Lua service `name` with those arguments;
-- "snax name arg ..." starts a snax service.  A launch that fails is logged by
-- the launcher and the console reads on.  At the end of input the console stops.
local skynet = require "skynet"
local socket = require "skynet.socket"

local function words(line)
	local list = {}
	for w in line:gmatch("%S+") do
		list[#list + 1] = w
	end
	return list
end

local function launch(line)
	local cmd = words(line)
	if cmd[1] == "snax" then
		local snax = require "skynet.snax"
		pcall(snax.newservice, table.unpack(cmd, 2))
	elseif cmd[1] then
		pcall(skynet.newservice, line)
	end
end

local function read_loop()
	local stdin = socket.stdin()
	if not stdin then
		skynet.error("console: standard input is not readable")
		return
	end
	while true do
		local line = socket.readline(stdin, "\n")
		if not line then
			break
		end
		launch(line:gsub("\r$", ""))
	end
	skynet.error("console: end of standard input")
end

skynet.start(function()
	skynet.fork(read_loop)
end)
