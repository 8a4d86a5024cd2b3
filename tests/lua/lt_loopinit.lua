-- Helper: loops forever in its main chunk, before skynet.start.
require "skynet"
local n = 0
while true do
	n = n + 1
end
