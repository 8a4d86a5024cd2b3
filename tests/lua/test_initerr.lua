-- A service that fails to start makes newservice fail, and the node goes on.
local skynet = require "skynet"
require "skynet.manager"
local t = require "check"
local check = t.check

skynet.start(function()
	local ok, err = pcall(skynet.newservice, "lt_badchunk")
	check(not ok, "a failing main chunk fails newservice", err)
	ok, err = pcall(skynet.newservice, "lt_badstart")
	check(not ok, "a failing start function fails newservice", err)
	ok, err = pcall(skynet.newservice, "lt_no_such_service")
	check(not ok, "a missing service file fails newservice", err)
	local echo = skynet.newservice("lt_echo")
	check(skynet.call(echo, "lua", "echo", "still") == "still", "the node still launches services")
	t.finish("test_initerr")
	skynet.abort()
end)
