-- sprotoloader: one parsed schema shared by every service of the node, kept in a slot of
-- sproto.core (16 slots, 0 to 15; a slot's schema lives as long as the process).
local core = require "sproto.core"
local sproto = require "sproto"

local loader = {}

local function store(bin, index)
	local cobj, err = core.newproto(bin)
	if cobj == nil then
		error(err or "invalid sproto schema", 3)
	end
	core.saveproto(cobj, index)
end

-- Parses the schema text in a file and keeps it in slot index.
function loader.register(filename, index)
	local f, err = io.open(filename, "rb")
	if f == nil then
		error("Can't open sproto file: " .. tostring(err), 2)
	end
	local text = f:read "a"
	f:close()
	store(require("sprotoparser").parse(text, filename), index)
end

-- Keeps a binary schema (sprotoparser.parse's result) in slot index.
function loader.save(bin, index)
	store(bin, index)
end

-- A sproto object over the schema of slot index (not freed when collected).
function loader.load(index)
	return sproto.sharenew(core.loadproto(index))
end

return loader
