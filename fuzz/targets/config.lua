-- fuzz: lua only
-- The config reader (src/config_reader.lua, the file the core runs): the input is a config
-- and the files it includes, split at NUL bytes (the first piece is the config, the others
-- are "1", "2", ... for `include`). Any text gives a table of settings or an error message;
-- $NAME expands from a fixed environment. A config that runs too long is cut off by the
-- harness's instruction budget, as a rejected input.
fuzz.lua_lines = true	-- the parser is Lua: its lines are the coverage
fuzz.instruction_budget = true	-- an input is a program: one that loops is cut off
local path = fuzz.root .. "/src/config_reader.lua"
local f = assert(io.open(path, "rb"))
local source = f:read("a")
f:close()

local environment = { HOME = "/home/skynet", PORT = "8888", EMPTY = "" }

local files = {}
local sandbox = setmetatable({
	io = {
		open = function(path)
			local text = files[path]
			if not text then
				return nil, path .. ": No such file or directory"
			end
			return {
				read = function() return text end,
				close = function() end,
			}
		end,
	},
	os = { getenv = function(name) return environment[name] end },
}, { __index = _G })
local run = assert(load(source, "@" .. path, "t", sandbox))

return function(input)
	files = {}
	local n = 0
	for piece in (input .. "\0"):gmatch("([^\0]*)\0") do
		files[n == 0 and "config" or tostring(n)] = piece
		n = n + 1
	end
	local ok, result = pcall(run, "config")	-- the harness bounds its instructions
	if ok then
		if type(result) ~= "table" then
			error("fuzz: the reader gave a " .. type(result))
		end
	end	-- or a rejected config: any error value, reported by the core as text
end
