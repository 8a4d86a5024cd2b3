-- The cluster packet decoder: a frame from a peer node decodes as a request, a response or
-- an error; blocks it hands out are freed; the parts of a large message join only when
-- their sizes add up.
local cluster = require "skynet.cluster.core"

local function free_blocks(...)
	for i = 1, select("#", ...) do
		local v = select(i, ...)
		if type(v) == "userdata" then
			fuzz.free(v)
		end
	end
end

local function expect_ok(ok, ...)
	if ok then
		free_blocks(...)
	end
end

return function(input)
	expect_ok(pcall(cluster.unpackrequest, input))
	expect_ok(pcall(cluster.unpackresponse, input))
	-- a large message: its announced size, then its parts as they came
	local size = string.unpack("<I4", input .. "\0\0\0\0")
	local parts = { size }
	for part in input:sub(5):gmatch("[^\0]+") do
		parts[#parts + 1] = part
	end
	expect_ok(pcall(cluster.concat, parts))
end
