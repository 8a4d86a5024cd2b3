-- The config reader (src/config.rs runs it): evaluates the config file named by its argument
-- with `include "file"` (relative to the including file) and `$NAME` replaced from the process
-- environment, and returns the file's globals as a table. The chunks see only their own
-- globals and `include`.
local entry = ...
local values = {}
local dirs = { "" }

local function expand(text)
    return (text:gsub("%$([%w_]+)", function(name)
        local v = os.getenv(name)
        if v == nil then
            error(string.format("config needs the environment variable %s, which is not set", name), 0)
        end
        return v
    end))
end

local function include(name)
    local base = dirs[#dirs]
    local path = name:sub(1, 1) == "/" and name or base .. name
    local f, err = io.open(path, "rb")
    if not f then
        error(string.format("can't open config file %s: %s", path, err), 0)
    end
    local text = f:read("a")
    f:close()
    local chunk, perr = load(expand(text), "@" .. path, "t", values)
    if not chunk then
        error(perr, 0)
    end
    dirs[#dirs + 1] = path:match("^(.*/)") or ""
    chunk()
    dirs[#dirs] = nil
end

setmetatable(values, { __index = { include = include } })
include(entry)
setmetatable(values, nil)
return values
