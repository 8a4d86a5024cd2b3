-- cmemory: prints the C memory figures of the node to stdout, then exits.
--   ":xxxxxxxx nK" for each service the allocator accounts, then
--   "Total memory:" and "Total block:".
local skynet = require "skynet"
local memory = require "skynet.memory"

memory.dumpinfo()

local per_service = memory.info()
local handles = {}
for handle in pairs(per_service) do
	handles[#handles + 1] = handle
end
table.sort(handles)
for _, handle in ipairs(handles) do
	print(string.format(":%08x %gK", handle, per_service[handle] / 1024))
end
print("Total memory:", memory.total())
print("Total block:", memory.block())

skynet.start(function()
	skynet.exit()
end)
