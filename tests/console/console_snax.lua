-- A snax service for the console suite's "snax" command.
local skynet = require "skynet"

function response.echo(text)
	return text
end

function init(...)
	skynet.error("console_snax started", ...)
end
