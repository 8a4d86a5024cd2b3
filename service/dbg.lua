-- dbg: runs one launcher command (its launch arguments: "LIST", "STAT", "MEM",
-- "GC", ...) and prints the answer to stdout, a "key<TAB>value" line per
-- entry, sorted, then exits.
local skynet = require "skynet"

local request = table.pack(...)

local function keys_in_order(t)
	local keys = {}
	for k in pairs(t) do
		keys[#keys + 1] = k
	end
	table.sort(keys, function(a, b)
		return tostring(a) < tostring(b)
	end)
	return keys
end

local function as_text(value)
	if type(value) ~= "table" then
		return tostring(value)
	end
	local cells = {}
	for _, k in ipairs(keys_in_order(value)) do
		cells[#cells + 1] = tostring(k) .. ":" .. tostring(value[k])
	end
	return table.concat(cells, "\t")
end

skynet.start(function()
	local answer = skynet.call(".launcher", "lua", table.unpack(request, 1, request.n))
	if type(answer) == "table" then
		for _, k in ipairs(keys_in_order(answer)) do
			print(k, as_text(answer[k]))
		end
	elseif answer ~= nil then
		print(as_text(answer))
	end
	skynet.exit()
end)
