-- Entry chunk of every Lua service.
--
-- The snlua host runs this file with one string argument, the launch line
-- ("<service name> <arg> <arg> ..."), after leaving its search paths in the
-- globals LUA_SERVICE, LUA_PATH, LUA_CPATH and (optionally) LUA_PRELOAD.
-- We locate the service source, set up package paths, publish SERVICE_NAME and
-- SERVICE_PATH, swap in the two-step `require`, and run the service body with
-- the remaining words as its arguments.

local launch_line = ...
local words = {}
for word in string.gmatch(launch_line or "", "%S+") do
	words[#words + 1] = word
end

local name = words[1]
if name == nil then
	error("loader: empty service name")
end
SERVICE_NAME = name

-- a function replacement keeps any '%' in the name literal
local function the_name()
	return name
end

local function expand(template)
	return (string.gsub(template, "%?", the_name))
end

local body, chosen
local tried = {}
for template in string.gmatch(LUA_SERVICE or "./service/?.lua", "[^;]+") do
	local chunk, why = loadfile(expand(template))
	if chunk then
		body, chosen = chunk, template
		break
	end
	tried[#tried + 1] = why
end

if body == nil then
	error(table.concat(tried, "\n"))
end

package.path = LUA_PATH or "./lualib/?.lua;./lualib/?/init.lua"
package.cpath = LUA_CPATH or "./luaclib/?.so"
LUA_SERVICE, LUA_PATH, LUA_CPATH = nil, nil, nil

-- A template whose last component is a fixed file name (".../?/init.lua")
-- names a directory per service: that directory becomes SERVICE_PATH and is
-- searched first by require. Otherwise SERVICE_PATH is the template's folder.
local slash = string.find(chosen, "/[^/]*$")	-- the last one
if slash and slash < #chosen and not string.find(chosen, "?", slash, true) then
	local own_dir = expand(string.sub(chosen, 1, slash))
	package.path = own_dir .. "?.lua;" .. package.path
	SERVICE_PATH = own_dir
else
	SERVICE_PATH = string.match(chosen, "^(.*/).+$")
end

if LUA_PRELOAD then
	local preload = assert(loadfile(LUA_PRELOAD))
	LUA_PRELOAD = nil
	preload(table.unpack(words))
end

_G.require = (require "skynet.require").require

body(table.unpack(words, 2))
